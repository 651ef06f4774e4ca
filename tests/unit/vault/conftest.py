from __future__ import annotations

import pytest

from dsnlink.vault.envelope import Vault
from dsnlink.vault.keys import KeyRing, MasterKey
from dsnlink.vault.memory import MemorySealedSecretStore


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing(MasterKey.generate())


@pytest.fixture
def store() -> MemorySealedSecretStore:
    return MemorySealedSecretStore()


@pytest.fixture
def vault(ring: KeyRing, store: MemorySealedSecretStore) -> Vault:
    return Vault(ring, store)
