"""procrastinate's tables and functions in a réseau database, applied by ``init``/``upgrade``.

procrastinate ships its schema (``schema.sql``) and one SQL file per change since its first
version (``sql/migrations/MM.mm.pp_NN_name.sql``). The version whose schema a database holds
is recorded as the comment of ``procrastinate_jobs``: a new database gets the whole schema; a
database made by an older procrastinate gets the migration files of the versions in between,
in order, in one transaction under the migrations lock (two workstations upgrading at once
wait for each other). Applying it again changes nothing.
"""

from __future__ import annotations

import re
from importlib.metadata import version as installed_version
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

from dsnlink.logs import get_logger
from dsnlink.store.database import Database

log = get_logger("dsnlink.jobs.queue_schema")
_MARK = "procrastinate "
_MIGRATION = re.compile(r"^(\d+)\.(\d+)\.(\d+)_(\d+)_.*\.sql$")


def procrastinate_version() -> tuple[int, int, int]:
    major, minor, patch = [*installed_version("procrastinate").split("."), "0", "0"][:3]
    return int(major), int(minor), int("".join(c for c in patch if c.isdigit()) or 0)


def _format(version: tuple[int, int, int]) -> str:
    return ".".join(str(n) for n in version)


def recorded_version(conn: Connection) -> tuple[int, int, int] | None:
    """The procrastinate version whose schema the database holds; None if it has none."""
    row = conn.execute(
        text(
            "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'procrastinate_jobs' AND n.nspname = current_schema()"
        )
    ).first()
    if row is None:
        return None
    comment = row[0] or ""
    if not comment.startswith(_MARK):
        # A schema applied by hand (procrastinate's own CLI): assume the installed version.
        return procrastinate_version()
    major, minor, patch = (int(n) for n in comment[len(_MARK) :].split("."))
    return major, minor, patch


def _migrations_between(after: tuple[int, int, int], upto: tuple[int, int, int]) -> list[Path]:
    import procrastinate.schema

    folder = Path(procrastinate.schema.SchemaManager.get_migrations_path())
    picked: list[tuple[tuple[int, int, int, int], Path]] = []
    for path in folder.glob("*.sql"):
        match = _MIGRATION.match(path.name)
        if not match:
            continue
        major, minor, patch, step = (int(g) for g in match.groups())
        if after < (major, minor, patch) <= upto:
            picked.append(((major, minor, patch, step), path))
    return [p for _, p in sorted(picked)]


def _run_script(conn: Connection, sql: str) -> None:
    # Through the driver, without parameters: the scripts hold several statements and '%'.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def ensure_queue_schema(db: Database) -> str | None:
    """Bring the job queue's schema to the installed procrastinate's; what was done, if
    anything ("created 3.10.0", "upgraded 3.9.0 → 3.10.0"). No-op on SQLite."""
    if db.is_sqlite:
        return None
    import procrastinate.schema

    target = procrastinate_version()
    with db.write(lock="migrations") as conn:
        current = recorded_version(conn)
        if current == target:
            return None
        if current is None:
            _run_script(conn, procrastinate.schema.SchemaManager.get_schema())
            done = f"created {_format(target)}"
        elif current > target:
            return None  # a newer dsnlink upgraded it; check_schema speaks for versions
        else:
            for path in _migrations_between(current, target):
                _run_script(conn, path.read_text(encoding="utf-8"))
            done = f"upgraded {_format(current)} -> {_format(target)}"
        conn.execute(text(f"COMMENT ON TABLE procrastinate_jobs IS '{_MARK}{_format(target)}'"))
    log.info("queue_schema", result=done)
    return done


def has_queue_schema(db: Database) -> bool:
    if db.is_sqlite:
        return False
    with db.read() as conn:
        return recorded_version(conn) is not None
