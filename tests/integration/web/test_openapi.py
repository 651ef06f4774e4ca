"""schemathesis against the JSON API's OpenAPI description, as an administrator: whatever the
input, no 5xx, and every answer matches the description (status, content type, schema)."""

from __future__ import annotations

from datetime import UTC, datetime

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from dsnlink.settings import get_settings
from dsnlink.setup import init_installation
from dsnlink.web.app import create_app
from dsnlink.web.sessions import COOKIE_NAME
from tests.integration.web.conftest import ADMIN_PASSWORD

CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]


def test_api_answers_as_described() -> None:
    ctx = init_installation(get_settings(), name="Essais API", admin_password=ADMIN_PASSWORD)
    try:
        app: FastAPI = create_app(ctx)
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
        with ctx.store.read() as r:
            admin = r.users.by_login("Administrateur")
        assert admin is not None
        tested = []
        for result in schema.get_all_operations():
            operation = result.ok()
            # The connection test probes hosts over the network: tested against the simulator.
            if "connection-test" in operation.path:
                continue

            @given(case=operation.as_strategy())
            @settings(
                max_examples=12,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case) -> None:
                # A fresh session each time: a fuzzed call may log the previous one out.
                _session, cookie = app.state.sessions.open(admin.id, datetime.now(UTC))
                case.call_and_validate(
                    headers={"Cookie": f"{COOKIE_NAME}={cookie}"},
                    checks=CHECKS,
                )

            run()
            tested.append(operation.label)
        assert len(tested) >= 15, tested
    finally:
        ctx.close()
