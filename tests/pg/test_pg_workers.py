"""Réseau workers on the real PostgreSQL server: ``dsnlink worker`` processes deposit for many
employers against the simulator, one of them killed with SIGKILL in the middle.

What must hold whatever the number of workers and whoever dies: no deposit made twice, no
return lost, every job done, and never two requests of one Net-entreprises identity at once.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from dsnlink.jobs.queue import STEP_TASK, SYNC_TASK, queue_status
from dsnlink.pipeline.sql import SqlLedger
from dsnlink.pipeline.states import EnvoiState
from dsnlink.setup import open_app
from dsnlink.simulator import SimulatorConfig
from dsnlink.simulator.server import RunningSimulator, running_simulator
from tests.integration.pipeline_world import (
    World,
    account_spec,
    settings_for,
    simulator_account,
)
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


@dataclass
class Template:
    """An installation with every DSN recorded, in a template database: each test starts
    from a copy (``CREATE DATABASE … TEMPLATE``, a file copy on the server) instead of
    building 500 employers and receiving 500 files again."""

    url: str
    data_dir: Path
    employers: list[str]


@pytest.fixture(scope="module")
def template(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    name = f"dsnlink_tpl_{uuid.uuid4().hex[:12]}"
    server = make_url(pg_url).set(drivername="postgresql")
    admin = server.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    url = server.set(database=name).render_as_string(hide_password=False)
    data_dir = tmp_path_factory.mktemp("reseau-template")
    try:
        with running_simulator(SimulatorConfig(validate_files=False)) as builder:
            control = SimulatorControl(builder.base_url)
            world = reseau_world(
                data_dir,
                control,
                url,
                identities=IDENTITIES,
                employers_per_identity=DEPOSITS // IDENTITIES,
            )
            with world.app:
                assert len(receive_all(world, control)) == DEPOSITS
            control.close()
        yield Template(url, data_dir, world.employers)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _copy(template: Template, database_url: str, tmp_path: Path, sim: RunningSimulator) -> World:
    """The template's installation in the (empty) database ``database_url``, its identities'
    accounts on ``sim``."""
    target = make_url(database_url)
    admin = target.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    source = make_url(template.url).database
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{target.database}"')
        conn.execute(f'CREATE DATABASE "{target.database}" TEMPLATE "{source}"')
        # Per-database settings are not copied from a template.
        conn.execute(f'ALTER DATABASE "{target.database}" SET synchronous_commit = off')
    data_dir = tmp_path / "data"
    shutil.copytree(template.data_dir, data_dir)
    control = SimulatorControl(sim.base_url)
    for n in range(IDENTITIES):
        control.post("/accounts", account_spec(simulator_account(n)))
    control.close()
    settings = settings_for(data_dir, sim, database_url=database_url)
    return World(open_app(settings), settings, template.employers)


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
    workers: int,
    tmp_path: Path,
    fresh_pg_url: str,
    sim: RunningSimulator,
    template: Template,
) -> None:
    control = SimulatorControl(sim.base_url)
    world = _copy(template, fresh_pg_url, tmp_path, sim)
    fleet = Fleet(tmp_path / "data", fresh_pg_url, sim.base_url, concurrency=4)
    with world.app:
        assert len(SqlLedger(world.app.db).envois(states=[EnvoiState.QUEUED])) == DEPOSITS
        log("copied")
        fleet.start(workers)
        log("started")
        try:
            # Mid-run: a fifth of the deposits made, one worker dies without a word.
            _wait_for(
                lambda: sim.simulator.deposit_count() >= DEPOSITS // 5,
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
            log("stopped")
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


def test_deposit_command_hands_over_to_live_workers(
    tmp_path: Path, fresh_pg_url: str, sim: RunningSimulator
) -> None:
    """`dsnlink deposit` on a réseau installation with a live worker: the worker deposits
    (the command runs no step itself), the command waits and reports the outcome."""
    from tests.integration.cli_helpers import run
    from tests.integration.pipeline_world import USER_PASSWORD, dsn_for

    control = SimulatorControl(sim.base_url)
    world = reseau_world(
        tmp_path / "data", control, fresh_pg_url, identities=1, employers_per_identity=2
    )
    world.app.close()
    control.close()
    files = []
    for n, number in enumerate(world.employers):
        path = tmp_path / f"paie-{n}.dsn"
        path.write_bytes(dsn_for(number, seed=n))
        files.append(str(path))
    fleet = Fleet(tmp_path / "data", fresh_pg_url, sim.base_url, concurrency=2)
    fleet.start(1)
    try:
        app = open_app(settings_for(tmp_path / "data", sim, database_url=fresh_pg_url))
        try:
            _wait_for(lambda: bool(queue_status(app.db)["workers"]), 30, fleet.output())
        finally:
            app.close()
        # The command itself could not reach the portal: only the worker can deposit.
        env = {
            **fleet.env(),
            "DSNLINK_USER": "gest000",
            "DSNLINK_PASSWORD": USER_PASSWORD,
            "DSNLINK_PORTAL_SIMULATOR_URL": "http://127.0.0.1:9",
        }
        result = run("deposit", *files, "--json", **env)
    finally:
        codes = fleet.stop()
    assert result.code == 0, result.stderr + fleet.output()
    states = {e["state"] for e in result.json()["envois"]}
    assert states <= {"returns_pending", "complete"}, result.stdout
    assert sim.simulator.deposit_count() == 2 and sim.simulator.duplicate_deposits() == 0
    assert codes == [0]
