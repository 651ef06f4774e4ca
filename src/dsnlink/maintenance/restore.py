"""``dsnlink backup verify`` and ``dsnlink restore``: an archive is only trusted once verified.

Verifying extracts the archive into a temporary folder, checking every member's SHA-256
against the manifest, then checks the database itself: SQLite's ``PRAGMA integrity_check``,
the row count of every table, and every return file's checksum. A PostgreSQL dump is restored
into a temporary database when a server is at hand, and checked the same way.

Restoring always verifies first, so a truncated or altered archive is refused before anything
is touched; over an existing installation it needs confirmation and takes a safety backup
first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

from sqlalchemy import text

from dsnlink.errors import BackupCorrupt, Conflict, InvalidInput, PipelineError
from dsnlink.maintenance import archive
from dsnlink.maintenance.archive import Manifest
from dsnlink.maintenance.backup import (
    DB_PGDUMP,
    DB_SQLITE,
    FILES,
    PG_RETURNS_QUERY,
    RETURNS_LIST,
    BackupResult,
    default_target,
    pg_counts,
    returns_lines,
    sqlite_counts,
    take_backup,
)
from dsnlink.maintenance.pgtools import find_tool, libpq_args, run_tool
from dsnlink.settings import Settings
from dsnlink.setup import database_url
from dsnlink.store import open_database
from dsnlink.store.database import normalise_url


@dataclass
class VerifyReport:
    archive: Path
    manifest: Manifest
    checks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.archive),
            "ok": True,
            "database": self.manifest.database,
            "created_at": self.manifest.created_at,
            "program_version": self.manifest.program_version,
            "schema_revision": self.manifest.schema_revision,
            "tables": self.manifest.tables,
            "returns": self.manifest.returns,
            "checks": self.checks,
        }


def verify_backup(path: Path, *, pg_server_url: str | None = None) -> VerifyReport:
    """Check ``path`` completely; :class:`BackupCorrupt` on the first problem."""
    with _extracted(path) as (manifest, folder):
        return _check(path, manifest, folder, pg_server_url)


@contextlib.contextmanager
def _extracted(path: Path) -> Iterator[tuple[Manifest, Path]]:
    if not path.is_file():
        raise InvalidInput(f"Le fichier de sauvegarde {path} est introuvable.", file=str(path))
    with tempfile.TemporaryDirectory(prefix="dsnlink-verify-") as tmp:
        folder = Path(tmp)
        manifest = archive.extract_verified(path, folder)
        yield manifest, folder


def _check(path: Path, manifest: Manifest, folder: Path, pg_server_url: str | None) -> VerifyReport:
    report = VerifyReport(path, manifest, [f"{len(manifest.members)} élément(s) : empreintes OK"])
    if manifest.database == "sqlite":
        db_file = folder / DB_SQLITE
        if not db_file.is_file():
            raise BackupCorrupt("La base de données manque dans cette sauvegarde.")
        with contextlib.closing(sqlite3.connect(db_file)) as conn:
            try:
                result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            except sqlite3.DatabaseError as exc:
                raise BackupCorrupt(
                    "La base de données de cette sauvegarde est illisible.",
                    error=str(exc),
                ) from exc
            if result != ["ok"]:
                raise BackupCorrupt(
                    "La base de données de cette sauvegarde est endommagée (contrôle d'intégrité "
                    "SQLite en échec).",
                    detail=result[:5],
                )
            report.checks.append("intégrité SQLite : ok")
            _compare_counts(manifest, sqlite_counts(conn))
            report.checks.append(f"{len(manifest.tables)} table(s) : nombres de lignes OK")
            _compare_returns(folder, manifest, _sqlite_returns(conn))
    else:
        dump = folder / DB_PGDUMP
        tool = find_tool("pg_restore")
        run_tool([tool, "--list", str(dump)], dict(os.environ), what="La lecture de la copie")
        report.checks.append("copie PostgreSQL lisible (pg_restore --list)")
        if pg_server_url is None:
            report.checks.append("pas de serveur PostgreSQL : copie non rechargée")
        else:
            with _scratch_database(pg_server_url) as scratch:
                _pg_restore(dump, scratch)
                _check_pg(scratch, manifest, folder)
            report.checks.append(
                f"rechargée dans une base temporaire : {len(manifest.tables)} table(s), "
                "nombres de lignes OK"
            )
    report.checks.append(f"{manifest.returns} fichier(s) retour : empreintes OK")
    return report


def _compare_counts(manifest: Manifest, counts: dict[str, int]) -> None:
    if counts != manifest.tables:
        differ = sorted(
            t for t in set(counts) | set(manifest.tables) if counts.get(t) != manifest.tables.get(t)
        )
        raise BackupCorrupt(
            "Les nombres de lignes de la base ne correspondent pas au manifeste.",
            tables=differ[:20],
        )


def _sqlite_returns(conn: sqlite3.Connection) -> Iterator[tuple[str, str, str, bytes | None]]:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'return_files'"
    ).fetchone()
    if not exists:
        return iter(())
    return iter(
        conn.execute(
            "SELECT idflux, nature, ops, content FROM return_files ORDER BY idflux, nature, ops"
        )
    )


def _compare_returns(folder: Path, manifest: Manifest, rows: Any) -> None:
    """Stream the restored returns against ``returns.sha256``, line by line (same order)."""
    differing = found = expected = 0
    with (folder / RETURNS_LIST).open(encoding="utf-8") as listed:
        actual = returns_lines(rows)
        for want, got in zip_longest(listed, actual):
            expected += want is not None
            found += got is not None
            differing += want != got
    if differing or expected != manifest.returns:
        raise BackupCorrupt(
            "Des fichiers retour de la sauvegarde manquent ou ne correspondent pas à leur "
            "empreinte.",
            differing=differing,
            expected=manifest.returns,
            found=found,
        )


@contextlib.contextmanager
def _scratch_database(server_url: str) -> Iterator[str]:
    import psycopg

    base = normalise_url(server_url)
    name = f"dsnlink_verify_{uuid.uuid4().hex[:12]}"
    admin, env = libpq_args(base)
    password = env.get("PGPASSWORD")
    with psycopg.connect(admin, password=password, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, password=password, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_restore(dump: Path, url: str) -> None:
    conninfo, env = libpq_args(normalise_url(url))
    run_tool(
        [
            find_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            f"--dbname={conninfo}",
            str(dump),
        ],
        env,
        what="Le rechargement de la copie PostgreSQL (pg_restore)",
    )


def _check_pg(url: str, manifest: Manifest, folder: Path) -> None:
    db = open_database(url)
    try:
        with db.read() as conn:
            _compare_counts(manifest, pg_counts(conn))
            rows: Any = ()
            if "return_files" in manifest.tables:
                rows = conn.execution_options(yield_per=1000).execute(text(PG_RETURNS_QUERY))
            _compare_returns(folder, manifest, rows)
    finally:
        db.dispose()


# -- restore ---------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    verified: VerifyReport
    restored_to: str
    safety_backup: BackupResult | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.verified.archive),
            "restored_to": self.restored_to,
            "schema_revision": self.verified.manifest.schema_revision,
            "tables": self.verified.manifest.tables,
            "returns": self.verified.manifest.returns,
            "safety_backup": str(self.safety_backup.path) if self.safety_backup else None,
        }


def restore_backup(
    settings: Settings,
    path: Path,
    *,
    data_dir: Path | None = None,
    target_url: str | None = None,
    yes: bool = False,
) -> RestoreReport:
    """Verify ``path``, then restore it (see the module docstring)."""
    with _extracted(path) as (manifest, folder):
        if manifest.database == "sqlite":
            if target_url is not None:
                raise InvalidInput(
                    "Cette sauvegarde est celle d'une installation monoposte (SQLite) : elle se "
                    "restaure dans un dossier de données, pas dans une base PostgreSQL.",
                    remedy="Utilisez --data-dir DOSSIER.",
                )
            report = _check(path, manifest, folder, None)
            return _restore_sqlite(settings, folder, report, data_dir or settings.data_dir, yes)
        url = target_url or _current_pg_url(settings, data_dir)
        report = _check(path, manifest, folder, None)
        return _restore_pg(settings, folder, report, url, data_dir, yes)


def _restore_sqlite(
    settings: Settings, folder: Path, report: VerifyReport, dest_dir: Path, yes: bool
) -> RestoreReport:
    dest_dir = dest_dir.expanduser().resolve()
    db_path = dest_dir / "dsnlink.sqlite3"
    safety = None
    if db_path.exists():
        if not yes:
            raise Conflict(
                f"Une installation existe déjà dans {dest_dir} : la restauration la remplacerait.",
                remedy="Restaurez dans un nouveau dossier (--data-dir DOSSIER), ou confirmez avec "
                "--yes (une sauvegarde de sécurité de l'installation actuelle est faite avant).",
                data_dir=str(dest_dir),
            )
        _refuse_if_runner(dest_dir)
        here = settings.model_copy(update={"data_dir": dest_dir, "database_url": None})
        _mkdir(default_target(here))
        safety = take_backup(here, default_target(here), url=f"sqlite:///{db_path}")
    dest_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    staged = dest_dir / f".dsnlink.sqlite3.restoring-{uuid.uuid4().hex}"
    shutil.copyfile(folder / DB_SQLITE, staged)
    staged.chmod(0o600)
    with staged.open("rb+") as handle:
        os.fsync(handle.fileno())
    # The old database's WAL must never be replayed onto the restored file.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    staged.replace(db_path)
    archive.fsync_dir(dest_dir)
    _restore_files(folder, dest_dir)
    return RestoreReport(report, str(dest_dir), safety)


def _mkdir(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def _refuse_if_runner(data_dir: Path) -> None:
    """Replacing the database under a running ``dsnlink run`` would lose its writes."""
    from dsnlink.jobs.locks import file_lock

    lock = data_dir / "runner.lock"
    if not lock.exists():
        return
    try:
        with file_lock(lock):
            pass
    except PipelineError:
        raise PipelineError(
            "« dsnlink run » travaille sur cette installation : elle ne peut pas être "
            "remplacée pendant ce temps.",
            remedy="Arrêtez-le, restaurez, puis relancez-le.",
        ) from None


def _restore_files(folder: Path, dest_dir: Path) -> None:
    files = folder / FILES
    if not files.is_dir():
        return
    for src in sorted(files.rglob("*")):
        if src.is_file():
            dest = dest_dir / src.relative_to(files)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)


def _current_pg_url(settings: Settings, data_dir: Path | None) -> str:
    here = settings if data_dir is None else settings.model_copy(update={"data_dir": data_dir})
    url = database_url(here)
    if not normalise_url(url).get_backend_name() == "postgresql":
        raise InvalidInput(
            "Cette sauvegarde est celle d'une installation réseau (PostgreSQL) : précisez la base "
            "où la restaurer.",
            remedy="Utilisez --database-url postgresql://utilisateur@serveur/base.",
        )
    return url


def _restore_pg(
    settings: Settings,
    folder: Path,
    report: VerifyReport,
    url: str,
    data_dir: Path | None,
    yes: bool,
) -> RestoreReport:
    db = open_database(url)
    try:
        with db.read() as conn:
            has_tables = bool(pg_counts(conn))
        described = db.describe()
    finally:
        db.dispose()
    safety = None
    if has_tables:
        if not yes:
            raise Conflict(
                f"La base {described} contient déjà des tables : la restauration la remplacerait.",
                remedy="Restaurez dans une base vide (--database-url), ou confirmez avec --yes "
                "(une sauvegarde de sécurité de cette base est faite avant).",
                database=described,
            )
        target = default_target(settings if data_dir is None else _with_dir(settings, data_dir))
        _mkdir(target)
        safety = take_backup(settings, target, url=url)
    _pg_restore(folder / DB_PGDUMP, url)
    _check_pg(url, report.manifest, folder)
    report.checks.append("restaurée : nombres de lignes et fichiers retour vérifiés")
    if data_dir is not None:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _restore_files(folder, data_dir)
    return RestoreReport(report, described, safety)


def _with_dir(settings: Settings, data_dir: Path) -> Settings:
    return settings.model_copy(update={"data_dir": data_dir})
