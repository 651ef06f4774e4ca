"""Master key rotation and re-encryption: complete, resumable after a crash, safe under writes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsnlink.redaction import registered_count
from dsnlink.settings import Settings
from dsnlink.vault.blob import parse
from dsnlink.vault.envelope import Vault, key_id_of, seal_with
from dsnlink.vault.keys import KeyRing, MasterKey, create_master_key, load_keyring, save_keyring
from dsnlink.vault.memory import MemorySealedSecretStore
from dsnlink.vault.protocols import SecretRef
from dsnlink.vault.rotation import (
    RotationReport,
    count_sealed,
    forget_retired_keys,
    keys_in_use,
    reencrypt_all,
    rotate_master_key,
)


class Crash(Exception):
    pass


class CrashingStore(MemorySealedSecretStore):
    """Dies (like a killed process) after a given number of successful swaps."""

    def __init__(self) -> None:
        super().__init__()
        self.swaps_left: int | None = None

    def replace_sealed(self, ref: SecretRef, old: bytes, new: bytes) -> bool:
        if self.swaps_left is not None:
            if self.swaps_left == 0:
                raise Crash
            self.swaps_left -= 1
        return super().replace_sealed(ref, old, new)


class SingleSwapStore(MemorySealedSecretStore):
    """A store without ``replace_sealed_many``: one compare-and-swap per secret."""

    replace_sealed_many = None  # type: ignore[assignment]


def refs(n: int) -> list[SecretRef]:
    return [SecretRef("identities", f"{i:05d}", "password") for i in range(n)]


def fill(vault: Vault, n: int) -> dict[SecretRef, str]:
    values = {r: f"CANARY-rot-{r.row_id}" for r in refs(n)}
    for r, v in values.items():
        vault.put_secret(r, v)
    return values


def assert_all_open(
    ring: KeyRing, store: MemorySealedSecretStore, values: dict[SecretRef, str]
) -> None:
    vault = Vault(ring, store)
    assert {r: vault.get_secret(r) for r in values} == values


def test_rotation_rewraps_every_data_key_and_keeps_ciphertexts(
    ring: KeyRing, store: MemorySealedSecretStore, vault: Vault
) -> None:
    values = fill(vault, 23)
    before = {s.ref: parse(s.blob) for s in store.iter_sealed(after=None, limit=100)}
    saved: list[KeyRing] = []

    def save(new_ring: KeyRing) -> None:
        # Saved before any blob changes: every blob still opens with the saved ring.
        assert set(keys_in_use(store)) == {ring.active.key_id}
        saved.append(new_ring)

    new_ring, report = rotate_master_key(ring, store, save=save, batch_size=5)
    assert saved == [new_ring]
    assert new_ring.retired == (ring.active,)
    assert report.scanned == report.changed == 23 and report.complete
    assert report.previous_key_id == ring.active.key_id
    assert report.active_key_id == new_ring.active.key_id
    assert report.last_ref == refs(23)[-1]
    assert keys_in_use(store) == {new_ring.active.key_id: 23}
    for item in store.iter_sealed(after=None, limit=100):
        assert parse(item.blob).ciphertext == before[item.ref].ciphertext
    assert_all_open(KeyRing(new_ring.active), store, values)


def test_rotation_interrupted_then_resumed(ring: KeyRing) -> None:
    store = CrashingStore()
    values = fill(Vault(ring, store), 50)
    saved: list[KeyRing] = []
    store.swaps_left = 17
    with pytest.raises(Crash):
        rotate_master_key(ring, store, save=saved.append, batch_size=8)
    (on_disk,) = saved
    # Half-way: some blobs under each key, all of them open with the saved ring.
    assert keys_in_use(store) == {on_disk.active.key_id: 17, ring.active.key_id: 33}
    assert_all_open(on_disk, store, values)
    store.swaps_left = None
    final, report = rotate_master_key(on_disk, store, save=saved.append, resume=True)
    assert len(saved) == 1  # resuming creates no other key
    assert final == on_disk
    assert (report.changed, report.unchanged, report.scanned) == (33, 17, 50)
    assert keys_in_use(store) == {on_disk.active.key_id: 50}
    assert_all_open(KeyRing(on_disk.active), store, values)


def test_resume_from_the_last_reported_ref(ring: KeyRing) -> None:
    store = CrashingStore()
    fill(Vault(ring, store), 30)
    checkpoints: list[SecretRef | None] = []
    saved: list[KeyRing] = []

    def progress(report: RotationReport) -> None:
        checkpoints.append(report.last_ref)

    store.swaps_left = 25
    with pytest.raises(Crash):
        rotate_master_key(ring, store, save=saved.append, batch_size=10, progress=progress)
    assert checkpoints == [refs(30)[9], refs(30)[19]]
    store.swaps_left = None
    _, report = rotate_master_key(
        saved[0], store, save=saved.append, resume=True, start_after=checkpoints[-1]
    )
    assert report.scanned == 10 and report.changed == 5 and report.unchanged == 5
    assert set(keys_in_use(store)) == {saved[0].active.key_id}


class RacingStore(MemorySealedSecretStore):
    """Another writer changes (or deletes) a secret just before the rotation swaps it."""

    def __init__(self, ring: KeyRing, target: SecretRef, *, delete: bool) -> None:
        super().__init__()
        self.ring, self.target, self.delete, self.raced = ring, target, delete, False

    def replace_sealed(self, ref: SecretRef, old: bytes, new: bytes) -> bool:
        if ref == self.target and not self.raced:
            self.raced = True
            if self.delete:
                self.delete_sealed(ref)
            else:  # written by a workstation that still has the old key only
                self.put_sealed(ref, seal_with(self.ring.active, ref, b"CANARY-newer"))
        return super().replace_sealed(ref, old, new)


def test_a_secret_changed_during_rotation_is_not_overwritten(ring: KeyRing) -> None:
    target = refs(10)[4]
    store = RacingStore(ring, target, delete=False)
    fill(Vault(ring, store), 10)
    new_ring, report = rotate_master_key(ring, store, save=lambda r: None)
    assert report.changed == 10 and report.complete
    assert Vault(KeyRing(new_ring.active), store).get_secret(target) == "CANARY-newer"


def test_a_secret_deleted_during_rotation_stays_deleted(ring: KeyRing) -> None:
    target = refs(10)[4]
    store = RacingStore(ring, target, delete=True)
    fill(Vault(ring, store), 10)
    _, report = rotate_master_key(ring, store, save=lambda r: None)
    assert report.vanished == 1 and report.changed == 9
    assert store.get_sealed(target) is None


def test_unreadable_blobs_are_reported_and_left_alone(
    ring: KeyRing, store: MemorySealedSecretStore, vault: Vault
) -> None:
    fill(vault, 5)
    stranger = SecretRef("identities", "00002", "password")
    foreign = seal_with(MasterKey.generate(), stranger, b"x")
    store.put_sealed(stranger, foreign)
    _, report = rotate_master_key(ring, store, save=lambda r: None)
    assert report.failed == [stranger] and not report.complete
    assert report.changed == 4
    assert store.get_sealed(stranger) == foreign
    assert report.to_dict()["failed"] == [
        {"table": "identities", "row_id": "00002", "field": "password"}
    ]


def test_dry_run_changes_nothing(
    ring: KeyRing, store: MemorySealedSecretStore, vault: Vault
) -> None:
    fill(vault, 12)
    before = store.iter_sealed(after=None, limit=100)
    saved: list[KeyRing] = []
    _, report = rotate_master_key(ring, store, save=saved.append, dry_run=True)
    assert saved == [] and report.dry_run and report.changed == 12
    assert store.iter_sealed(after=None, limit=100) == before
    report = reencrypt_all(ring, store, dry_run=True)
    assert report.changed == 12
    assert store.iter_sealed(after=None, limit=100) == before


def test_retired_keys_are_forgotten_only_when_unused(
    ring: KeyRing, store: MemorySealedSecretStore, vault: Vault
) -> None:
    fill(vault, 6)
    crashing = CrashingStore()
    for item in store.iter_sealed(after=None, limit=100):
        crashing.put_sealed(item.ref, item.blob)
    crashing.swaps_left = 3
    saved: list[KeyRing] = []
    with pytest.raises(Crash):
        rotate_master_key(ring, crashing, save=saved.append)
    kept, dropped = forget_retired_keys(saved[0], crashing)
    assert dropped == [] and kept.retired == (ring.active,)
    crashing.swaps_left = None
    rotate_master_key(saved[0], crashing, save=saved.append, resume=True)
    kept, dropped = forget_retired_keys(saved[0], crashing)
    assert dropped == [ring.active.key_id] and kept.retired == ()


def test_reencrypt_draws_new_data_keys_without_registering_plaintexts(
    ring: KeyRing, store: MemorySealedSecretStore, vault: Vault
) -> None:
    values = fill(vault, 15)
    before = {s.ref: s.blob for s in store.iter_sealed(after=None, limit=100)}
    registered = registered_count()
    report = reencrypt_all(ring, store, batch_size=4)
    assert registered_count() == registered
    assert report.scanned == report.changed == 15 and report.complete
    for item in store.iter_sealed(after=None, limit=100):
        assert parse(item.blob).ciphertext != parse(before[item.ref]).ciphertext
        assert parse(item.blob).wrapped_key != parse(before[item.ref]).wrapped_key
    assert_all_open(ring, store, values)


def test_reencrypt_resumes_after_a_crash(ring: KeyRing) -> None:
    store = CrashingStore()
    values = fill(Vault(ring, store), 20)
    checkpoints: list[SecretRef | None] = []
    store.swaps_left = 12
    with pytest.raises(Crash):
        reencrypt_all(ring, store, batch_size=5, progress=lambda r: checkpoints.append(r.last_ref))
    store.swaps_left = None
    report = reencrypt_all(ring, store, start_after=checkpoints[-1])
    assert report.scanned == 10
    assert_all_open(ring, store, values)


def test_rotation_with_the_key_file_end_to_end() -> None:
    settings = Settings()
    ring = create_master_key(settings)
    store = MemorySealedSecretStore()
    values = fill(Vault(ring, store), 8)
    new_ring, report = rotate_master_key(
        load_keyring(settings), store, save=lambda r: save_keyring(settings, r)
    )
    assert report.complete
    reloaded = load_keyring(settings)
    assert reloaded.active == new_ring.active and reloaded.retired == (ring.active,)
    assert_all_open(reloaded, store, values)
    assert count_sealed(store) == 8
    assert {key_id_of(s.blob) for s in store.iter_sealed(after=None, limit=100)} == {
        reloaded.active.key_id
    }


@pytest.mark.parametrize("delete", [False, True])
def test_rotation_over_a_store_without_batch_swaps(ring: KeyRing, delete: bool) -> None:
    store = SingleSwapStore()
    values = fill(Vault(ring, store), 12)
    target = refs(12)[3]
    racing = RacingStore(ring, target, delete=delete)
    for item in store.iter_sealed(after=None, limit=100):
        racing.put_sealed(item.ref, item.blob)
    racing.replace_sealed_many = None  # type: ignore[assignment]
    rings = []
    for candidate in (store, racing):
        new_ring, report = rotate_master_key(ring, candidate, save=lambda r: None, batch_size=5)
        assert report.complete and report.scanned == 12
        assert set(keys_in_use(candidate)) == {new_ring.active.key_id}
        rings.append(new_ring)
    assert_all_open(rings[0], store, values)
    if delete:
        assert racing.get_sealed(target) is None
    else:
        assert Vault(KeyRing(new_ring.active), racing).get_secret(target) == "CANARY-newer"


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=25),
    crashes=st.lists(st.integers(min_value=0, max_value=30), max_size=3),
    batch=st.integers(min_value=1, max_value=8),
    writes=st.lists(st.tuples(st.integers(0, 30), st.booleans()), max_size=6),
)
def test_any_sequence_of_crashes_and_writes_ends_readable(
    n: int, crashes: list[int], batch: int, writes: list[tuple[int, bool]]
) -> None:
    ring = KeyRing(MasterKey.generate())
    store = CrashingStore()
    expected = fill(Vault(ring, store), n)
    saved = [ring]
    for attempt, swaps in enumerate([*crashes, None]):
        # Between two runs, a workstation with any ring seen so far writes or deletes.
        for i, delete in writes[attempt::3]:
            ref = SecretRef("identities", f"{i:05d}", "password")
            if delete:
                store.delete_sealed(ref)
                expected.pop(ref, None)
            else:
                expected[ref] = f"CANARY-w{attempt}-{i}"
                Vault(saved[i % len(saved)], store).put_secret(ref, expected[ref])
        store.swaps_left = swaps
        try:
            rotate_master_key(
                saved[-1], store, save=saved.append, resume=attempt > 0, batch_size=batch
            )
        except Crash:
            continue
    final = saved[-1]
    assert len(saved) == 2  # one new key, whatever the number of runs
    assert set(keys_in_use(store)) <= {final.active.key_id}
    assert_all_open(KeyRing(final.active), store, expected)
