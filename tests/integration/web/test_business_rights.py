"""Every business route × every right (and anonymous): allowed or refused, server-side.

Allowed means the rights check let the request through (the answer may still be 404 for an
unknown object or 422 for a missing field); refused means 403 (401 or the login page for
anonymous). The table is checked against the application's routes so a new route cannot be
forgotten.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

from dsnlink.simulator.server import RunningSimulator, running_simulator
from dsnlink.store.records import Module
from tests.integration.web.business_world import (
    USERS,
    WebWorld,
    asgi_app,
    build_web_world,
    client_as,
)

pytestmark = pytest.mark.anyio

C, A, P, D = (Module.CONFIGURATION, Module.ADMINISTRATION, Module.PAYSLIPS, Module.DECLARATIONS)
SIRET = "73282932000074"
FLUX = "FLUXINCONNU"

#: (method, path template, concrete path, rights any of which lets the request through)
ROUTES: list[tuple[str, str, str, set[Module]]] = [
    # Employeurs
    ("GET", "/employeurs", "/employeurs", {C, D}),
    ("POST", "/employeurs", "/employeurs", {C}),
    ("POST", "/employeurs/{siret}/supprimer", f"/employeurs/{SIRET}/supprimer", {C}),
    ("POST", "/employeurs/{siret}/rattacher", f"/employeurs/{SIRET}/rattacher", {C}),
    (
        "POST",
        "/employeurs/{siret}/detacher/{login}",
        f"/employeurs/{SIRET}/detacher/rien",
        {C},
    ),
    ("GET", "/api/v1/employers", "/api/v1/employers", {C, D}),
    ("POST", "/api/v1/employers", "/api/v1/employers", {C}),
    ("DELETE", "/api/v1/employers/{siret}", f"/api/v1/employers/{SIRET}", {C}),
    ("PUT", "/api/v1/employers/{siret}/links/{login}", f"/api/v1/employers/{SIRET}/links/x", {C}),
    (
        "DELETE",
        "/api/v1/employers/{siret}/links/{login}",
        f"/api/v1/employers/{SIRET}/links/x",
        {C},
    ),
    # Dépôts
    ("GET", "/depots", "/depots", {D}),
    ("GET", "/depots/nouveau", "/depots/nouveau", {D}),
    ("POST", "/depots/controle", "/depots/controle", {D}),
    ("POST", "/depots/deposer", "/depots/deposer", {D}),
    ("POST", "/depots/releve", "/depots/releve", {D}),
    ("GET", "/depots/{envoi_id}", "/depots/inconnu", {D}),
    ("GET", "/api/v1/deposits", "/api/v1/deposits", {D}),
    ("POST", "/api/v1/deposits", "/api/v1/deposits", {D}),
    ("POST", "/api/v1/deposits/check", "/api/v1/deposits/check", {D}),
    ("POST", "/api/v1/deposits/run", "/api/v1/deposits/run", {D}),
    ("GET", "/api/v1/deposits/{envoi_id}", "/api/v1/deposits/inconnu", {D}),
    # Retours
    ("GET", "/retours", "/retours", {D, P}),
    ("GET", "/retours/{idflux}/{nature}", f"/retours/{FLUX}/10", {D, P}),
    ("GET", "/retours/{idflux}/{nature}/brut", f"/retours/{FLUX}/10/brut", {D, P}),
    ("GET", "/api/v1/returns", "/api/v1/returns", {D, P}),
    ("GET", "/api/v1/returns/{idflux}/{nature}", f"/api/v1/returns/{FLUX}/10", {D, P}),
    ("GET", "/api/v1/returns/{idflux}/{nature}/raw", f"/api/v1/returns/{FLUX}/10/raw", {D, P}),
    # Taux PAS
    ("GET", "/taux-pas", "/taux-pas", {D, P}),
    ("GET", "/taux-pas/export", f"/taux-pas/export?siret={SIRET}", {D, P}),
    ("GET", "/api/v1/rates", f"/api/v1/rates?siret={SIRET}", {D, P}),
    ("GET", "/api/v1/rates/export", f"/api/v1/rates/export?siret={SIRET}", {D, P}),
    # Échéances
    ("GET", "/echeances", "/echeances", {D, P}),
    ("GET", "/api/v1/deadlines", "/api/v1/deadlines", {D, P}),
    # Journal
    ("GET", "/journal", "/journal", {A}),
    ("GET", "/api/v1/journal", "/api/v1/journal", {A}),
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with running_simulator() as running:
        yield running


@pytest.fixture
def world(tmp_path: Path, sim: RunningSimulator) -> Iterator[WebWorld]:
    built = build_web_world(tmp_path / "data", sim)
    with built.app:
        yield built


def test_the_table_covers_every_business_route() -> None:
    from dsnlink.web.errors import API_PREFIX
    from dsnlink.web.routes import deadlines, deposits, employers, journal, rates, returns

    routes = {
        (method, prefix + route.path)
        for module in (employers, deposits, returns, rates, deadlines, journal)
        for prefix, router in (("", module.pages), (API_PREFIX, module.api))
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert routes == {(m, t) for m, t, _, _ in ROUTES}


def _refused(answer: httpx.Response, anonymous: bool) -> bool:
    if anonymous:
        login_page = answer.status_code in {302, 303} and "connexion" in answer.headers.get(
            "location", ""
        )
        return answer.status_code == 401 or login_page
    return answer.status_code == 403


@pytest.mark.parametrize("login", [None, *USERS])
async def test_every_route_for_every_right(world: WebWorld, login: str | None) -> None:
    asgi = asgi_app(world.app)
    rights = set(USERS[login]) if login else set()
    wrong: list[str] = []
    async with client_as(asgi, login) as client:
        for method, _template, path, needed in ROUTES:
            answer = await client.request(method, path)
            allowed = bool(rights & needed)
            refused = _refused(answer, login is None)
            if allowed == refused or answer.status_code >= 500:
                wrong.append(f"{method} {path}: {answer.status_code}")
    assert wrong == [], f"as {login or 'anonymous'}"
