"""What the vault needs from the store, as small interfaces (the store implements them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, order=True)
class SecretRef:
    """Where a sealed secret belongs. Bound into the blob as associated data, so a blob copied
    to another table, row or field no longer opens."""

    table: str
    row_id: str
    field: str

    def associated_data(self) -> bytes:
        return f"dsnlink:{self.table}:{self.row_id}:{self.field}".encode()


@dataclass(frozen=True)
class SealedSecret:
    ref: SecretRef
    blob: bytes


class SealedSecretStore(Protocol):
    """Persistent home of sealed secrets (table ``secrets`` in the database).

    Implementations: an in-memory one next to the vault (tests), SQL ones in ``dsnlink.store``.
    """

    def get_sealed(self, ref: SecretRef) -> bytes | None: ...

    def put_sealed(self, ref: SecretRef, blob: bytes) -> None: ...

    def delete_sealed(self, ref: SecretRef) -> None: ...

    def iter_sealed(self, *, after: SecretRef | None, limit: int) -> list[SealedSecret]:
        """Secrets in ``SecretRef`` order, strictly after ``after``: resumable batch walks."""
        ...

    def replace_sealed(self, ref: SecretRef, old: bytes, new: bytes) -> bool:
        """Compare-and-swap: store ``new`` only if the current blob is ``old``."""
        ...
