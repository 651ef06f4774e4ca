"""Every route × every combination of rights (and anonymous): allowed or refused, as the
table of tests/web_routes.py says. A route the table does not know fails the test."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from dsnlink.setup import App
from dsnlink.store.records import Module
from dsnlink.web.errors import API_PREFIX
from dsnlink.web.routes import ROUTERS as WEB_ROUTERS
from tests.integration.web.conftest import ADMIN_PASSWORD, BASE_URL, USER_PASSWORD
from tests.web_routes import ROUTES, RouteCase

pytestmark = pytest.mark.anyio

COMBINATIONS: list[frozenset[Module]] = [
    frozenset(c) for n in range(len(Module) + 1) for c in itertools.combinations(Module, n)
]


def _fill(value: Any, target: str, password: str) -> Any:
    if isinstance(value, str):
        return value.replace("{target}", target).replace("{password}", password)
    if isinstance(value, list):
        return [_fill(v, target, password) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, target, password) for k, v in value.items()}
    return value


async def _call(
    client: httpx.AsyncClient, case: RouteCase, target: str, password: str
) -> httpx.Response:
    kwargs: dict[str, Any] = {}
    if case.json is not None:
        kwargs["json"] = _fill(case.json, target, password)
    if case.form is not None:
        kwargs["data"] = _fill(case.form, target, password)
    if case.files is not None:
        kwargs["files"] = case.files
    url = _fill(case.request_url, target, password)
    return await client.request(case.method, url, **kwargs)


def _refused(answer: httpx.Response) -> bool:
    """Refused for rights: 403 with the permission code (a 403 asking to confirm one's
    password, or a 401 for a wrong typed password, is not a refusal of the right)."""
    if answer.status_code != 403:
        return False
    if answer.headers.get("content-type", "").startswith("application/json"):
        return bool(answer.json()["error"]["code"] == "access.permission_denied")
    return 'data-code="access.permission_denied"' in answer.text


def _anonymous_refused(answer: httpx.Response) -> bool:
    """Refused for want of a session: the login page, or the not-authenticated error."""
    if answer.status_code == 303:
        return answer.headers["location"].startswith("/connexion?suivant=")
    if answer.status_code != 401:
        return False
    if answer.headers.get("content-type", "").startswith("application/json"):
        return bool(answer.json()["error"]["code"] == "access.not_authenticated")
    return 'data-code="access.not_authenticated"' in answer.text


def test_the_table_covers_every_route() -> None:
    declared = {"GET /api/v1/openapi.json"}
    for page_router, api_router in WEB_ROUTERS:
        for router, prefix in ((page_router, ""), (api_router, API_PREFIX)):
            for route in router.routes:
                assert isinstance(route, APIRoute)
                declared |= {f"{m} {prefix}{route.path}" for m in route.methods if m != "HEAD"}
    table = {case.id for case in ROUTES}
    assert declared - table == set(), "routes missing from tests/web_routes.py"
    assert table - declared == set(), "tests/web_routes.py lists routes that do not exist"


@pytest.mark.parametrize("case", ROUTES, ids=lambda c: c.id)
async def test_route_rights(case: RouteCase, portal_ctx: App, portal_app: FastAPI) -> None:
    admin = portal_ctx.accounts.users.authenticate("Administrateur", ADMIN_PASSWORD)
    transport = httpx.ASGITransport(app=portal_app)
    headers = {"Origin": BASE_URL}
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers) as anon:
        answer = await _call(anon, case, "dupont", "x")
        if case.public:
            assert not _anonymous_refused(answer), answer.text
        else:
            assert _anonymous_refused(answer), (case.id, answer.status_code)
    outcomes: dict[str, tuple[bool, int]] = {}
    for n, rights in enumerate(COMBINATIONS):
        actor, target = f"acteur{n}", f"cible{n}"
        for login in (actor, target):
            portal_ctx.accounts.users.create(
                admin, login=login, display_name=login, password=USER_PASSWORD, rights=rights
            )
        async with httpx.AsyncClient(
            transport=transport, base_url=BASE_URL, headers=headers
        ) as client:
            logged = await client.post(
                "/api/v1/session", json={"login": actor, "password": USER_PASSWORD}
            )
            assert logged.status_code == 200
            answer = await _call(client, case, target, USER_PASSWORD)
        label = ",".join(sorted(m.value for m in rights)) or "aucun"
        expected = case.allowed(rights)
        outcomes[label] = (not _refused(answer), answer.status_code)
        assert answer.status_code < 500, (case.id, label, answer.text)
        assert (not _refused(answer)) == expected, (
            case.id,
            label,
            answer.status_code,
            answer.text[:300],
        )
    assert json.dumps(outcomes)  # kept for the failure message above
