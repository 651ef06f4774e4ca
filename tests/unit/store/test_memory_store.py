from __future__ import annotations

import pytest

from dsnlink.store.memory import MemoryStore
from tests.unit.store.contract import StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()
