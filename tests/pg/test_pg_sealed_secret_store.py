from __future__ import annotations

from collections.abc import Iterator

import pytest

from dsnlink.store import SqlSealedSecretStore, open_database, upgrade
from tests.unit.vault.contract import BatchSealedSecretStoreContract

pytestmark = pytest.mark.pg


class TestPostgresSealedSecretStore(BatchSealedSecretStoreContract):
    @pytest.fixture
    def store(self, fresh_pg_url: str) -> Iterator[SqlSealedSecretStore]:
        db = open_database(fresh_pg_url)
        upgrade(db)
        yield SqlSealedSecretStore(db)
        db.dispose()
