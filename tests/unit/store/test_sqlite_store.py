from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dsnlink.store import SqlStore, open_database, upgrade
from tests.unit.store.contract import StoreContract


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlStore]:
    db = open_database(f"sqlite:///{tmp_path / 'dsnlink.sqlite3'}")
    upgrade(db)
    yield SqlStore(db)
    db.dispose()


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, sqlite_store: SqlStore) -> SqlStore:
        return sqlite_store
