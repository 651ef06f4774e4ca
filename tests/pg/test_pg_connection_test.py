"""The connection test on a réseau installation: the shared PostgreSQL database is checked
(reachable, schema revision), settings are shared by every workstation, the audit is written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trustme
from sqlalchemy.engine import make_url

from dsnlink.connectivity.host_steps import TargetHost
from dsnlink.connectivity.service import connection_settings, run_for_user
from dsnlink.settings import Settings
from dsnlink.setup import App, init_installation, open_app
from dsnlink.store.schema import head_revision
from tests.support.netservers import Route, https_server

pytestmark = pytest.mark.pg

ADMIN_PASSWORD = "Admin-pass-123!"


DB_PASSWORD = "CANARY-db-pw-2291"


@pytest.fixture
def app(fresh_pg_url: str) -> Iterator[App]:
    # A password in the URL (the test server trusts local connections and ignores it): it must
    # never show in the report.
    url = make_url(fresh_pg_url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    settings = Settings(database_url=url)
    installed = init_installation(
        settings, name="Cabinet", admin_password=ADMIN_PASSWORD, database_url_option=url
    )
    installed.close()
    with open_app(settings) as opened:
        yield opened


def test_database_step_on_postgresql(app: App, tmp_path: object) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"  # type: ignore[operator]
    ca.cert_pem.write_to_path(str(bundle))
    admin = app.accounts.users.authenticate("Administrateur", ADMIN_PASSWORD)
    feed = b'{"info": {"version": "0.1.0"}}'
    with https_server(ca.issue_cert("localhost"), {"/f": Route(200, feed)}) as server:
        connection_settings(app, admin).update(
            "installation",
            {"type": "direct", "ca_bundle": str(bundle), "update_feed_url": server.url("/f")},
        )
        hosts = [TargetHost("auth", "Authentification", server.url("/authentifier/1.0/"))]
        report = run_for_user(
            app, admin, owner_login=None, hosts_for=lambda _i: hosts, authenticator_for=None
        )
    step = report.step("database")
    assert step.status.value == "ok", step
    assert "postgresql" in step.detail and step.data["revision"] == head_revision()
    assert DB_PASSWORD not in str(report.to_dict())
    assert report.step("auth.http").status.value == "ok"
    with app.store.read() as r:
        actions = [e.action for e in r.audit.search(since=None, actor_login=None, limit=50)]
    assert "connection.test" in actions
