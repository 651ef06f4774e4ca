"""An in-memory :class:`~dsnlink.vault.protocols.SealedSecretStore`: the fake used by tests.

It passes the same contract test suite as the SQL stores (``tests/unit/vault/contract.py``).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence

from dsnlink.vault.protocols import SealedSecret, SecretRef


class MemorySealedSecretStore:
    def __init__(self) -> None:
        self._blobs: dict[SecretRef, bytes] = {}
        self._order: list[SecretRef] = []  # kept sorted, for iter_sealed
        self._lock = threading.Lock()

    def get_sealed(self, ref: SecretRef) -> bytes | None:
        with self._lock:
            return self._blobs.get(ref)

    def put_sealed(self, ref: SecretRef, blob: bytes) -> None:
        with self._lock:
            if ref not in self._blobs:
                bisect.insort(self._order, ref)
            self._blobs[ref] = bytes(blob)

    def delete_sealed(self, ref: SecretRef) -> None:
        with self._lock:
            if self._blobs.pop(ref, None) is not None:
                del self._order[bisect.bisect_left(self._order, ref)]

    def iter_sealed(self, *, after: SecretRef | None, limit: int) -> list[SealedSecret]:
        with self._lock:
            start = 0 if after is None else bisect.bisect_right(self._order, after)
            refs = self._order[start : start + max(limit, 0)]
            return [SealedSecret(ref, self._blobs[ref]) for ref in refs]

    def replace_sealed(self, ref: SecretRef, old: bytes, new: bytes) -> bool:
        with self._lock:
            if self._blobs.get(ref) != old:
                return False
            self._blobs[ref] = bytes(new)
            return True

    def replace_sealed_many(self, swaps: Sequence[tuple[SecretRef, bytes, bytes]]) -> list[bool]:
        return [self.replace_sealed(ref, old, new) for ref, old, new in swaps]

    def __len__(self) -> int:
        return len(self._blobs)

    def __repr__(self) -> str:
        return f"MemorySealedSecretStore({len(self._blobs)} secrets)"
