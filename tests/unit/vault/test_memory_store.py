from __future__ import annotations

import pytest

from dsnlink.vault.memory import MemorySealedSecretStore
from tests.unit.vault.contract import BatchSealedSecretStoreContract


class TestMemorySealedSecretStore(BatchSealedSecretStoreContract):
    @pytest.fixture
    def store(self) -> MemorySealedSecretStore:
        return MemorySealedSecretStore()
