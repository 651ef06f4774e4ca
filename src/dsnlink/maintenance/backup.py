"""``dsnlink backup``: a consistent copy of the installation while it runs.

SQLite: the online backup API copies the whole database in one step under one read
transaction, so the copy is the database as it was at one instant, while other processes keep
writing (WAL: they are never blocked). PostgreSQL: a repeatable-read transaction exports its
snapshot and ``pg_dump --snapshot`` dumps exactly what that transaction sees, so the row counts
and return checksums in the manifest describe the very same state as the dump.

Secrets stay sealed (the ``secrets`` table is copied as is); the master key is never part of a
backup (``dsnlink vault export-key`` exports it separately).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import text

from dsnlink import __version__
from dsnlink.errors import InstallationMissing
from dsnlink.maintenance import archive
from dsnlink.maintenance.archive import Manifest
from dsnlink.maintenance.pgtools import find_tool, libpq_args, run_tool
from dsnlink.maintenance.target import check_target
from dsnlink.settings import Settings
from dsnlink.setup import DATABASE_URL_FILE, database_url
from dsnlink.store import Database, check_schema, open_database
from dsnlink.store.schema import current_revision, head_revision

DB_SQLITE = "database/dsnlink.sqlite3"
DB_PGDUMP = "database/dsnlink.pgdump"
RETURNS_LIST = "returns.sha256"
SETTINGS_TABLE = "settings/settings-table.json"
ENVIRONMENT = "settings/environment.json"
FILES = "files/"
STAGING_PREFIX = ".dsnlink-staging-"
STATE_SCOPE = "installation"
STATE_KEY = "backup.state"
#: Byte order, whatever the database's collation: the backup and the verify of a dump restored
#: elsewhere must list the returns in the same order.
PG_RETURNS_QUERY = (
    "SELECT idflux, nature, ops, content FROM return_files "
    'ORDER BY idflux COLLATE "C", nature COLLATE "C", ops COLLATE "C"'
)

#: Data-folder entries never copied: the database itself (copied consistently above), the
#: master key, the réseau address (it may hold the database password), locks, backups.
_SKIP_NAMES = {
    "dsnlink.sqlite3",
    "dsnlink.sqlite3-wal",
    "dsnlink.sqlite3-shm",
    "dsnlink.sqlite3-journal",
    "master.key",
    DATABASE_URL_FILE,
    "backups",
}
_SKIP_SUFFIXES = (".lock", ".key", archive.PARTIAL)
_ADDRESSES_WITH_CREDENTIALS = {"database_url", "alert_webhook_url"}


@dataclass
class BackupResult:
    path: Path
    size: int
    sha256: str
    manifest: Manifest
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "size": self.size,
            "sha256": self.sha256,
            "seconds": round(self.seconds, 3),
            "schema_revision": self.manifest.schema_revision,
            "program_version": self.manifest.program_version,
            "tables": self.manifest.tables,
            "returns": self.manifest.returns,
        }


def default_target(settings: Settings) -> Path:
    return settings.data_dir / "backups"


def archive_name(at: datetime) -> str:
    return f"{archive.PREFIX}{at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}{archive.SUFFIX}"


def open_installation_db(settings: Settings, url: str | None = None) -> tuple[Database, str]:
    """The database and its schema revision, whatever it is (a backup is what one takes
    *before* ``dsnlink upgrade``): only an empty or foreign database is refused."""
    db = open_database(url or database_url(settings))
    path = db.sqlite_path
    if path is not None and not path.exists():
        db.dispose()
        raise InstallationMissing(data_dir=str(settings.data_dir))
    try:
        revision = current_revision(db)
        if revision is None:
            check_schema(db)  # raises: no installation, or not a dsnlink database
    except BaseException:
        db.dispose()
        raise
    assert revision is not None
    return db, revision


def take_backup(
    settings: Settings,
    target: Path | None = None,
    *,
    url: str | None = None,
    now: datetime | None = None,
) -> BackupResult:
    """Back up the installation of ``settings`` (or the database at ``url``) into ``target``."""
    started = time.monotonic()
    db, revision = open_installation_db(settings, url)
    try:
        folder = target or configured_target(db) or default_target(settings)
        if target is None and folder == default_target(settings):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        check_target(folder, needed=_estimate(db, settings))
        at = now or datetime.now(UTC)
        dest = folder / archive_name(at)
        staging = folder / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        staging.mkdir(mode=0o700)
        try:
            tables, returns = _snapshot(db, staging)
            _write_json(staging / ENVIRONMENT, _environment(settings, db))
            _copy_data_files(settings, staging, exclude=[folder])
            manifest = Manifest(
                program_version=__version__,
                schema_revision=revision,
                created_at=at.isoformat(),
                database="sqlite" if db.is_sqlite else "postgresql",
                source=db.describe(),
                tables=tables,
                returns=returns,
                members=archive.staged_members(staging),
            )
            written = archive.write_archive(staging, manifest, dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        result = BackupResult(dest, written.size, written.sha256, manifest, 0.0)
        if revision == head_revision():
            record_state(db, {"last_good": _good_entry(result)})
    finally:
        db.dispose()
    result.seconds = time.monotonic() - started
    return result


def _good_entry(result: BackupResult) -> dict[str, Any]:
    return {
        "file": str(result.path),
        "at": result.manifest.created_at,
        "size": result.size,
        "sha256": result.sha256,
    }


# -- state in the settings table -------------------------------------------------------------


def read_setting(db: Database, key: str) -> Any | None:
    with db.read() as conn:
        row = conn.execute(
            text("SELECT value FROM settings WHERE scope = :s AND key = :k"),
            {"s": STATE_SCOPE, "k": key},
        ).first()
    if row is None:
        return None
    value = row[0]
    return json.loads(value) if isinstance(value, str) else value


def record_state(db: Database, changes: dict[str, Any]) -> None:
    """Merge ``changes`` into the backup state (last good backup, last failure)."""
    from dsnlink.store import SqlStore

    store = SqlStore(db)
    with store.write() as r:
        current = r.settings.get(STATE_SCOPE, STATE_KEY)
        state = dict(current.value) if current is not None else {}
        state.update(changes)
        r.settings.put(STATE_SCOPE, STATE_KEY, state, datetime.now(UTC))


def configured_target(db: Database) -> Path | None:
    schedule = read_setting(db, "backup.schedule")
    if isinstance(schedule, dict) and schedule.get("target"):
        return Path(str(schedule["target"]))
    return None


# -- the consistent copy ---------------------------------------------------------------------


def _estimate(db: Database, settings: Settings) -> int:
    """Bytes the staging copy needs at most (the archive is smaller: compressed)."""
    path = db.sqlite_path
    if path is not None:
        size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    else:
        with db.read() as conn:
            size = int(
                conn.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0
            )
    files = sum(p.stat().st_size for p in _data_files(settings, exclude=[]))
    return int((size + files) * 1.1) + 1_000_000


def _snapshot(db: Database, staging: Path) -> tuple[dict[str, int], int]:
    if db.sqlite_path is not None:
        return _snapshot_sqlite(db.sqlite_path, staging)
    return _snapshot_postgres(db, staging)


def _snapshot_sqlite(source: Path, staging: Path) -> tuple[dict[str, int], int]:
    copy = staging / DB_SQLITE
    copy.parent.mkdir(parents=True)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(copy)
    try:
        # pages=-1 (the default): the whole database in one step, under one read transaction.
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        src.close()
        dst.close()
    with contextlib.closing(sqlite3.connect(copy)) as conn:
        tables = sqlite_counts(conn)
        returns = _write_returns_list(staging, _sqlite_returns(conn, tables))
        _write_json(staging / SETTINGS_TABLE, _sqlite_settings(conn, tables))
    return tables, returns


def sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    # Table names come from the catalogue, quoted: not user input.
    return {
        n: int(conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0])  # noqa: S608
        for n in names
    }


def _sqlite_returns(
    conn: sqlite3.Connection, tables: dict[str, int]
) -> Iterator[tuple[str, str, str, bytes | None]]:
    if "return_files" not in tables:
        return iter(())
    return iter(
        conn.execute(
            "SELECT idflux, nature, ops, content FROM return_files ORDER BY idflux, nature, ops"
        )
    )


def _sqlite_settings(conn: sqlite3.Connection, tables: dict[str, int]) -> list[dict[str, Any]]:
    if "settings" not in tables:
        return []
    return [
        {"scope": s, "key": k, "value": json.loads(v) if isinstance(v, str) else v}
        for s, k, v in conn.execute("SELECT scope, key, value FROM settings ORDER BY scope, key")
    ]


def returns_lines(rows: Iterable[tuple[str, str, str, bytes | None]]) -> Iterator[str]:
    """One line per return file: SHA-256 of its content (``-`` when not fetched) and its key."""
    for idflux, nature, ops, content in rows:
        digest = "-" if content is None else hashlib.sha256(bytes(content)).hexdigest()
        yield f"{digest}  {idflux}/{nature}/{ops}\n"


def _write_returns_list(staging: Path, rows: Iterable[tuple[str, str, str, bytes | None]]) -> int:
    count = 0
    with (staging / RETURNS_LIST).open("w", encoding="utf-8") as out:
        for line in returns_lines(rows):
            out.write(line)
            count += 1
    return count


def _snapshot_postgres(db: Database, staging: Path) -> tuple[dict[str, int], int]:
    dump = staging / DB_PGDUMP
    dump.parent.mkdir(parents=True)
    pg_dump = find_tool("pg_dump")
    conninfo, env = libpq_args(db.url)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar())
            # pg_dump reads exactly this transaction's snapshot while it stays open.
            run_tool(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={dump}",
                    f"--dbname={conninfo}",
                ],
                env,
                what="La copie de la base PostgreSQL (pg_dump)",
            )
            tables = pg_counts(conn)
            rows: Iterable[Any] = ()
            if "return_files" in tables:
                rows = conn.execution_options(yield_per=1000).execute(text(PG_RETURNS_QUERY))
            returns = _write_returns_list(staging, rows)
            settings_rows: list[dict[str, Any]] = []
            if "settings" in tables:
                for s, k, v in conn.execute(
                    text("SELECT scope, key, value FROM settings ORDER BY scope, key")
                ):
                    settings_rows.append(
                        {"scope": s, "key": k, "value": json.loads(v) if isinstance(v, str) else v}
                    )
            _write_json(staging / SETTINGS_TABLE, settings_rows)
    return tables, returns


def pg_counts(conn: Any) -> dict[str, int]:
    names = [
        str(r[0])
        for r in conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "ORDER BY tablename"
            )
        )
    ]
    return {
        n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar() or 0)  # noqa: S608
        for n in names
    }


# -- settings and data-folder files ----------------------------------------------------------


def _environment(settings: Settings, db: Database) -> dict[str, Any]:
    """The process settings in force, without any secret (for the record, not restored)."""
    out: dict[str, Any] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        # Addresses may carry credentials (a database password, a webhook's token).
        if isinstance(value, SecretStr) or name in _ADDRESSES_WITH_CREDENTIALS:
            out[name] = None if value is None else "(secret, non sauvegardé)"
        else:
            out[name] = str(value) if isinstance(value, Path) else value
    out["database"] = db.describe()
    return out


def _data_files(settings: Settings, exclude: list[Path]) -> list[Path]:
    root = settings.data_dir
    if not root.is_dir():
        return []
    skip = {p.resolve() for p in exclude}
    skip.add(settings.effective_master_key_file.resolve())
    found: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        for entry in sorted(folder.iterdir()):
            if entry.resolve() in skip or entry.is_symlink():
                continue
            if folder == root and entry.name in _SKIP_NAMES:
                continue
            if entry.name.startswith(STAGING_PREFIX) or entry.name.endswith(_SKIP_SUFFIXES):
                continue
            if entry.is_dir():
                stack.append(entry)
            elif entry.is_file():
                found.append(entry)
    return found


def _copy_data_files(settings: Settings, staging: Path, exclude: list[Path]) -> None:
    for path in _data_files(settings, exclude):
        dest = staging / FILES / path.relative_to(settings.data_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile: nothing to keep
            shutil.copy2(path, dest)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
