"""Two web apps over one SQLite database (two ``dsnlink serve`` processes) share their sessions."""

from __future__ import annotations

import pytest

from dsnlink.settings import get_settings
from dsnlink.setup import App, open_app
from tests.integration.web.conftest import ADMIN_PASSWORD, USER_PASSWORD
from tests.support.shared_sessions import check_two_apps_share_sessions

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
