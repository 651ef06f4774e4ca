"""One scenario run on SQLite and on PostgreSQL: two web apps over one database share logins."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from dsnlink.setup import App
from dsnlink.store.tables import metadata
from dsnlink.web.app import create_app
from dsnlink.web.sessions import COOKIE_NAME, id_hash

BASE = "http://dsnlink.test"


def _client(app: FastAPI, cookie: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE,
        headers={"Origin": BASE},
        cookies={COOKIE_NAME: cookie} if cookie else None,
    )


async def _log_in(app: FastAPI, login: str, password: str) -> str:
    async with _client(app) as client:
        answer = await client.post("/api/v1/session", json={"login": login, "password": password})
        assert answer.status_code == 200, answer.text
        cookie = client.cookies.get(COOKIE_NAME)
    assert cookie
    return cookie


async def _whoami(app: FastAPI, cookie: str) -> str | None:
    async with _client(app, cookie) as client:
        answer = await client.get("/api/v1/session")
    if answer.status_code == 401:
        return None
    assert answer.status_code == 200, answer.text
    login = answer.json()["login"]
    assert isinstance(login, str)
    return login


def _every_row(ctx: App) -> str:
    with ctx.db.read() as conn:
        return repr([conn.execute(select(t)).all() for t in metadata.sorted_tables])


async def check_two_apps_share_sessions(
    first: App,
    second: App,
    *,
    admin: tuple[str, str],
    user: tuple[str, str],
) -> None:
    """``first`` and ``second`` are two opened installations over the same database, as two
    ``dsnlink serve`` processes would hold them."""
    app_a, app_b = create_app(first), create_app(second)

    admin_cookie = await _log_in(app_a, *admin)
    assert await _whoami(app_b, admin_cookie) == admin[0]
    # Only a hash of the id is stored, in no table is the id itself.
    rows = _every_row(second)
    assert admin_cookie not in rows and id_hash(admin_cookie) in rows

    # A password reset by an administrator on one process ends the user's sessions on both.
    user_cookie = await _log_in(app_b, *user)
    assert await _whoami(app_a, user_cookie) == user[0]
    new_password = user[1] + "-nouveau"
    async with _client(app_a, admin_cookie) as client:
        reset = await client.put(
            f"/api/v1/users/{user[0]}/password", json={"new_password": new_password}
        )
        assert reset.status_code == 204, reset.text
    assert await _whoami(app_b, user_cookie) is None
    assert await _whoami(app_a, user_cookie) is None

    # Disabling the account through the second process ends a session opened on the first.
    user_cookie = await _log_in(app_a, user[0], new_password)
    async with _client(app_b, admin_cookie) as client:
        disabled = await client.post(f"/api/v1/users/{user[0]}/disable")
        assert disabled.status_code == 200, disabled.text
    assert id_hash(user_cookie) not in _every_row(first)

    # A restart (a new app over the same database) logs nobody out.
    assert await _whoami(create_app(first), admin_cookie) == admin[0]

    # Logging out on one ends the session on both.
    async with _client(app_b, admin_cookie) as client:
        assert (await client.delete("/api/v1/session")).status_code == 204
    assert await _whoami(app_a, admin_cookie) is None
    assert await _whoami(app_b, admin_cookie) is None
