from __future__ import annotations

from collections.abc import Iterator

import pytest

from dsnlink.store import SqlStore, open_database, upgrade
from tests.unit.store.contract import StoreContract

pytestmark = pytest.mark.pg


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, fresh_pg_url: str) -> Iterator[SqlStore]:
        db = open_database(fresh_pg_url)
        upgrade(db)
        yield SqlStore(db)
        db.dispose()
