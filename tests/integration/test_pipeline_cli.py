"""The pipeline's commands as real subprocesses against the simulator over HTTP, including the
crash test: ``dsnlink run`` killed with SIGKILL at each kill point, then started again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dsnlink.simulator.server import RunningSimulator, running_simulator

from .pipeline_world import USER_PASSWORD, World, build_world, dsn_for


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with running_simulator() as running:
        yield running


def _env(world: World, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DSNLINK_DATA_DIR=str(world.settings.data_dir),
        DSNLINK_PORTAL_PROFILE="simulator",
        DSNLINK_PORTAL_SIMULATOR_URL=world.settings.portal_simulator_url,
        DSNLINK_USER="dupont",
        DSNLINK_PASSWORD=USER_PASSWORD,
        DSNLINK_KEYRING="false",
        DSNLINK_PASSWORD_HASH_PROFILE="fast-insecure-tests",
        **extra,
    )
    return env


def _cli(world: World, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dsnlink", *args],
        env=_env(world, **extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _files(tmp_path: Path, world: World) -> list[Path]:
    paths = []
    for n, number in enumerate(world.employers):
        path = tmp_path / f"paie-{n}.dsn"
        path.write_bytes(dsn_for(number, seed=n))
        paths.append(path)
    return paths


def test_deposit_status_rates_deadlines(tmp_path: Path, sim: RunningSimulator) -> None:
    world = build_world(tmp_path / "data", sim, employers=2)
    world.app.close()
    a, b = _files(tmp_path, world)
    done = _cli(world, "deposit", str(a), str(b), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {e["state"] for e in result["envois"]} == {"returns_pending"}
    again = _cli(world, "deposit", str(a))
    assert again.returncode == 0 and "déjà reçu" in again.stdout
    assert len(sim.simulator.deposits()) == 2
    sim.advance("4d")
    ran = _cli(world, "run", "--until-idle")
    assert ran.returncode == 0, ran.stderr
    status = json.loads(_cli(world, "status", "--json").stdout)
    assert status["counts"] == {"complete": 2}
    rates = json.loads(_cli(world, "rates", "--json").stdout)
    assert rates["rates"] and all(r["identifiant_crm"] for r in rates["rates"])
    csv = _cli(world, "rates", "export", "--format", "csv")
    assert csv.returncode == 0 and csv.stdout.startswith("siret;mois;nir;")
    human = _cli(world, "rates")
    assert "Taux PAS" in human.stdout, human.stderr
    deadlines = json.loads(_cli(world, "deadlines", "--month", "01/2026", "--json").stdout)
    assert {d["status"] for d in deadlines} <= {"deposited", "late"}
    year_zero = _cli(world, "deadlines", "--month", "01/0000", "--json")
    assert year_zero.returncode != 0 and "Traceback" not in year_zero.stderr
    assert "Mois incompréhensible" in year_zero.stdout + year_zero.stderr
    listed = json.loads(_cli(world, "returns", "list", "--json").stdout)
    assert {"10", "11", "94"} <= {r["nature"] for r in listed}
    assert _cli(world, "returns", "sync").returncode == 0
    shown = _cli(world, "status", "--envoi", result["envois"][0]["id"])
    assert "déposé" in shown.stdout
    duplicate = _cli(world, "deposit", str(tmp_path / "x.dsn"))
    assert duplicate.returncode == 2  # no such file: click's usage error


def test_second_real_dsn_for_the_month_refused(tmp_path: Path, sim: RunningSimulator) -> None:
    world = build_world(tmp_path / "data", sim, employers=1)
    world.app.close()
    (first,) = _files(tmp_path, world)
    assert _cli(world, "deposit", str(first)).returncode == 0
    other = tmp_path / "autre.dsn"
    other.write_bytes(dsn_for(world.employers[0], seed=99))
    refused = _cli(world, "deposit", str(other), "--json")
    assert refused.returncode == 6
    assert json.loads(refused.stdout)["files"][0]["error"]["code"] == (
        "pipeline.duplicate_declaration"
    )
    assert len(sim.simulator.deposits()) == 1


def test_runner_killed_at_every_point_never_deposits_twice_loses_no_return(
    tmp_path: Path, sim: RunningSimulator
) -> None:
    world = build_world(tmp_path / "data", sim, employers=6)
    world.app.close()
    files = _files(tmp_path, world)
    assert _cli(world, "deposit", "--no-wait", *map(str, files)).returncode == 0

    def crash(point: str) -> None:
        # One step at a time, so that the n-th hit of a kill point is always reached.
        run = _cli(
            world,
            "run",
            "--until-idle",
            DSNLINK_PIPELINE_KILL_POINTS=point,
            DSNLINK_PIPELINE_CONCURRENCY="1",
        )
        assert run.returncode == -signal.SIGKILL, (point, run.returncode, run.stderr[-500:])

    # while sending: the POST not made, made without answer, claimed only
    for point in ("before_post@2", "after_post", "after_claim"):
        crash(point)
    # the certificates (nature 11) tell the fate-unknown flows apart
    sim.advance("10m")
    crash("after_deposited")
    assert _cli(world, "run", "--until-idle").returncode == 0
    # while collecting returns
    sim.advance("10m")
    crash("after_download@2")
    crash("after_return_stored@1")
    sim.advance("4d")
    crash("after_download@3")
    crash("after_return_stored")
    # After the crashes, polls are due later on the schedule: let the days pass until the
    # pipeline has nothing left to wait for (a bounded number of rounds).
    for _ in range(5):
        final = _cli(world, "run", "--until-idle")
        assert final.returncode == 0, final.stderr
        status = json.loads(_cli(world, "status", "--json").stdout)
        if status["counts"] == {"complete": 6}:
            break
        sim.advance("1d")
    assert sim.simulator.duplicate_deposits() == 0
    assert len(sim.simulator.deposits()) == 6
    assert status["counts"] == {"complete": 6}, status
    kept = json.loads(_cli(world, "returns", "list", "--json").stdout)
    kept_keys = {(r["idflux"], r["nature"]) for r in kept}
    published = {(r["idflux"], r["nature"]) for r in sim.simulator.returns() if r["published"]}
    assert published <= kept_keys, "a published return was lost"


def test_demo_deposits_and_prints_rates(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["DSNLINK_ADMIN_PASSWORD"] = "Demo-admin-password-1"
    done = subprocess.run(
        [sys.executable, "-m", "dsnlink", "demo", "--data-dir", str(tmp_path / "demo"), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["pipeline"]
    assert {e["state"] for e in data["envois"]} == {"complete"}
    assert data["duplicates"] == 0 and data["alerts"] == []
    assert data["rates"] and all(r["identifiant_crm"] for r in data["rates"])
