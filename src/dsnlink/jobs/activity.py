"""Who moves the deposits on right now: the réseau job queue (workers, jobs by state, stalled
jobs) or the monoposte in-process runner, for the Centre de maintenance.

Everything here only reads. In particular the runner's lock is never tried: trying it (even
released at once) could make a ``dsnlink run`` starting at that instant refuse to start. The
lock is looked up instead: in ``pg_locks`` on PostgreSQL, in ``/proc/locks`` for the lock file
of a monoposte installation (Linux; elsewhere the state is "unknown").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import text

from dsnlink.jobs.locks import runner_running
from dsnlink.jobs.queue import queue_status
from dsnlink.store.database import Database

#: The procrastinate job statuses, in the order people read them.
JOB_STATES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborting", "aborted")
PROC_LOCKS = Path("/proc/locks")
STALLED_LIMIT = 100


def queue_report(db: Database, *, stalled_seconds: float) -> dict[str, Any]:
    """Réseau: live workers, jobs per task and state, totals per state, stalled jobs."""
    status = queue_status(db, stalled_seconds=stalled_seconds)
    totals = dict.fromkeys(JOB_STATES, 0)
    for counts in status["jobs"].values():
        for state, n in counts.items():
            totals[state] = totals.get(state, 0) + n
    status["totals"] = totals
    status["stalled"] = stalled_jobs(db, stalled_seconds) if status["queue"] else []
    status["stalled_seconds"] = stalled_seconds
    status["runner_elsewhere"] = runner_running(db)
    return status


def stalled_jobs(db: Database, stalled_seconds: float) -> list[dict[str, Any]]:
    """Jobs marked running whose worker is gone (no heartbeat for ``stalled_seconds``), as
    procrastinate itself defines them; ``recover_stalled`` runs them again."""
    with db.read() as conn:
        rows = conn.execute(
            text(
                "SELECT j.id, j.task_name, j.lock, j.worker_id, j.attempts, "
                "w.last_heartbeat, "
                "(SELECT max(e.at) FROM procrastinate_events e "
                " WHERE e.job_id = j.id AND e.type = 'started') AS started_at "
                "FROM procrastinate_jobs j "
                "LEFT JOIN procrastinate_workers w ON w.id = j.worker_id "
                "WHERE j.status = 'doing' AND (w.id IS NULL "
                "  OR w.last_heartbeat < now() - make_interval(secs => :s)) "
                "ORDER BY j.id LIMIT :n"
            ),
            {"s": stalled_seconds, "n": STALLED_LIMIT},
        ).all()
    return [
        {
            "id": int(r.id),
            "task": r.task_name,
            "lock": r.lock,
            "worker_id": r.worker_id,
            "attempts": int(r.attempts),
            "last_heartbeat": r.last_heartbeat.isoformat() if r.last_heartbeat else None,
            "started_at": r.started_at.isoformat() if r.started_at else None,
        }
        for r in rows
    ]


def file_lock_holder(path: Path, locks: Path = PROC_LOCKS) -> tuple[bool, int | None]:
    """``(known, pid)``: the pid holding a ``flock`` on ``path`` (None: nobody), or
    ``(False, None)`` when it cannot be known (no ``/proc/locks``)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return True, None
    try:
        lines = locks.read_text().splitlines()
    except OSError:
        return False, None
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:123456 0 EOF"; blocked waiters read "1: ->".
        if len(fields) < 6 or fields[1] != "FLOCK":
            continue
        dev, _, inode = fields[5].rpartition(":")
        # Overlay file systems may show an anonymous device ("00:…") on one side: the inode
        # must match, and the device too unless one of them is anonymous.
        anonymous = dev.startswith("00:") or device.startswith("00:")
        if inode == str(st.st_ino) and (dev == device or anonymous):
            try:
                return True, int(fields[4])
            except ValueError:
                return False, None
    return True, None


def runner_report(
    data_dir: Path, runner: Any | None, *, server_pid: int | None = None
) -> dict[str, Any]:
    """Monoposte: whether the in-process runner works, in this server or another process.

    ``server_pid``: the process of this server that holds the runner (the parent of the web
    processes of ``dsnlink serve --workers``); by default this one."""
    known, pid = file_lock_holder(data_dir / "runner.lock")
    if not known:
        state = "unknown"
    elif pid is None:
        state = "stopped"
    elif pid == (server_pid or os.getpid()):
        state = "here"
    else:
        state = "elsewhere"
    report: dict[str, Any] = {"state": state, "pid": pid}
    if runner is not None and state == "here":
        report["stats"] = runner.stats()
    return report
