"""dsnlink's own client against the simulator over HTTPS: the protocol both sides speak."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from dsnlink.errors import WrongCredentials
from dsnlink.portal import ClientConfig, Endpoints, PortalClient, PortalIdentity, TransportOptions
from dsnlink.returns import PasRateReport, parse
from dsnlink.simulator import SimulatorConfig
from dsnlink.simulator.rates import pas_rate
from dsnlink.simulator.server import RunningSimulator, running_simulator
from tests.simulator_helpers import nirs_of, small_dsn


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSimulator]:
    with running_simulator(SimulatorConfig(), tls=True) as running:
        yield running


def _client(server: RunningSimulator, version: str) -> PortalClient:
    endpoints = Endpoints.single_base(server.base_url, service_code="25", api_version=version)  # type: ignore[arg-type]
    options = TransportOptions(ca_bundle=server.ca_pem, ca_is_simulator=True)
    return PortalClient(ClientConfig(endpoints), options)


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_deposit_then_returns_and_rates(
    server: RunningSimulator, version: str, tmp_path: Path
) -> None:
    identity = PortalIdentity("99900000300015", "declarant", "declarant", "Refonte01")
    dsn = small_dsn()
    with _client(server, version) as client:
        token = client.authenticate(identity)
        result = client.deposit(token, dsn)
        assert result.accepted and len(result.idflux) == 23 and result.test is True
        now = server.simulator.now()
        deposits = client.list_deposits(token, now - timedelta(hours=3), now)
        assert result.idflux in {d.idflux for d in deposits}
        server.advance("4d")
        token = client.authenticate(identity)  # the first one expired on the simulator's clock
        returns = client.list_flow_returns(token, result.idflux)
        assert [r.nature for r in returns] == ["10", "11", "60", "92", "94"]
        crm = client.download(token, returns[-1].url, tmp_path / "crm.xml")
        report = parse(crm.path)
        assert isinstance(report, PasRateReport)
        rates = {e.nir: None if e.rate is None else f"{e.rate:.2f}" for e in report.employees}
        assert rates == {n: pas_rate(n) for n in nirs_of(dsn)}


def test_a_credential_failure_is_one_attempt_whatever_the_caller_does(
    server: RunningSimulator,
) -> None:
    server.add_account(
        {"siret": "41027602600029", "nom": "TEST", "prenom": "DSN", "password": "Right-1"}
    )
    wrong = PortalIdentity("41027602600029", "TEST", "DSN", "Wrong-1")
    with _client(server, "1.0") as client:
        for _ in range(3):
            with pytest.raises(WrongCredentials):
                client.authenticate(wrong)
    assert [a["outcome"] for a in server.attempts("41027602600029")] == ["wrong_credentials"]
