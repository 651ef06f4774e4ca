"""The client against the simulator over real HTTP(S) on loopback: every error class it yields.

The simulator (``dsnlink.simulator``) runs under uvicorn on a free 127.0.0.1 port; the client
talks to it through its real transport, with the simulator's own CA for TLS.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import stamina

from dsnlink.errors import (
    AccountLocked,
    ConnectError,
    ConnectionLost,
    DepositFateUnknown,
    NetworkTimeout,
    NotRegisteredForDsn,
    PasswordExpired,
    PortalNotFound,
    ProtocolError,
    ServiceUnavailable,
    TlsError,
    WindowTooWide,
    WrongCredentials,
)
from dsnlink.portal import (
    SECURISE,
    AsyncPortalClient,
    ClientConfig,
    Endpoints,
    PortalClient,
    PortalIdentity,
    TransportOptions,
    credential_failures,
)
from dsnlink.returns import PasRateReport, parse
from dsnlink.simulator import FaultRule, SimulatorConfig
from dsnlink.simulator.server import RunningSimulator, running_simulator
from tests.simulator_helpers import small_dsn

DECLARANT = PortalIdentity("99900000300015", "declarant", "declarant", "Refonte01")
OPTIONS = TransportOptions(read_timeout=5, get_attempts=3, retry_budget=10)


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """No credential failure left from another test; retries without the backoff waits."""
    credential_failures.clear()
    with stamina.set_testing(True, attempts=3):
        yield
    credential_failures.clear()


@pytest.fixture(scope="module")
def tls_server() -> Iterator[RunningSimulator]:
    with running_simulator(SimulatorConfig(validate_files=False), tls=True) as server:
        yield server


@pytest.fixture
def server() -> Iterator[RunningSimulator]:
    with running_simulator(SimulatorConfig(validate_files=False, hang_seconds=5)) as server:
        yield server


def config(server: RunningSimulator, version: str = "1.0", **kw: Any) -> ClientConfig:
    endpoints = Endpoints.single_base(server.base_url, service_code="25", api_version=version)  # type: ignore[arg-type]
    return ClientConfig(endpoints, **kw)


def options(
    server: RunningSimulator, base: TransportOptions = OPTIONS, **kw: Any
) -> TransportOptions:
    from dataclasses import replace

    return replace(base, ca_bundle=server.ca_pem, ca_is_simulator=True, **kw)


def portal(server: RunningSimulator, **kw: Any) -> PortalClient:
    return PortalClient(config(server, **kw), options(server))


def sim_window(server: RunningSimulator) -> tuple[Any, Any]:
    now = server.simulator.now()
    return now - timedelta(hours=2), now + timedelta(minutes=1)


def attempts(server: RunningSimulator, identity: PortalIdentity = DECLARANT) -> int:
    return len(server.attempts(identity.siret))


# --- the whole cycle ------------------------------------------------------------------------


def test_full_cycle_over_tls(tls_server: RunningSimulator, tmp_path: Path) -> None:
    with portal(tls_server) as c:
        token = c.authenticate(DECLARANT)
        result = c.deposit(token, small_dsn())
        assert result.accepted and len(result.idflux) == 23
        start, end = sim_window(tls_server)
        assert result.idflux in [d.idflux for d in c.list_deposits(token, start, end)]
        tls_server.advance("4d")
        records = c.list_flow_returns(token, result.idflux)
        natures = {r.nature for r in records}
        assert {"10", "11", "94"} <= natures
        documents = {}
        for record in records:
            got = c.download(token, record.url, tmp_path / f"{record.return_id}.xml")
            documents[record.nature] = parse(got.path.read_bytes())
        crm = documents["94"]
        assert isinstance(crm, PasRateReport)
        # The first hours after the deposit: acknowledgement, conformity, organisms' ARs.
        declarant = c.list_declarant_returns(token, start, end + timedelta(hours=2))
        early = {r.key for r in records if r.nature in ("10", "11")}
        assert early <= {r.key for r in declarant}
    assert attempts(tls_server) >= 1


def test_xml_and_json_listings_agree(tls_server: RunningSimulator) -> None:
    with portal(tls_server) as c:
        token = c.authenticate(DECLARANT)
        idflux = c.deposit(token, small_dsn()).idflux
        tls_server.advance("1h")
        xml_records = c.list_flow_returns(token, idflux)
    json_client = PortalClient(config(tls_server, version="2.0"), options(tls_server))
    with json_client as c:
        token = c.authenticate(DECLARANT)
        assert c.list_flow_returns(token, idflux) == xml_records
        assert c.deposit(token, small_dsn()).accepted


def test_async_cycle_with_concurrency(tls_server: RunningSimulator, tmp_path: Path) -> None:
    async def main() -> int:
        client = AsyncPortalClient(config(tls_server), options(tls_server))
        async with client as c:
            token = await c.authenticate(DECLARANT)
            results = await asyncio.gather(*(c.deposit(token, small_dsn()) for _ in range(6)))
            assert len({r.idflux for r in results}) == 6
            flows = await asyncio.gather(*(c.list_flow_returns(token, r.idflux) for r in results))
            files = await asyncio.gather(
                *(
                    c.download(token, rec.url, tmp_path / f"{rec.return_id}.xml")
                    for recs in flows
                    for rec in recs
                )
            )
            return len(files)

    assert asyncio.run(main()) >= 6


def test_strict_mode_trusts_the_simulator_ca(tls_server: RunningSimulator) -> None:
    with PortalClient(config(tls_server), options(tls_server, SECURISE)) as c:
        assert c.authenticate(DECLARANT)


def test_tls_without_the_simulator_ca_fails(tls_server: RunningSimulator) -> None:
    with PortalClient(config(tls_server), OPTIONS) as c, pytest.raises(TlsError):
        c.authenticate(DECLARANT)
    assert not credential_failures.failed(DECLARANT.fingerprint)


def test_rejected_file_gives_the_are(server: RunningSimulator) -> None:
    with portal(server) as c:
        result = c.deposit(c.authenticate(DECLARANT), b"NOT A DSN\n")
    assert result.state == "rejected" and len(result.idflux) == 23
    assert result.anomalies and result.anomalies[0].code


# --- credentials: exactly one attempt -------------------------------------------------------


def test_wrong_password_is_tried_exactly_once(server: RunningSimulator) -> None:
    wrong = PortalIdentity(DECLARANT.siret, DECLARANT.nom, DECLARANT.prenom, "CANARY-wrong")
    errors: list[Exception] = []

    def attempt(client: PortalClient) -> None:
        try:
            client.authenticate(wrong)
        except WrongCredentials as exc:
            errors.append(exc)

    with portal(server) as c:
        attempt(c)
        attempt(c)
        threads = [threading.Thread(target=attempt, args=(c,)) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    with portal(server) as other:
        attempt(other)

    async def async_attempts() -> list[Any]:
        async with AsyncPortalClient(config(server), options(server)) as ac:
            return list(
                await asyncio.gather(
                    *(ac.authenticate(wrong) for _ in range(5)), return_exceptions=True
                )
            )

    assert all(isinstance(r, WrongCredentials) for r in asyncio.run(async_attempts()))
    assert len(errors) == 8
    assert attempts(server) == 1


def test_locked_account(server: RunningSimulator) -> None:
    server.add_account(
        {
            "siret": "12345678900011",
            "nom": "LOCKED",
            "prenom": "ANNE",
            "password": "pw-1234",
            "max_failures": 1,
        }
    )
    locked = PortalIdentity("12345678900011", "LOCKED", "ANNE", "pw-1234")
    bad = PortalIdentity("12345678900011", "LOCKED", "ANNE", "pw-bad1")
    with portal(server) as c:
        with pytest.raises(WrongCredentials):
            c.authenticate(bad)  # locks the account (max_failures=1)
        with pytest.raises(AccountLocked):
            c.authenticate(locked)
        with pytest.raises(AccountLocked):
            c.authenticate(locked)
    assert attempts(server, locked) == 2


def test_expired_password(server: RunningSimulator) -> None:
    past = (server.simulator.now() - timedelta(days=1)).isoformat()
    server.add_account(
        {
            "siret": "12345678900029",
            "nom": "OLD",
            "prenom": "PAUL",
            "password": "pw-1234",
            "password_expires_at": past,
        }
    )
    who = PortalIdentity("12345678900029", "OLD", "PAUL", "pw-1234")
    with portal(server) as c:
        for _ in range(3):
            with pytest.raises(PasswordExpired):
                c.authenticate(who)
    assert attempts(server, who) == 1


def test_account_not_registered_for_dsn(server: RunningSimulator) -> None:
    server.add_account(
        {
            "siret": "12345678900037",
            "nom": "NEW",
            "prenom": "LEA",
            "password": "pw-1234",
            "dsn_registered": False,
        }
    )
    who = PortalIdentity("12345678900037", "NEW", "LEA", "pw-1234")
    with portal(server) as c:
        token = c.authenticate(who)
        with pytest.raises(NotRegisteredForDsn):
            c.deposit(token, small_dsn())
        with pytest.raises(NotRegisteredForDsn):
            c.authenticate(who)
    assert attempts(server, who) == 1
    assert server.deposits() == []


def test_expired_token_is_renewed_once() -> None:
    with running_simulator(SimulatorConfig(validate_files=False, token_ttl_seconds=60)) as server:
        with portal(server) as c:
            token = c.authenticate(DECLARANT)
            server.advance("5m")
            start, end = sim_window(server)
            assert c.list_deposits(token, start, end) == []
        assert attempts(server) == 2


# --- listings -------------------------------------------------------------------------------


def test_narrower_window_announced_by_the_portal() -> None:
    config_ = SimulatorConfig(validate_files=False, declarant_window_minutes=30)
    with running_simulator(config_) as server, portal(server) as c:
        token = c.authenticate(DECLARANT)
        now = server.simulator.now()
        c.list_declarant_returns(token, now - timedelta(hours=2), now)
        statuses = [r["status"] for r in server.simulator.requests("list_declarant_returns")]
    assert statuses == [429, 200, 200, 200, 200]


def test_window_too_wide(server: RunningSimulator) -> None:
    server.add_fault(
        FaultRule(route="list_declarant_returns", kind="status", status=429, count=None)
    )
    with portal(server) as c, pytest.raises(WindowTooWide) as caught:
        start, end = sim_window(server)
        c.list_declarant_returns(c.authenticate(DECLARANT), start, end)
    assert caught.value.allowed_minutes == 60


def test_a_rate_limiting_429_on_the_deposit_listing_is_waited_out(
    server: RunningSimulator,
) -> None:
    """A 429 without a window hint (and a Retry-After): rate limiting, asked again; if the
    portal keeps refusing, RateLimited says how long to wait."""
    from dsnlink.errors import RateLimited

    limited = {"route": "list_deposits", "kind": "status", "status": 429}
    server.add_fault(FaultRule(**limited, headers={"Retry-After": "1"}))  # type: ignore[arg-type]
    with portal(server) as c:
        token = c.authenticate(DECLARANT)
        c.deposit(token, small_dsn())
        now = server.simulator.now()
        listed = c.list_deposits(token, now - timedelta(minutes=30), now + timedelta(minutes=1))
        assert len(listed) == 1
        seen = server.simulator.requests("list_deposits")
        assert [(r["status"], r["fault"]) for r in seen] == [(429, "status"), (200, None)]
        server.add_fault(
            FaultRule(**limited, headers={"Retry-After": "1"}, count=None)  # type: ignore[arg-type]
        )
        with pytest.raises(RateLimited) as caught:
            c.list_deposits(token, now - timedelta(minutes=30), now + timedelta(minutes=1))
    assert caught.value.retry_after == 1 and caught.value.code == "portal.rate_limited"
    assert len(server.simulator.requests("list_deposits")) == 2 + 3  # three attempts


def test_unknown_flow(server: RunningSimulator) -> None:
    with portal(server) as c, pytest.raises(PortalNotFound):
        c.list_flow_returns(c.authenticate(DECLARANT), "ZZZZZZZZZZZZZZZZZZZZZZ9")


# --- faults ---------------------------------------------------------------------------------


def test_service_unavailable_after_retries(server: RunningSimulator) -> None:
    server.add_fault(FaultRule(route="list_flow_returns", kind="status", status=503, count=None))
    with portal(server) as c, pytest.raises(ServiceUnavailable):
        c.list_flow_returns(c.authenticate(DECLARANT), "ZZZZZZZZZZZZZZZZZZZZZZ9")
    assert len(server.simulator.requests("list_flow_returns")) == 3


def test_transient_faults_are_retried_on_gets(server: RunningSimulator) -> None:
    with portal(server) as c:
        token = c.authenticate(DECLARANT)
        idflux = c.deposit(token, small_dsn()).idflux
        server.add_fault(FaultRule(route="list_flow_returns", kind="status", status=500))
        assert c.list_flow_returns(token, idflux)
        server.add_fault(FaultRule(route="list_flow_returns", kind="truncate"))
        assert c.list_flow_returns(token, idflux)
    faults = [r["fault"] for r in server.simulator.requests("list_flow_returns")]
    assert faults == ["status", None, "truncate", None]


def test_malformed_answers_are_a_protocol_error(server: RunningSimulator) -> None:
    with portal(server) as c:
        token = c.authenticate(DECLARANT)
        idflux = c.deposit(token, small_dsn()).idflux
        server.add_fault(FaultRule(route="list_flow_returns", kind="malformed", count=None))
        with pytest.raises(ProtocolError):
            c.list_flow_returns(token, idflux)


def test_maintenance_refuses_the_deposit(server: RunningSimulator) -> None:
    server.add_fault(FaultRule(route="deposit", kind="status", status=503))
    with portal(server) as c, pytest.raises(ServiceUnavailable):
        c.deposit(c.authenticate(DECLARANT), small_dsn())
    assert server.deposits() == []


@pytest.mark.parametrize("kind", ["reset", "hang"])
def test_deposit_lost_after_arrival_is_fate_unknown_then_found(
    server: RunningSimulator, kind: str
) -> None:
    server.add_fault(FaultRule(route="deposit", kind=kind, when="after"))  # type: ignore[arg-type]
    client = PortalClient(config(server), options(server, read_timeout=1.0))
    with client as c:
        token = c.authenticate(DECLARANT)
        with pytest.raises(DepositFateUnknown):
            c.deposit(token, small_dsn())
        assert len(server.deposits()) == 1
        # Reconciliation: the deposit listing shows the flow that arrived.
        start, end = sim_window(server)
        listed = c.list_deposits(token, start, end)
    assert [d.idflux for d in listed] == [server.deposits()[0]["idflux"]]


def test_reset_on_a_listing(server: RunningSimulator) -> None:
    server.add_fault(FaultRule(route="list_flow_returns", kind="reset", count=None))
    with portal(server) as c, pytest.raises(ConnectionLost):
        c.list_flow_returns(c.authenticate(DECLARANT), "ZZZZZZZZZZZZZZZZZZZZZZ9")


def test_silent_portal_times_out(server: RunningSimulator) -> None:
    server.add_fault(FaultRule(route="list_flow_returns", kind="hang", count=None))
    client = PortalClient(config(server), options(server, read_timeout=0.3, get_attempts=1))
    with client as c, pytest.raises(NetworkTimeout):
        c.list_flow_returns(c.authenticate(DECLARANT), "ZZZZZZZZZZZZZZZZZZZZZZ9")


def test_stopped_portal_refuses_connections() -> None:
    with running_simulator(SimulatorConfig(validate_files=False)) as server:
        stopped = config(server)
    with PortalClient(stopped, OPTIONS) as c, pytest.raises(ConnectError):
        c.authenticate(DECLARANT)
