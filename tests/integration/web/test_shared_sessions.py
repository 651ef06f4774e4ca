"""Two web apps over one SQLite database (two ``dsnlink serve`` processes) share their sessions
and what Net-entreprises answered to credentials typed on the tab."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from dsnlink.settings import get_settings
from dsnlink.setup import App, open_app
from dsnlink.store.tables import metadata, web_credential_checks
from dsnlink.web.app import create_app
from dsnlink.web.sessions import COOKIE_NAME
from tests.integration.web.conftest import ADMIN_PASSWORD, BASE_URL, USER_PASSWORD
from tests.support.shared_sessions import check_two_apps_share_sessions
from tests.support.web import DUPONT, PortalWorld

pytestmark = pytest.mark.anyio


async def test_a_login_on_one_app_is_recognised_and_ended_by_the_other(web_ctx: App) -> None:
    other = open_app(get_settings())  # its own engine, as another process would have
    try:
        assert other.db is not web_ctx.db
        await check_two_apps_share_sessions(
            web_ctx,
            other,
            admin=("Administrateur", ADMIN_PASSWORD),
            user=("dupont", USER_PASSWORD),
        )
    finally:
        other.close()


async def test_values_refused_through_one_app_are_not_tried_again_through_the_other(
    portal_ctx: App, world: PortalWorld
) -> None:
    other = open_app(get_settings())
    try:
        app_a, app_b = create_app(portal_ctx), create_app(other)
        wrong = "Mauvais-mdp-Canari-4417"
        typed = {**DUPONT, "environment": "simulator", "password": wrong}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app_a),
            base_url=BASE_URL,
            headers={"Origin": BASE_URL},
        ) as on_a:
            logged = await on_a.post(
                "/api/v1/session", json={"login": "Administrateur", "password": ADMIN_PASSWORD}
            )
            assert logged.status_code == 200
            confirmed = await on_a.post(
                "/api/v1/session/confirm", json={"password": ADMIN_PASSWORD}
            )
            assert confirmed.status_code < 300, confirmed.text
            tried = await on_a.post("/api/v1/users/dupont/connection-test/stream", json=typed)
            assert tried.status_code == 200
            assert len(world.sim.attempts(DUPONT["siret"])) == 1
            cookie = on_a.cookies.get(COOKIE_NAME)
        assert cookie
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app_b),
            base_url=BASE_URL,
            headers={"Origin": BASE_URL},
            cookies={COOKIE_NAME: cookie},
        ) as on_b:
            # Same session, same confirmation, same refused values: no second attempt.
            again = await on_b.post("/api/v1/users/dupont/connection-test/stream", json=typed)
            assert again.status_code == 409, again.text
            assert again.json()["error"]["code"] == "portal.wrong_credentials"
        assert len(world.sim.attempts(DUPONT["siret"])) == 1
        with other.db.read() as conn:
            rows = repr([conn.execute(select(t)).all() for t in metadata.sorted_tables])
            checks = conn.execute(select(web_credential_checks)).all()
        assert [c.accepted for c in checks] == [False]
        assert wrong not in rows and cookie not in rows
    finally:
        other.close()
