from __future__ import annotations

from pathlib import Path

import pytest

from dsnlink.errors import InstallationMissing, SchemaMismatch
from dsnlink.store import Database, check_schema, head_revision, open_database, upgrade
from dsnlink.store.schema import current_revision, known_revisions
from tests.unit.store.migration_checks import (
    assert_downgrade_to_base_and_back,
    assert_migrations_match_metadata,
)


def _db(tmp_path: Path, name: str = "db.sqlite3") -> Database:
    return open_database(f"sqlite:///{tmp_path / name}")


def test_sqlite_migrations_equal_fresh_metadata(tmp_path: Path) -> None:
    assert_migrations_match_metadata(_db(tmp_path, "a.sqlite3"), _db(tmp_path, "b.sqlite3"))


def test_sqlite_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    assert_downgrade_to_base_and_back(_db(tmp_path))


def test_chain_is_linear() -> None:
    from dsnlink.store.schema import script_directory

    script = script_directory()
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1
    assert known_revisions()[-1] == head_revision()


def test_empty_database_is_no_installation(tmp_path: Path) -> None:
    with pytest.raises(InstallationMissing):
        check_schema(_db(tmp_path))


def test_current_schema_accepted(tmp_path: Path) -> None:
    db = _db(tmp_path)
    assert upgrade(db) == (None, head_revision())
    assert check_schema(db) == head_revision()
    assert upgrade(db) == (head_revision(), head_revision())


def test_database_newer_than_program_refused(tmp_path: Path) -> None:
    db = _db(tmp_path)
    upgrade(db)
    with db.write() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
    with pytest.raises(SchemaMismatch) as info:
        check_schema(db)
    assert "plus récente" in info.value.message
    assert info.value.context["database_revision"] == "9999_future"


def test_database_older_than_program_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _db(tmp_path)
    upgrade(db)
    # A program one migration ahead of this database: the head it knows is newer.
    import dsnlink.store.schema as schema

    monkeypatch.setattr(schema, "head_revision", lambda: "0002_next")
    monkeypatch.setattr(schema, "known_revisions", lambda: [current_revision(db), "0002_next"])
    with pytest.raises(SchemaMismatch) as info:
        check_schema(db)
    assert "dsnlink upgrade" in (info.value.remedy or "")


def test_foreign_database_refused(tmp_path: Path) -> None:
    db = _db(tmp_path)
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE other_app (x INTEGER)")
    with pytest.raises(SchemaMismatch):
        check_schema(db)
