"""An installation with one user per right (and one with none), a simulator over HTTP, and the
web application on top, driven in-process through httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from dsnlink.accounts import ADMIN_LOGIN, IdentityInput
from dsnlink.setup import App, init_installation
from dsnlink.simulator.server import RunningSimulator
from dsnlink.store.records import Environment, Module
from tests.integration.pipeline_world import (
    ADMIN_PASSWORD,
    USER_PASSWORD,
    dsn_for,
    settings_for,
    siret,
)

#: login -> rights. "dupont" declares (and owns the simulator identity), "paie" only reads
#: rates, "audit" reads the journal, "config" administers, "rien" has no right at all.
USERS: dict[str, list[Module]] = {
    "dupont": [Module.DECLARATIONS],
    "paie": [Module.PAYSLIPS],
    "audit": [Module.ADMINISTRATION],
    "config": [Module.CONFIGURATION],
    "rien": [],
    "tout": list(Module),
}
ORIGIN = "http://testserver"
#: Dupont's Net-entreprises password: a canary searched for in every page, answer and log.
CANARY = "CANARY-web-NE-5519"
DUPONT_ACCOUNT = ("73282932000074", "DUPONT", "MARIE", CANARY)


@dataclass
class WebWorld:
    app: App
    sim: RunningSimulator
    employers: list[str]

    def dsn(self, n: int = 0, *, month: str = "2026-10", employees: int = 3) -> bytes:
        return dsn_for(self.employers[n], month=month, employees=employees, seed=n)


def build_web_world(data_dir: Path, sim: RunningSimulator, employers: int = 2) -> WebWorld:
    settings = settings_for(data_dir, sim)
    app = init_installation(settings, name="Cabinet Essai", admin_password=ADMIN_PASSWORD)
    accounts = app.accounts
    admin = accounts.users.authenticate(ADMIN_LOGIN, ADMIN_PASSWORD)
    for login, rights in USERS.items():
        accounts.users.create(
            admin,
            login=login,
            display_name=login.title(),
            password=USER_PASSWORD,
            rights=rights,
        )
    siret_, nom, prenom, password = DUPONT_ACCOUNT
    sim.add_account({"siret": siret_, "nom": nom, "prenom": prenom, "password": password})
    accounts.identities.set(
        admin,
        confirm=ADMIN_PASSWORD,
        owner_login="dupont",
        values=IdentityInput(siret_, nom, prenom, Environment.SIMULATOR, password),
    )
    sirets = []
    for n in range(employers):
        number = siret(n + 1)
        accounts.employers.add(admin, siret=number, name=f"Employeur {n + 1}", due_day=15)
        accounts.employers.link(admin, siret=number, user_login="dupont")
        sirets.append(number)
    return WebWorld(app, sim, sirets)


def asgi_app(app: App) -> object:
    from dsnlink.web.app import create_app

    return create_app(app)


@asynccontextmanager
async def client_as(asgi: object, login: str | None) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the web application, logged in as ``login`` (None: anonymous)."""
    transport = httpx.ASGITransport(app=asgi)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url=ORIGIN, headers={"Origin": ORIGIN}
    ) as client:
        if login is not None:
            await log_in(client, login)
        yield client


async def log_in(client: httpx.AsyncClient, login: str) -> None:
    password = ADMIN_PASSWORD if login == ADMIN_LOGIN else USER_PASSWORD
    answer = await client.post("/api/v1/session", json={"login": login, "password": password})
    assert answer.status_code == 200, answer.text


def rights_of(login: str) -> set[Module]:
    return set(USERS.get(login, list(Module)))


def auth_headers(asgi: object, login: str) -> dict[str, str]:
    """Headers authenticating ``login`` for clients other than httpx (schemathesis)."""
    import anyio

    async def obtain() -> dict[str, str]:
        async with client_as(asgi, login) as client:
            headers = {"origin": ORIGIN}
            cookies = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
            if cookies:
                headers["cookie"] = cookies
            return headers

    return anyio.run(obtain)
