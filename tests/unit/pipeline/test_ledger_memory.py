from __future__ import annotations

import pytest

from dsnlink.pipeline.memory import MemoryLedger
from dsnlink.pipeline.ports import Ledger

from .ledger_contract import LedgerContract


class TestMemoryLedger(LedgerContract):
    @pytest.fixture
    def ledger(self) -> Ledger:
        return MemoryLedger()
