"""Checks shared by the SQLite and PostgreSQL migration tests."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from dsnlink.store import Database, upgrade
from dsnlink.store.tables import metadata


def _shape(conn: Connection) -> dict[str, Any]:
    """Tables, columns, keys, uniques, indexes and checks, as reflected, names included."""
    insp = inspect(conn)
    shape: dict[str, Any] = {}
    for table in sorted(set(insp.get_table_names()) - {"alembic_version"}):
        shape[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)
            ],
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"], str(fk["options"]))
                for fk in insp.get_foreign_keys(table)
            ),
            "uniques": sorted(
                (u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table)
            ),
            "checks": sorted(c["name"] or "" for c in insp.get_check_constraints(table)),
        }
    return shape


def assert_migrations_match_metadata(migrated: Database, fresh: Database) -> None:
    """All migrations applied == metadata created fresh, two ways.

    alembic's comparison sees what the metadata declares; the reflected shapes also catch
    what it does not compare (check constraints, cascade options, names).
    """
    upgrade(migrated)
    with migrated.read() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    assert diff == [], diff
    with fresh.write() as conn:
        metadata.create_all(conn)
    with migrated.read() as a, fresh.read() as b:
        assert _shape(a) == _shape(b)


def assert_downgrade_to_base_and_back(db: Database) -> None:
    from alembic import command

    from dsnlink.store.schema import _config

    upgrade(db)
    with db.write(lock="migrations") as conn:
        command.downgrade(_config(conn), "base")
    with db.read() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    upgrade(db)
