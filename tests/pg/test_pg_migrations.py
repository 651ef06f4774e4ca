from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from dsnlink.errors import InstallationMissing, SchemaMismatch
from dsnlink.store import check_schema, open_database, upgrade
from tests.unit.store.migration_checks import (
    assert_downgrade_to_base_and_back,
    assert_migrations_match_metadata,
)

pytestmark = pytest.mark.pg


@pytest.fixture
def second_pg_url(pg_url: str) -> Iterator[str]:
    name = f"dsnlink_t_{uuid.uuid4().hex[:12]}"
    conninfo = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_pg_migrations_equal_fresh_metadata(fresh_pg_url: str, second_pg_url: str) -> None:
    migrated, fresh = open_database(fresh_pg_url), open_database(second_pg_url)
    try:
        assert_migrations_match_metadata(migrated, fresh)
    finally:
        migrated.dispose()
        fresh.dispose()


def test_pg_downgrade_and_upgrade_again(fresh_pg_url: str) -> None:
    db = open_database(fresh_pg_url)
    try:
        assert_downgrade_to_base_and_back(db)
    finally:
        db.dispose()


def test_pg_schema_checks(fresh_pg_url: str) -> None:
    # A plain postgresql:// URL is accepted and means psycopg 3.
    db = open_database(fresh_pg_url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        assert db.engine.url.drivername == "postgresql+psycopg"
        with pytest.raises(InstallationMissing):
            check_schema(db)
        upgrade(db)
        check_schema(db)
        with db.write() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
        with pytest.raises(SchemaMismatch):
            check_schema(db)
    finally:
        db.dispose()
