from __future__ import annotations

import pytest

from dsnlink.store.memory import MemorySecretsRepo, MemoryStore
from dsnlink.vault.memory import MemorySealedSecretStore
from dsnlink.vault.protocols import SealedSecretStore
from tests.unit.vault.contract import BatchSealedSecretStoreContract, SealedSecretStoreContract


class TestMemorySealedSecretStore(BatchSealedSecretStoreContract):
    @pytest.fixture
    def store(self) -> MemorySealedSecretStore:
        return MemorySealedSecretStore()


class TestMemoryStoreSecretsRepo(SealedSecretStoreContract):
    """The secrets repository of the store's in-memory fake keeps the same contract."""

    @pytest.fixture
    def store(self) -> SealedSecretStore:
        with MemoryStore().write() as repos:
            secrets: MemorySecretsRepo = repos.secrets
        return secrets
