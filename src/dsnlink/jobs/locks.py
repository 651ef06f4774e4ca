"""One in-process runner per database.

The runner recovers ``sending`` envois at its start as if no one else could be sending them,
which holds only if it is alone on its database. On SQLite (monoposte) the database is a local
file, so an exclusive lock on a file beside it is enough. A PostgreSQL database is shared by
several workstations: a lock file on one of them does not see a runner started on another, so
the lock is a PostgreSQL session advisory lock, held by a connection kept open while the
runner works (and released by the server if the process dies).

Workers (``dsnlink worker``) and a runner on the same database would not share the lock per
identity, so each refuses to start while the other kind is working.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from dsnlink.errors import RunnerBusy
from dsnlink.store.database import Database, lock_key

RUNNER_LOCK = "runner"


def _already_running() -> RunnerBusy:
    return RunnerBusy()


@contextmanager
def runner_lock(db: Database, path: Path) -> Iterator[None]:
    """Hold the single-runner lock of ``db`` for the block (``path``: the SQLite lock file)."""
    if db.is_sqlite:
        with file_lock(path):
            yield
        return
    from dsnlink.jobs.queue import live_workers

    with db.engine.connect() as conn:
        key = lock_key(RUNNER_LOCK)
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            raise _already_running()
        conn.commit()
        try:
            if live_workers(db):
                raise RunnerBusy(
                    "Des « dsnlink worker » travaillent déjà sur cette installation réseau.",
                    remedy="Sur une installation réseau, laissez les workers faire avancer les "
                    "dépôts : « dsnlink run » n'est pas nécessaire.",
                )
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def runner_running(db: Database) -> bool:
    """Whether some connection holds the runner's advisory lock of ``db`` right now.

    Looked up in ``pg_locks``, never tried: trying it, even released at once, made a worker
    starting at that instant believe a runner was working (and refuse to start) while another
    worker was only looking too."""
    if db.is_sqlite:
        return False
    key = lock_key(RUNNER_LOCK) & 0xFFFF_FFFF_FFFF_FFFF
    with db.read() as conn:
        held = conn.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1"
            ),
            {"hi": key >> 32, "lo": key & 0xFFFF_FFFF},
        ).scalar()
    return bool(held)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _already_running() from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
