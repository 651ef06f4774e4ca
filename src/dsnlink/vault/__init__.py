"""Encryption at rest of Net-entreprises passwords and every other secret.

Use :func:`open_vault` to get a :class:`Vault`; see ``docs/vault.md`` for the blob format, the
key providers and rotation.
"""

from __future__ import annotations

from dsnlink.vault.envelope import Vault
from dsnlink.vault.factory import open_vault
from dsnlink.vault.protocols import SealedSecret, SealedSecretStore, SecretRef

__all__ = ["SealedSecret", "SealedSecretStore", "SecretRef", "Vault", "open_vault"]
