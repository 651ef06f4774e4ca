"""Réseau workers on the real PostgreSQL server: ``dsnlink worker`` processes deposit for many
employers against the simulator, one of them killed with SIGKILL in the middle.

What must hold whatever the number of workers and whoever dies: no deposit made twice, no
return lost, every job done, and never two requests of one Net-entreprises identity at once.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dsnlink.jobs.queue import STEP_TASK, SYNC_TASK, queue_status
from dsnlink.pipeline.sql import SqlLedger
from dsnlink.simulator import SimulatorConfig
from dsnlink.simulator.server import RunningSimulator, running_simulator
from tests.integration.pipeline_world import World
from tests.integration.workers_fleet import (
    Fleet,
    SimulatorControl,
    drive,
    log,
    lost_returns,
    receive_all,
    reseau_world,
)

pytestmark = pytest.mark.pg

DEPOSITS = int(os.environ.get("RESEAU_TEST_DEPOSITS", "500"))
IDENTITIES = 20


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with running_simulator(SimulatorConfig(seed=5, validate_files=False)) as running:
        yield running


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.2)


def _unfinished(world: World) -> bool:
    jobs = queue_status(world.app.db)["jobs"]
    return any(
        counts.get("todo", 0) + counts.get("doing", 0)
        for task, counts in jobs.items()
        if task in (STEP_TASK, SYNC_TASK)
    )


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_deposit_everything_once_despite_a_killed_worker(
    workers: int, tmp_path: Path, fresh_pg_url: str, sim: RunningSimulator
) -> None:
    control = SimulatorControl(sim.base_url)
    log("start")
    world = reseau_world(
        tmp_path / "data",
        control,
        fresh_pg_url,
        identities=IDENTITIES,
        employers_per_identity=DEPOSITS // IDENTITIES,
    )
    fleet = Fleet(tmp_path / "data", fresh_pg_url, sim.base_url, concurrency=4)
    with world.app:
        log("world built")
        ids = receive_all(world, control)
        assert len(ids) == DEPOSITS
        log("received")
        fleet.start(workers)
        try:
            # Mid-run: a fifth of the deposits made, one worker dies without a word.
            _wait_for(
                lambda: len(sim.simulator.deposits()) >= DEPOSITS // 5,
                120,
                "deposits did not start\n" + fleet.output(),
            )
            fleet.kill(0)
            log("killed")
            counts = drive(world, control, timeout=150)
            log("settled")
            # What was queued before the last envois settled is worked off (no-ops).
            _wait_for(
                lambda: not _unfinished(world),
                30,
                f"jobs left: {queue_status(world.app.db)}",
            )
        finally:
            codes = fleet.stop()
        status = queue_status(world.app.db)
        ledger = SqlLedger(world.app.db)
        envois = ledger.envois()
        deposits = sim.simulator.deposits()
        overlaps = sim.simulator.identity_overlaps()
        lost = lost_returns(world, control)
        control.close()

    assert sim.simulator.duplicate_deposits() == 0
    assert len(deposits) == DEPOSITS, "each envoi deposited exactly once"
    assert {e.idflux for e in envois} == {d["idflux"] for d in deposits}
    assert counts == {"complete": DEPOSITS}, counts
    assert lost == []
    # Every job done: nothing waiting or running, nothing failed.
    # (Periodic tasks keep being deferred; a stalled job whose envoi already had its next job
    # waiting is aborted in favour of that one.)
    for task in (STEP_TASK, SYNC_TASK):
        assert set(status["jobs"].get(task, {})) <= {"aborted"}, status
    # The killed worker's jobs went to the others; the others stopped cleanly on SIGTERM.
    assert codes[0] == -9
    assert codes[1:] == [0] * (workers - 1), fleet.output()
    assert len(overlaps) == IDENTITIES
    assert all(v["overlaps"] == 0 and v["peak"] == 1 for v in overlaps.values()), overlaps
    first = json.loads(fleet.logs[1].read_text().splitlines()[0])
    assert first["event"] == "worker_started" and first["concurrency"] == 4


def test_overlap_records_see_two_clients_of_one_identity(sim: RunningSimulator) -> None:
    """The overlap record is not blind: two clients of one identity at once are seen."""
    import threading

    from dsnlink.simulator import FaultRule

    control = SimulatorControl(sim.base_url)
    sim.simulator.faults.add(
        FaultRule(route="authenticate", kind="slow", delay_seconds=0.5, count=None)
    )
    body = (
        "<identifiants><siret>99900000300015</siret><nom>declarant</nom>"
        "<prenom>declarant</prenom><motdepasse>Refonte01</motdepasse>"
        "<service>25</service></identifiants>"
    )

    def login() -> None:
        import httpx

        httpx.post(
            sim.base_url + "/authentifier/1.0",
            content=body,
            headers={"Content-Type": "application/xml"},
            timeout=10,
        )

    threads = [threading.Thread(target=login) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = control.get("/overlaps")
    control.close()
    assert report["99900000300015/declarant/declarant"]["overlaps"] == 1
    assert report["99900000300015/declarant/declarant"]["peak"] == 2
