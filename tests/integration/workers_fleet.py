"""A réseau installation on PostgreSQL, ``dsnlink worker`` processes, and a simulator driven
through its control API: shared by the workers' tests and ``bench/reseau.py``.

The simulator is only reached over HTTP (``/_admin/...``), so it may run in the test process
or in a process of its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import func, or_, select

from dsnlink.pipeline.intake import receive
from dsnlink.pipeline.setup import SimulatorClock, open_pipeline
from dsnlink.pipeline.sql import SqlLedger
from dsnlink.pipeline.states import EnvoiState as S
from dsnlink.pipeline.tables import envois

from .pipeline_world import World, account_spec, build_world, dsn_for, simulator_account


def log(text: str) -> None:
    if os.environ.get("RESEAU_VERBOSE"):
        print(f"{time.monotonic():.1f} {text}", flush=True)


#: States in which an envoi still waits for the pipeline.
ACTIVE = [S.RECEIVED, S.QUEUED, S.SENDING, S.FATE_UNKNOWN, S.DEPOSITED, S.RETURNS_PENDING]


class SimulatorControl:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url.rstrip("/") + "/_admin", timeout=60)

    def get(self, path: str, **params: str) -> Any:
        answer = self.http.get(path, params=params)
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        answer = self.http.post(path, json=body)
        answer.raise_for_status()
        return answer.json()

    def close(self) -> None:
        self.http.close()

    def now(self) -> datetime:
        return datetime.fromisoformat(self.get("/clock")["now"])

    def advance(self, seconds: float) -> None:
        self.post("/clock", {"advance": f"{max(1, int(seconds + 0.999))}s"})


def reseau_world(
    data_dir: Path,
    control: SimulatorControl,
    database_url: str,
    *,
    identities: int,
    employers_per_identity: int,
) -> World:
    """An installation on PostgreSQL: ``identities`` users, each with its own Net-entreprises
    account on the simulator and ``employers_per_identity`` employers."""
    accounts = [simulator_account(n) for n in range(identities)]
    for account in accounts:
        control.post("/accounts", account_spec(account))
    users = [(f"gest{n:03d}", account) for n, account in enumerate(accounts)]
    sim = SimpleNamespace(base_url=control.base_url)
    return build_world(
        data_dir,
        sim,  # type: ignore[arg-type]
        employers_per_identity,
        users=users,
        database_url=database_url,
    )


def receive_all(world: World, control: SimulatorControl) -> list[str]:
    """One real monthly DSN per employer, recorded in the ledger (queued for the workers)."""
    ids: list[str] = []
    per_user = max(1, len(world.employers) // _users(world))
    clock = SimulatorClock(control.base_url)
    with contextlib.closing(clock), open_pipeline(world.app, clock=clock) as pipeline:
        for n, number in enumerate(world.employers):
            # build_world lists each user's employers together, in the users' order.
            login = f"gest{n // per_user:03d}"
            intake = receive(
                pipeline, dsn_for(number, seed=n, employees=2), name=f"{n}", acting_login=login
            )
            ids.extend(e.id for e in intake.envois)
    return ids


def _users(world: World) -> int:
    with world.app.store.read() as r:
        return max(1, len([u for u in r.users.all() if u.login.startswith("gest")]))


@dataclass
class Fleet:
    """``dsnlink worker`` processes on one installation."""

    data_dir: Path
    database_url: str
    sim_url: str
    concurrency: int = 4
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DSNLINK_")}
        env.update(
            {
                "DSNLINK_DATA_DIR": str(self.data_dir),
                "DSNLINK_DATABASE_URL": self.database_url,
                "DSNLINK_KEYRING": "false",
                "DSNLINK_PASSWORD_HASH_PROFILE": "fast-insecure-tests",
                "DSNLINK_PORTAL_PROFILE": "simulator",
                "DSNLINK_PORTAL_SIMULATOR_URL": self.sim_url,
                "DSNLINK_WORKER_DISPATCH_SECONDS": "1",
                "DSNLINK_WORKER_HEARTBEAT_SECONDS": "0.5",
                "DSNLINK_WORKER_STALLED_SECONDS": "3",
                "DSNLINK_LOG_LEVEL": "WARNING",
                # Two polls per deposit: at once (AEE), then once the simulator's CRM 94 is
                # out (72 h): the workers' behaviour, not the poll schedule, is under test.
                "DSNLINK_PIPELINE_POLL_SCHEDULE": "73h",
                **self.extra_env,
            }
        )
        return env

    def start(self, count: int) -> None:
        for _ in range(count):
            n = len(self.processes)
            log = self.data_dir / f"worker-{n}.log"
            self.logs.append(log)
            with log.open("wb") as out:
                self.processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "dsnlink",
                            "worker",
                            "--concurrency",
                            str(self.concurrency),
                            "--json",
                        ],
                        env=self.env(),
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )

    def kill(self, index: int) -> None:
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(timeout=10)

    def stop(self, timeout: float = 30) -> list[int | None]:
        """SIGTERM to every live worker; their exit codes (None: had to be killed)."""
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes: list[int | None] = []
        for p in self.processes:
            try:
                codes.append(p.wait(timeout=timeout))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                codes.append(None)
        return codes

    def output(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in self.logs
        )


def _snapshot(world: World, now: datetime) -> tuple[Counter[str], int, timedelta | None]:
    """Envois per state, how many waiting ones are due, and how far the clock must move for
    every waiting one to be due (one jump: polls of envois deposited seconds apart go
    together). SQL aggregates: this process also serves the simulator, keep it light."""
    c = envois.c
    active = c.state.in_([s.value for s in ACTIVE])
    with world.app.db.read() as conn:
        counts = Counter(
            {r[0]: int(r[1]) for r in conn.execute(select(c.state, func.count()).group_by(c.state))}
        )
        due, latest = conn.execute(
            select(
                func.count().filter(or_(c.next_poll_at.is_(None), c.next_poll_at <= now)),
                func.max(c.next_poll_at),
            ).where(active)
        ).one()
    wait = None if latest is None else latest - now
    return counts, int(due), wait


def drive(
    world: World,
    control: SimulatorControl,
    *,
    timeout: float,
    on_tick: Callable[[Counter[str]], None] | None = None,
) -> Counter[str]:
    """Until no envoi waits any more: let the workers work, and when nothing is due, move the
    simulator's clock so that every waiting poll is. Returns the envois per state."""
    deadline = time.monotonic() + timeout
    idle_since: float | None = None
    while True:
        counts, due, wait = _snapshot(world, control.now())
        if on_tick is not None:
            on_tick(counts)
        if not any(counts[s.value] for s in ACTIVE):
            return counts
        if time.monotonic() > deadline:
            raise TimeoutError(f"envois still waiting after {timeout} s: {dict(counts)}")
        if due:
            idle_since = None
        else:
            # Nothing due: give the workers' clocks (read once a second) time to agree that
            # nothing is, then jump.
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 1.5:
                jump = (wait or timedelta(hours=1)).total_seconds() + 1
                control.advance(jump)
                log(f"advance {jump:.0f} s: {dict(counts)}")
                idle_since = None
        time.sleep(0.5)


def lost_returns(world: World, control: SimulatorControl) -> list[tuple[str, str]]:
    """Returns the simulator published for our deposits that the ledger does not hold."""
    ledger = SqlLedger(world.app.db)
    ours = {e.idflux for e in ledger.envois() if e.idflux}
    published = {
        (r["idflux"], r["nature"])
        for r in control.get("/returns")
        if r["published"] and r["active"] and r["idflux"] in ours
    }
    kept: set[tuple[str, str]] = set()
    for idflux in ours:
        kept |= {(r.idflux, r.nature) for r in ledger.returns(idflux=idflux)}
    return sorted(published - kept)
