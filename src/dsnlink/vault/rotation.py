"""Changing the master key and re-encrypting every secret, resumably.

Both walks go through the store in ``SecretRef`` order, in batches (``iter_sealed(after=…)``),
and write each blob with a compare-and-swap (``replace_sealed``; ``replace_sealed_many`` when
the store has it: one transaction per batch), so that:

- a crash at any point leaves every blob either as it was or fully converted; running the
  same operation again (or passing ``start_after`` = the last reported ref) finishes the job;
- a secret changed by someone else during the walk is never overwritten with a stale value:
  the new blob is re-read and converted again.

:func:`rotate_master_key` saves the new key ring (new key active, old key retired) *before*
touching any blob, so every blob always opens with a key of the saved ring. The old key stays
in the ring until :func:`forget_retired_keys` finds no blob using it (keep it, exported, as
long as database backups made before the rotation are kept).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from dsnlink.errors import DecryptionFailed
from dsnlink.vault.envelope import key_id_of, reencrypt, rewrap
from dsnlink.vault.keys import KeyRing, MasterKey
from dsnlink.vault.protocols import SealedSecret, SealedSecretStore, SecretRef, can_swap_many

DEFAULT_BATCH = 500
# A secret rewritten by someone else this many times in a row during one walk is left for the
# next run rather than chased forever.
_MAX_ATTEMPTS = 5

Transform = Callable[[KeyRing, SecretRef, bytes], bytes | None]


@dataclass
class RotationReport:
    operation: Literal["rotate", "reencrypt"]
    active_key_id: str
    previous_key_id: str | None
    dry_run: bool
    scanned: int = 0
    #: Blobs converted (in a dry run: that would be converted).
    changed: int = 0
    #: Blobs already under the active key (rotation only).
    unchanged: int = 0
    #: Blobs deleted by someone else during the walk.
    vanished: int = 0
    #: Blobs that could not be opened (unknown key, tampered, moved): left as they are.
    failed: list[SecretRef] = field(default_factory=list)
    #: Blobs rewritten concurrently too many times in a row: left for the next run.
    contended: list[SecretRef] = field(default_factory=list)
    #: The last ref of the last finished batch: where a resumed walk starts.
    last_ref: SecretRef | None = None
    duration_s: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.failed and not self.contended

    def to_dict(self) -> dict[str, Any]:
        def ref(r: SecretRef) -> dict[str, str]:
            return {"table": r.table, "row_id": r.row_id, "field": r.field}

        return {
            "operation": self.operation,
            "active_key_id": self.active_key_id,
            "previous_key_id": self.previous_key_id,
            "dry_run": self.dry_run,
            "scanned": self.scanned,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "vanished": self.vanished,
            "failed": [ref(r) for r in self.failed],
            "contended": [ref(r) for r in self.contended],
            "last_ref": None if self.last_ref is None else ref(self.last_ref),
            "complete": self.complete,
            "duration_s": round(self.duration_s, 3),
        }


Progress = Callable[[RotationReport], None]


def walk(
    store: SealedSecretStore,
    *,
    start_after: SecretRef | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> Iterator[list[SealedSecret]]:
    """Every sealed secret, batch by batch, in ``SecretRef`` order."""
    after = start_after
    while True:
        batch = store.iter_sealed(after=after, limit=batch_size)
        if not batch:
            return
        yield batch
        after = batch[-1].ref


def count_sealed(store: SealedSecretStore, *, start_after: SecretRef | None = None) -> int:
    return sum(len(batch) for batch in walk(store, start_after=start_after))


def _retry_one(
    store: SealedSecretStore,
    ring: KeyRing,
    ref: SecretRef,
    transform: Transform,
    report: RotationReport,
) -> None:
    """Someone changed this blob since it was read: convert its current value, one at a time."""
    for _ in range(_MAX_ATTEMPTS):
        blob = store.get_sealed(ref)
        if blob is None:
            report.vanished += 1
            return
        try:
            new = transform(ring, ref, blob)
        except DecryptionFailed:
            report.failed.append(ref)
            return
        if new is None:
            report.unchanged += 1
            return
        if store.replace_sealed(ref, blob, new):
            report.changed += 1
            return
    report.contended.append(ref)


def _swap(store: SealedSecretStore, swaps: list[tuple[SecretRef, bytes, bytes]]) -> list[bool]:
    if not swaps:
        return []
    if can_swap_many(store):
        return store.replace_sealed_many(swaps)
    return [store.replace_sealed(ref, old, new) for ref, old, new in swaps]


def _convert_batch(
    store: SealedSecretStore,
    ring: KeyRing,
    batch: list[SealedSecret],
    transform: Transform,
    report: RotationReport,
) -> None:
    swaps: list[tuple[SecretRef, bytes, bytes]] = []
    for item in batch:
        report.scanned += 1
        try:
            new = transform(ring, item.ref, item.blob)
        except DecryptionFailed:
            report.failed.append(item.ref)
            continue
        if new is None:
            report.unchanged += 1
        elif report.dry_run:
            report.changed += 1
        else:
            swaps.append((item.ref, item.blob, new))
    for (ref, _old, _new), swapped in zip(swaps, _swap(store, swaps), strict=True):
        if swapped:
            report.changed += 1
        else:
            _retry_one(store, ring, ref, transform, report)


def _run(
    store: SealedSecretStore,
    ring: KeyRing,
    transform: Transform,
    report: RotationReport,
    *,
    start_after: SecretRef | None,
    batch_size: int,
    progress: Progress | None,
) -> RotationReport:
    started = time.perf_counter()
    for batch in walk(store, start_after=start_after, batch_size=batch_size):
        _convert_batch(store, ring, batch, transform, report)
        report.last_ref = batch[-1].ref
        report.duration_s = time.perf_counter() - started
        if progress is not None:
            progress(report)
    report.duration_s = time.perf_counter() - started
    return report


def rotate_master_key(
    ring: KeyRing,
    store: SealedSecretStore,
    *,
    save: Callable[[KeyRing], None],
    new_key: MasterKey | None = None,
    resume: bool = False,
    dry_run: bool = False,
    start_after: SecretRef | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> tuple[KeyRing, RotationReport]:
    """Make a new master key active and rewrap every data key with it.

    ``resume``: keep the ring as it is and rewrap onto its active key (finish an interrupted
    rotation, or adopt a key put first in ``DSNLINK_MASTER_KEY`` by hand). ``save`` stores the
    new ring; it is called before any blob changes, and not at all in a dry run.
    """
    previous = ring.active.key_id
    if not resume:
        ring = ring.rotated(new_key or MasterKey.generate())
        if not dry_run:
            save(ring)
    report = RotationReport(
        "rotate", ring.active.key_id, None if resume else previous, dry_run=dry_run
    )
    _run(
        store,
        ring,
        rewrap,
        report,
        start_after=start_after,
        batch_size=batch_size,
        progress=progress,
    )
    return ring, report


def reencrypt_all(
    ring: KeyRing,
    store: SealedSecretStore,
    *,
    dry_run: bool = False,
    start_after: SecretRef | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> RotationReport:
    """Decrypt every secret and seal it again under a new data key and the active master key.

    Plaintexts stay inside this function: they are not registered with the redaction (that
    would keep every secret of the installation in this process's memory).
    """
    report = RotationReport("reencrypt", ring.active.key_id, None, dry_run=dry_run)
    return _run(
        store,
        ring,
        reencrypt,
        report,
        start_after=start_after,
        batch_size=batch_size,
        progress=progress,
    )


def keys_in_use(store: SealedSecretStore, *, batch_size: int = DEFAULT_BATCH) -> dict[str, int]:
    """How many blobs each master key id wraps (unreadable blobs are not counted)."""
    counts: dict[str, int] = {}
    for batch in walk(store, batch_size=batch_size):
        for item in batch:
            try:
                key_id = key_id_of(item.blob)
            except DecryptionFailed:
                continue
            counts[key_id] = counts.get(key_id, 0) + 1
    return counts


def forget_retired_keys(
    ring: KeyRing, store: SealedSecretStore, *, batch_size: int = DEFAULT_BATCH
) -> tuple[KeyRing, list[str]]:
    """``ring`` without the retired keys that no blob uses, and the ids dropped.

    The caller saves the new ring. Backups of the database made before a rotation still need
    the old key: export it before forgetting it.
    """
    used = keys_in_use(store, batch_size=batch_size)
    unused = [k.key_id for k in ring.retired if k.key_id not in used]
    return ring.without(unused), unused
