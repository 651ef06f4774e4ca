"""The scheduled backup on a réseau installation, taken by ``dsnlink worker`` processes on the
real PostgreSQL server: a due slot is taken once, whatever the number of workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dsnlink.maintenance.backup import STATE_KEY, read_setting
from dsnlink.maintenance.retention import list_backups
from dsnlink.maintenance.schedule import (
    PARIS,
    BackupStep,
    StepOutcome,
    backup_state,
    parse_schedule,
    save_schedule,
)
from dsnlink.pipeline.setup import open_pipeline
from dsnlink.settings import get_settings
from dsnlink.setup import open_app
from tests.integration.cli_helpers import ADMIN_PW, invoke

pytestmark = pytest.mark.pg


def _init_with_due_slot(
    monkeypatch: pytest.MonkeyPatch, url: str, target: Path
) -> tuple[datetime, str]:
    """A réseau installation whose daily backup slot (ten minutes ago) is due and not taken."""
    r = invoke("init", "--database-url", url, "--json", DSNLINK_ADMIN_PASSWORD=ADMIN_PW)
    assert r.code == 0, r.stderr
    monkeypatch.setenv("DSNLINK_DATABASE_URL", url)
    get_settings.cache_clear()
    now = datetime.now(UTC)
    at = (now - timedelta(minutes=10)).astimezone(PARIS).strftime("%H:%M")
    target.mkdir()
    app = open_app(get_settings())
    try:
        schedule = parse_schedule(frequency="daily", at=at, target=target)
        # Set yesterday: today's slot is due.
        saved = save_schedule(app.store, schedule, now=now - timedelta(days=1))
        slot = saved.last_slot(now)
        assert slot > now - timedelta(minutes=11)
        assert backup_state(app.db) == {}
    finally:
        app.close()
    return slot, at


#: Seconds between two looks of the workers for a due backup, in these tests.
TICK = 2


def _last_backup_tick(url: str) -> int:
    """The latest tick (Unix time) at which the workers deferred the backup check, once every
    check deferred has run (0 while one waits or runs)."""
    import psycopg

    from dsnlink.jobs.queue import BACKUP_TASK

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT max(defer_timestamp), (SELECT count(*) FROM procrastinate_jobs "
            "WHERE task_name = %(t)s AND status IN ('todo', 'doing')) "
            "FROM procrastinate_periodic_defers WHERE task_name = %(t)s",
            {"t": BACKUP_TASK},
        ).fetchone()
    if row is None or row[1]:
        return 0
    return int(row[0] or 0)


def test_two_workers_take_a_due_slot_once(
    monkeypatch: pytest.MonkeyPatch, hermetic_env: Path, tmp_path: Path, fresh_pg_url: str
) -> None:
    url = fresh_pg_url.replace("postgresql+psycopg://", "postgresql://")
    target = tmp_path / "sauvegardes"
    slot, _ = _init_with_due_slot(monkeypatch, url, target)
    env = {
        **os.environ,
        "DSNLINK_DATA_DIR": str(hermetic_env),
        "DSNLINK_DATABASE_URL": url,
        "DSNLINK_WORKER_HEARTBEAT_SECONDS": "0.5",
        # The workers look for a due backup every TICK seconds instead of every minute: the
        # same periodic task, its ticks seen in seconds rather than waited for in minutes.
        "DSNLINK_WORKER_BACKUP_SECONDS": str(TICK),
        "DSNLINK_LOG_LEVEL": "WARNING",
    }
    logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
    workers = []
    for log in logs:
        with log.open("wb") as out:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "dsnlink", "worker", "--concurrency", "2", "--json"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        # The first tick (or the one a worker catches up at start) takes the backup.
        deadline = time.monotonic() + 120
        while not [b for b in list_backups(target) if b.good]:
            assert time.monotonic() < deadline, "no scheduled backup: " + "".join(
                p.read_text(errors="replace") for p in logs
            )
            assert all(w.poll() is None for w in workers), "a worker died"
            time.sleep(0.2)
        # The workers keep looking at every tick: several ticks later, still one archive.
        taken = int(time.time())
        deadline = time.monotonic() + 60
        while _last_backup_tick(url) < taken + 3 * TICK:
            assert time.monotonic() < deadline, "the workers stopped looking"
            time.sleep(0.2)
        assert all(w.poll() is None for w in workers), "a worker died"
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)
    backups = list_backups(target)
    assert len(backups) == 1 and backups[0].good, backups
    r = invoke("backup", "verify", str(backups[0].path), "--json")
    assert r.code == 0, r.stdout + r.stderr
    assert r.json()["tables"]["users"] >= 1
    app = open_app(get_settings())
    try:
        state = read_setting(app.db, STATE_KEY)
        assert isinstance(state, dict)
        assert datetime.fromisoformat(state["last_good"]["at"]) >= slot
        assert "last_failure" not in state
    finally:
        app.close()


def test_backup_lock_lets_one_workstation_take_the_slot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_pg_url: str
) -> None:
    """Two installations' processes (two workstations: two engines, two pools) start the
    step at the same instant: one takes the backup, the other finds the lock held or the slot
    done, and never takes a second archive."""
    url = fresh_pg_url.replace("postgresql+psycopg://", "postgresql://")
    target = tmp_path / "sauvegardes"
    _init_with_due_slot(monkeypatch, url, target)
    apps = [open_app(get_settings()) for _ in range(2)]
    outcomes: list[StepOutcome] = []
    barrier = threading.Barrier(2)

    def run(n: int) -> None:
        with open_pipeline(apps[n]) as pipeline:
            step = BackupStep(get_settings(), apps[n].db, pipeline)
            barrier.wait()
            outcomes.append(step.run())

    try:
        threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        statuses = sorted(o.status for o in outcomes)
        assert statuses in (["backed_up", "busy"], ["backed_up", "done"]), statuses
        # Held by no one afterwards: the next look finds the slot done.
        with open_pipeline(apps[0]) as pipeline:
            assert BackupStep(get_settings(), apps[0].db, pipeline).run().status == "done"
    finally:
        for app in apps:
            app.close()
    assert len([b for b in list_backups(target) if b.good]) == 1
