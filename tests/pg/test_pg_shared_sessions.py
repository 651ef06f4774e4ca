"""Two web apps over one PostgreSQL database (two ``dsnlink serve`` processes, réseau) share
their sessions."""

from __future__ import annotations

import pytest

from dsnlink.settings import get_settings
from dsnlink.setup import init_installation, open_app
from dsnlink.store.records import Module
from tests.support.shared_sessions import check_two_apps_share_sessions

pytestmark = [pytest.mark.pg, pytest.mark.anyio]

ADMIN_PASSWORD = "Administrateur-pg-1!"
USER_PASSWORD = "Dupont-pg-123!"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_login_on_one_process_is_recognised_and_ended_by_the_other(
    fresh_pg_url: str,
) -> None:
    first = init_installation(
        get_settings(),
        name="Cabinet réseau",
        admin_password=ADMIN_PASSWORD,
        tiers_de_confiance="Cabinet Exemple",
        database_url_option=fresh_pg_url,
    )
    try:
        with first.store.read() as r:
            admin = r.users.by_login("Administrateur")
        assert admin is not None
        first.accounts.users.create(
            admin,
            login="dupont",
            display_name="Marie Dupont",
            password=USER_PASSWORD,
            rights=[Module.DECLARATIONS],
        )
        second = open_app(get_settings())
        try:
            assert second.db.dialect == "postgresql" and second.db is not first.db
            await check_two_apps_share_sessions(
                first,
                second,
                admin=("Administrateur", ADMIN_PASSWORD),
                user=("dupont", USER_PASSWORD),
            )
        finally:
            second.close()
    finally:
        first.close()
