"""What the vault needs from the store, as small interfaces (the store implements them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeGuard


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


class BatchSealedSecretStore(SealedSecretStore, Protocol):
    """A store that can compare-and-swap many blobs in one transaction (optional).

    Rotation and re-encryption use it when present: one transaction per batch instead of one
    per secret, which is what makes them fast on a SQL database.
    """

    def replace_sealed_many(self, swaps: Sequence[tuple[SecretRef, bytes, bytes]]) -> list[bool]:
        """``replace_sealed`` for each ``(ref, old, new)``, in order; one result each."""
        ...


def can_swap_many(store: SealedSecretStore) -> TypeGuard[BatchSealedSecretStore]:
    return callable(getattr(store, "replace_sealed_many", None))
