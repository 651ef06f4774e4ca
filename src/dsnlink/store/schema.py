"""Schema revisions: applying the migrations and refusing a program/database mismatch.

The schema revision is alembic's (table ``alembic_version``). Every command and server calls
:func:`check_schema` at start: a database older than the program needs ``dsnlink upgrade``;
a database newer than the program needs this workstation updated. Neither is ever "tried".
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from dsnlink.errors import InstallationMissing, SchemaMismatch
from dsnlink.store.database import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migration shipped")
    return head


def known_revisions() -> list[str]:
    """Every revision of the chain, oldest first."""
    revisions = [r.revision for r in script_directory().walk_revisions()]
    return list(reversed(revisions))


def current_revision(db: Database) -> str | None:
    """The database's revision, or None when it was never migrated."""
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str]:
    """Apply the migrations up to ``revision`` in one transaction; (before, after)."""
    with db.write(lock="migrations") as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        command.upgrade(_config(conn), revision)
        after = MigrationContext.configure(conn).get_current_revision()
    return before, after or ""


def check_schema(db: Database) -> str:
    """The database's revision if it is exactly this program's; else a clear error."""
    current = current_revision(db)
    head = head_revision()
    if current == head:
        return current
    if current is None:
        with db.read() as conn:
            tables = set(inspect(conn).get_table_names())
        if not tables:
            raise InstallationMissing(database=db.describe())
        raise SchemaMismatch(
            "Cette base de données ne porte pas de version de schéma dsnlink.",
            remedy="Vérifiez l'adresse de la base de données (DSNLINK_DATABASE_URL).",
            database=db.describe(),
        )
    if current in known_revisions():
        raise SchemaMismatch(
            "La base de données est plus ancienne que ce programme.",
            remedy="Lancez « dsnlink upgrade » pour la mettre à jour (faites d'abord une "
            "sauvegarde).",
            database_revision=current,
            program_revision=head,
        )
    raise SchemaMismatch(
        "La base de données a été mise à jour par une version plus récente de dsnlink.",
        remedy="Mettez dsnlink à jour sur ce poste avant de l'utiliser.",
        database_revision=current,
        program_revision=head,
    )
