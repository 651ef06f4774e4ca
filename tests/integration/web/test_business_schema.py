"""schemathesis against the OpenAPI of the business API, in-process on the ASGI application,
authenticated as a user holding every right: no 5xx, every answer as described."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dsnlink.simulator.server import RunningSimulator, running_simulator
from tests.integration.web.business_world import asgi_app, auth_headers, build_web_world

#: The operations of the business pages (the core's have their own run).
BUSINESS = r"^/api/v1/(deposits|returns|rates|deadlines|journal|employers)"


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with running_simulator() as running:
        yield running


@pytest.fixture
def business_api(tmp_path: Path, sim: RunningSimulator) -> Iterator[Any]:
    world = build_web_world(tmp_path / "data", sim)
    with world.app:
        asgi = asgi_app(world.app)
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", asgi)
        headers = auth_headers(asgi, "tout")
        yield schema.include(path_regex=BUSINESS), headers


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_business_api_conforms(business_api: Any, mode: GenerationMode) -> None:
    schema, headers = business_api
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            conforms()
        except Unsatisfiable:
            # Nothing to negate (an operation without parameters nor body).
            assert mode is GenerationMode.NEGATIVE, operation.label
