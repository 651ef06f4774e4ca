"""The pipeline end to end: real installation, real HTTP to the simulator, real returns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dsnlink.jobs.runner import Runner
from dsnlink.pipeline.alerts import MemoryAlertSink
from dsnlink.pipeline.intake import receive
from dsnlink.pipeline.rates import rates_view
from dsnlink.pipeline.setup import open_pipeline
from dsnlink.pipeline.states import EnvoiState as S
from dsnlink.simulator.server import RunningSimulator, running_simulator

from .pipeline_world import SimulatorClock, build_world, dsn_for


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with running_simulator() as running:
        yield running


def test_deposit_returns_and_rates_over_http(tmp_path: Path, sim: RunningSimulator) -> None:
    world = build_world(tmp_path / "data", sim, employers=3)
    alerts = MemoryAlertSink()
    with world.app, open_pipeline(world.app, clock=SimulatorClock(sim), alerts=alerts) as p:
        envois = []
        for n, number in enumerate(world.employers):
            intake = receive(p, dsn_for(number, seed=n), name=f"{n}.dsn", acting_login="dupont")
            envois.extend(intake.envois)
        Runner(p).run_until_idle()
        assert {p.ledger.get_envoi(e.id).state for e in envois} == {S.RETURNS_PENDING}
        sim.advance("10m")
        Runner(p).run_until_idle()
        sim.advance("4d")
        Runner(p).run_until_idle()
        done = [p.ledger.get_envoi(e.id) for e in envois]
        assert {e.state for e in done} == {S.COMPLETE}, [e.error_code for e in done]
        assert sim.simulator.duplicate_deposits() == 0
        assert len(sim.simulator.deposits()) == 3
        kinds = {r.kind for e in done for r in p.ledger.returns(idflux=e.idflux)}
        assert {"AEE", "CCO", "CRM94"} <= kinds
        view = rates_view(p, siret=world.employers[0])
        assert len(view.rates) + len(view.without_rate) >= 3
        assert all(r.crm_identifier and r.valid_until for r in view.rates)
        assert all(r.name for r in view.rates)
    assert alerts.sent == []
