"""The vault's SealedSecretStore contract, on the SQL store (SQLite here, PostgreSQL in pg/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dsnlink.store import SqlSealedSecretStore, open_database, upgrade
from tests.unit.vault.contract import BatchSealedSecretStoreContract


class TestSqliteSealedSecretStore(BatchSealedSecretStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqlSealedSecretStore]:
        db = open_database(f"sqlite:///{tmp_path / 's.sqlite3'}")
        upgrade(db)
        yield SqlSealedSecretStore(db)
        db.dispose()
