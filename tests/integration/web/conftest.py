"""Fixtures of the web tests: an installation, the app over it, logged-in httpx clients.

Clients use ``httpx.ASGITransport`` (the app runs in the test's event loop, no socket) and
send the ``Origin`` header a browser would, so state-changing requests pass the CSRF check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from dsnlink.portal.identity import credential_failures
from dsnlink.settings import get_settings
from dsnlink.setup import App, init_installation
from dsnlink.store.records import Module
from dsnlink.web.app import create_app
from tests.support.web import PortalWorld, portal_installation, portal_world

BASE_URL = "http://dsnlink.test"
ADMIN_PASSWORD = "Administrateur-mdp-1!"
#: Every user of the web tests has this password (cheap hashing in tests).
USER_PASSWORD = "Utilisateur-mdp-1!"

Login = Callable[[str, str], Awaitable[httpx.AsyncClient]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def web_ctx() -> Iterator[App]:
    """A fresh monoposte installation with Dupont (declarations) and Martin (payslips)."""
    app = init_installation(
        get_settings(),
        name="Association Les Amis",
        admin_password=ADMIN_PASSWORD,
        tiers_de_confiance="Cabinet Durand",
    )
    with app.store.read() as r:
        admin = r.users.by_login("Administrateur")
    assert admin is not None
    app.accounts.users.create(
        admin,
        login="dupont",
        display_name="Marie Dupont",
        password=USER_PASSWORD,
        rights=[Module.DECLARATIONS],
    )
    app.accounts.users.create(
        admin,
        login="martin",
        display_name="Paul Martin",
        password=USER_PASSWORD,
        rights=[Module.PAYSLIPS],
    )
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def web_app(web_ctx: App) -> FastAPI:
    return create_app(web_ctx)


@pytest.fixture
async def anonymous(web_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=web_app)
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, headers={"Origin": BASE_URL}
    ) as client:
        yield client


@pytest.fixture
async def login_as(web_app: FastAPI) -> AsyncIterator[Login]:
    """``await login_as(login, password)``: a client holding that user's session cookie."""
    clients: list[httpx.AsyncClient] = []

    async def login(login: str, password: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web_app),
            base_url=BASE_URL,
            headers={"Origin": BASE_URL},
        )
        clients.append(client)
        answer = await client.post("/api/v1/session", json={"login": login, "password": password})
        assert answer.status_code == 200, answer.text
        return client

    yield login
    for client in clients:
        await client.aclose()


@pytest.fixture
async def admin(login_as: Login) -> httpx.AsyncClient:
    return await login_as("Administrateur", ADMIN_PASSWORD)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PortalWorld]:
    """The simulator (HTTPS), an update feed, and this process's settings pointing at them."""
    with portal_world(tmp_path) as running:
        for name, value in running.env().items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        credential_failures.clear()
        yield running
        credential_failures.clear()


@pytest.fixture
def portal_ctx(world: PortalWorld) -> Iterator[App]:
    """:func:`web_ctx` wired to the simulator: the installation's connection settings point
    at it and at the local update feed."""
    app, _admin = portal_installation(
        get_settings(),
        world,
        [Module.DECLARATIONS],
        admin_password=ADMIN_PASSWORD,
        user_password=USER_PASSWORD,
    )
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def portal_app(portal_ctx: App) -> FastAPI:
    return create_app(portal_ctx)


@pytest.fixture
async def portal_admin(portal_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=portal_app),
        base_url=BASE_URL,
        headers={"Origin": BASE_URL},
    ) as client:
        answer = await client.post(
            "/api/v1/session", json={"login": "Administrateur", "password": ADMIN_PASSWORD}
        )
        assert answer.status_code == 200
        yield client
