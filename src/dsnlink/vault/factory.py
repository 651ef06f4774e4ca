"""The one way the rest of dsnlink gets a :class:`~dsnlink.vault.envelope.Vault`."""

from __future__ import annotations

from dsnlink.settings import Settings
from dsnlink.vault.envelope import Vault
from dsnlink.vault.keys import load_keyring
from dsnlink.vault.protocols import SealedSecretStore


def open_vault(settings: Settings, store: SealedSecretStore) -> Vault:
    """A vault over ``store`` with the master keys of ``settings``' providers.

    Raises :class:`~dsnlink.errors.MasterKeyError` when no usable key is found: callers never
    store a secret in clear instead.
    """
    return Vault(load_keyring(settings), store)
