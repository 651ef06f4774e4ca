from __future__ import annotations

from collections.abc import Iterator

import pytest

from dsnlink.pipeline.sql import SqlLedger
from dsnlink.store import open_database, upgrade
from tests.unit.pipeline.ledger_contract import LedgerContract

pytestmark = pytest.mark.pg


class TestPostgresLedger(LedgerContract):
    @pytest.fixture
    def ledger(self, fresh_pg_url: str) -> Iterator[SqlLedger]:
        db = open_database(fresh_pg_url)
        upgrade(db)
        yield SqlLedger(db)
        db.dispose()
