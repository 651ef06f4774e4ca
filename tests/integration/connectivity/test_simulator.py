"""The connection test against the simulator over HTTPS with its own CA, through the portal
client: each account state yields the right step and remedy, with one login at most."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from dsnlink.connectivity.portal_bridge import (
    portal_authenticator,
    portal_hosts,
    transport_options,
)
from dsnlink.connectivity.settings import resolve
from dsnlink.connectivity.test import IdentityUnderTest, login_state, run_connection_test
from dsnlink.portal.core import ClientConfig
from dsnlink.portal.endpoints import Endpoints
from dsnlink.portal.identity import credential_failures
from dsnlink.simulator.server import RunningSimulator, running_simulator
from tests.support.netservers import Route, https_server

PASSWORD = "CANARY-s3cr3t-sim-5120"
FEED = "/pypi/dsnlink/json"


def account(siret: str, **extra: Any) -> dict[str, Any]:
    return {"siret": siret, "nom": "DUPONT", "prenom": "JEAN", "password": PASSWORD, **extra}


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with running_simulator(tls=True) as running:
        running.add_account(account("73282932000074"))
        running.add_account(account("35600000000048", dsn_registered=False))
        past = (datetime.now(UTC) - timedelta(days=400)).isoformat()
        running.add_account(account("55210055400013", password_expires_at=past))
        running.add_account(account("44306184100047", max_failures=1))
        yield running


@pytest.fixture(autouse=True)
def _forget_credential_failures() -> Iterator[None]:
    # The portal client remembers refused credentials for the whole process; each test here
    # starts from a clean process state, as a new run of the command would.
    credential_failures.clear()
    yield
    credential_failures.clear()


def run(sim: RunningSimulator, siret: str, password: str = PASSWORD, state: str = "untested"):  # type: ignore[no-untyped-def]
    assert sim.ca_pem is not None
    from trustme import CA

    ca = CA()
    ca_file = sim.ca_pem.with_name("both.pem")
    ca_file.write_bytes(sim.ca_pem.read_bytes() + ca.cert_pem.bytes())
    feed = json.dumps({"info": {"version": "0.1.0"}}).encode()
    with https_server(ca.issue_cert("localhost"), {FEED: Route(200, feed)}) as feed_server:
        conn = resolve(
            {"type": "direct", "ca_bundle": str(ca_file), "update_feed_url": feed_server.url(FEED)}
        )
        endpoints = Endpoints.single_base(sim.base_url, service_code="25")
        config = ClientConfig(endpoints=endpoints)
        who = IdentityUnderTest(
            login="Dupont",
            siret=siret,
            nom="DUPONT",
            prenom="JEAN",
            password=SecretStr(password),
            state=state,
        )
        return run_connection_test(
            conn,
            portal_hosts(endpoints),
            identity=who,
            authenticate=portal_authenticator(conn, config, ca_is_simulator=True),
        )


def logins(sim: RunningSimulator, siret: str) -> list[dict[str, Any]]:
    return sim.attempts(siret)


def test_all_green_over_https(sim: RunningSimulator) -> None:
    report = run(sim, "73282932000074")
    assert [m.status.value for m in report.marks] == ["ok", "ok", "ok"], report.to_dict()
    assert report.all_green
    assert login_state(report) == "ok"
    assert len(logins(sim, "73282932000074")) == 1
    assert "dsnlink simulator" in report.step("auth.tls").data["chain"][-1]
    assert PASSWORD not in json.dumps(report.to_dict())


@pytest.mark.parametrize(
    ("siret", "code", "state", "phrase"),
    [
        ("35600000000048", "portal.not_registered", "not_registered", "lendemain"),
        ("55210055400013", "portal.password_expired", "password_expired", "renouveler"),
    ],
)
def test_account_states(
    sim: RunningSimulator, siret: str, code: str, state: str, phrase: str
) -> None:
    report = run(sim, siret)
    step = report.step("login")
    assert step.status.value == "failure"
    assert step.code == code
    assert phrase in (step.remedy or "")
    assert login_state(report) == state
    assert len(logins(sim, siret)) == 1


def test_locked_account(sim: RunningSimulator) -> None:
    siret = "44306184100047"
    first = run(sim, siret, password="wrong-password")  # max_failures=1: this locks it
    assert first.step("login").code == "portal.wrong_credentials"
    credential_failures.clear()
    report = run(sim, siret)  # the right password now, but the account is locked
    step = report.step("login")
    assert step.code == "portal.account_locked"
    assert "Débloquez" in (step.remedy or "")
    assert login_state(report) == "locked"


def test_wrong_password_then_no_new_attempt_until_changed(sim: RunningSimulator) -> None:
    siret = "73282932000074"
    first = run(sim, siret, password="not-the-password")
    assert first.step("login").code == "portal.wrong_credentials"
    state = login_state(first)
    assert state == "wrong_credentials"
    assert len(logins(sim, siret)) == 1
    # Run again with the identity as stored (state recorded): no request at all.
    for _ in range(2):
        again = run(sim, siret, password="not-the-password", state=state)
        step = again.step("login")
        assert step.status.value == "failure" and step.detail.startswith("Aucun essai fait")
        assert again.context["authentication_attempts"] == 0
    assert len(logins(sim, siret)) == 1
    # The identity is changed (new password): its state is back to untested, one new attempt.
    fixed = run(sim, siret, password=PASSWORD, state="untested")
    assert fixed.step("login").status.value == "ok"
    assert len(logins(sim, siret)) == 2


def test_transport_options_follow_the_settings() -> None:
    conn = resolve(
        {
            "type": "proxy",
            "mode": "etendu",
            "proxy": {"host": "proxy.local", "port": 3128, "login": "bob"},
        },
        proxy_password=SecretStr("pw-for-proxy"),
    )
    options = transport_options(conn)
    assert options.proxy_url == "http://bob:pw-for-proxy@proxy.local:3128"
    assert options.connect_timeout == 30 and options.connect_retries == 3
    assert "pw-for-proxy" not in repr(options)
    system = transport_options(resolve({"type": "system", "mode": "securise"}, environ_proxies={}))
    assert system.trust_env and system.strict_verification and system.proxy_url is None
