from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dsnlink.pipeline.sql import SqlLedger
from dsnlink.store import open_database, upgrade

from .ledger_contract import LedgerContract


class TestSqliteLedger(LedgerContract):
    @pytest.fixture
    def ledger(self, tmp_path: Path) -> Iterator[SqlLedger]:
        db = open_database(f"sqlite:///{tmp_path / 'dsnlink.sqlite3'}")
        upgrade(db)
        yield SqlLedger(db)
        db.dispose()
