"""Rotation and re-encryption over PostgreSQL, with another writer between two batches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dsnlink.store import SqlSealedSecretStore, open_database, upgrade
from dsnlink.vault.envelope import Vault
from dsnlink.vault.keys import KeyRing, MasterKey
from dsnlink.vault.protocols import SecretRef
from dsnlink.vault.rotation import RotationReport, keys_in_use, reencrypt_all, rotate_master_key

pytestmark = pytest.mark.pg

N = 120


@pytest.fixture
def store(fresh_pg_url: str) -> Iterator[SqlSealedSecretStore]:
    db = open_database(fresh_pg_url)
    upgrade(db)
    yield SqlSealedSecretStore(db)
    db.dispose()


def test_rotation_and_reencryption_under_concurrent_writes(store: SqlSealedSecretStore) -> None:
    ring = KeyRing(MasterKey.generate())
    old_vault = Vault(ring, store)
    refs = [SecretRef("identities", f"{i:04d}", "password") for i in range(N)]
    for ref in refs:
        old_vault.put_secret(ref, f"CANARY-pg-{ref.row_id}")
    expected = {ref: f"CANARY-pg-{ref.row_id}" for ref in refs}
    written: list[SecretRef] = []

    def writer() -> None:
        # A workstation that still has the old ring rewrites secrets during the walk.
        for ref in refs[::7]:
            value = f"CANARY-pg-new-{ref.row_id}"
            old_vault.put_secret(ref, value)
            expected[ref] = value
            written.append(ref)

    def start_writer(report: RotationReport) -> None:
        # After the first batch: its rows are converted, the later ones not yet.
        if not written:
            writer()

    new_ring, report = rotate_master_key(
        ring, store, save=lambda r: None, batch_size=16, progress=start_writer
    )
    assert len(written) == len(refs[::7])
    assert report.complete and report.scanned == N
    # Rows of the first batch were converted before the writer rewrote them under the old
    # key: they stay there (the old key is retired, not gone) until a rerun converts them.
    # Later rows were rewritten before their swap: re-read and converted, none lost its value.
    first_batch = [ref for ref in refs[:16] if ref in refs[::7]]
    assert keys_in_use(store) == {
        new_ring.active.key_id: N - len(first_batch),
        ring.active.key_id: len(first_batch),
    }
    _, again = rotate_master_key(new_ring, store, save=lambda r: None, resume=True)
    assert again.changed == len(first_batch) and again.unchanged == N - len(first_batch)
    assert keys_in_use(store) == {new_ring.active.key_id: N}
    vault = Vault(KeyRing(new_ring.active), store)
    assert {ref: vault.get_secret(ref) for ref in refs} == expected

    report = reencrypt_all(new_ring, store, batch_size=50)
    assert report.complete and report.changed == N
    assert {ref: vault.get_secret(ref) for ref in refs} == expected
