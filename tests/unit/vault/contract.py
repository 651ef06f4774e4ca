"""The contract every :class:`~dsnlink.vault.protocols.SealedSecretStore` must pass.

Subclass :class:`SealedSecretStoreContract` (or :class:`BatchSealedSecretStoreContract` for a
store with ``replace_sealed_many``) and provide a ``store`` fixture returning an empty
store; pytest collects the inherited tests (the base class itself is not collected: its name
does not start with ``Test``). Used for the in-memory fake and the SQL stores.
"""

from __future__ import annotations

import random

import pytest

from dsnlink.vault.protocols import SealedSecret, SealedSecretStore, SecretRef, can_swap_many


def ref(row_id: str, field: str = "password", table: str = "identities") -> SecretRef:
    return SecretRef(table, row_id, field)


# Orders that differ between Python's code point order and common SQL collations: case,
# digits as text, punctuation, accents. A store must follow SecretRef order (code points).
AWKWARD_REFS = [
    SecretRef("identities", "10", "password"),
    SecretRef("identities", "9", "password"),
    SecretRef("identities", "B", "password"),
    SecretRef("identities", "a", "password"),
    SecretRef("identities", "a", "Password"),
    SecretRef("identities", "a-b", "password"),
    SecretRef("identities", "a_b", "password"),
    SecretRef("identities", "ab", "password"),
    SecretRef("identities", "é", "password"),
    SecretRef("identities", "z", "password"),
    SecretRef("identities2", "1", "password"),
    SecretRef("Identities", "1", "password"),
    SecretRef("settings", "proxy", "password"),
]


class SealedSecretStoreContract:
    @pytest.fixture
    def store(self) -> SealedSecretStore:
        raise NotImplementedError("subclasses provide an empty store")

    def test_get_of_a_missing_ref_is_none(self, store: SealedSecretStore) -> None:
        assert store.get_sealed(ref("1")) is None

    def test_put_then_get_returns_the_same_bytes(self, store: SealedSecretStore) -> None:
        blob = bytes(range(256)) * 4 + b"\x00\x00"
        store.put_sealed(ref("1"), blob)
        got = store.get_sealed(ref("1"))
        assert isinstance(got, bytes)
        assert got == blob

    def test_a_large_blob_round_trips(self, store: SealedSecretStore) -> None:
        blob = random.Random(7).randbytes(64 * 1024)
        store.put_sealed(ref("big"), blob)
        assert store.get_sealed(ref("big")) == blob

    def test_put_replaces_and_refs_are_independent(self, store: SealedSecretStore) -> None:
        store.put_sealed(ref("1"), b"one")
        store.put_sealed(ref("1", "token"), b"token")
        store.put_sealed(ref("1", table="proxies"), b"proxy")
        store.put_sealed(ref("1"), b"uno")
        assert store.get_sealed(ref("1")) == b"uno"
        assert store.get_sealed(ref("1", "token")) == b"token"
        assert store.get_sealed(ref("1", table="proxies")) == b"proxy"
        assert len(store.iter_sealed(after=None, limit=10)) == 3

    def test_delete_removes_only_that_ref(self, store: SealedSecretStore) -> None:
        store.put_sealed(ref("1"), b"one")
        store.put_sealed(ref("2"), b"two")
        store.delete_sealed(ref("1"))
        assert store.get_sealed(ref("1")) is None
        assert store.get_sealed(ref("2")) == b"two"
        store.delete_sealed(ref("1"))  # deleting a missing ref is a no-op
        store.delete_sealed(ref("never"))
        assert [s.ref for s in store.iter_sealed(after=None, limit=10)] == [ref("2")]

    def test_iter_sealed_of_an_empty_store(self, store: SealedSecretStore) -> None:
        assert store.iter_sealed(after=None, limit=10) == []
        assert store.iter_sealed(after=ref("x"), limit=10) == []

    def test_iter_sealed_follows_secret_ref_order(self, store: SealedSecretStore) -> None:
        shuffled = list(AWKWARD_REFS)
        random.Random(3).shuffle(shuffled)
        for i, r in enumerate(shuffled):
            store.put_sealed(r, f"blob-{i}".encode())
        got = store.iter_sealed(after=None, limit=len(AWKWARD_REFS) + 5)
        assert [s.ref for s in got] == sorted(AWKWARD_REFS)
        assert all(isinstance(s, SealedSecret) and isinstance(s.blob, bytes) for s in got)
        assert {s.ref: s.blob for s in got} == {
            r: f"blob-{i}".encode() for i, r in enumerate(shuffled)
        }

    def test_batched_walk_is_complete_ordered_and_resumable(self, store: SealedSecretStore) -> None:
        refs = [ref(f"{n:03d}", field) for n in range(40) for field in ("password", "token")]
        for r in reversed(refs):
            store.put_sealed(r, r.row_id.encode())
        seen: list[SecretRef] = []
        after: SecretRef | None = None
        while batch := store.iter_sealed(after=after, limit=7):
            assert len(batch) <= 7
            seen.extend(s.ref for s in batch)
            after = batch[-1].ref
        assert seen == sorted(refs)
        # Resuming strictly after any ref, even one that no longer exists, continues there.
        store.delete_sealed(ref("010", "password"))
        rest = store.iter_sealed(after=ref("010", "password"), limit=3)
        assert [s.ref for s in rest] == [
            ref("010", "token"),
            ref("011", "password"),
            ref("011", "token"),
        ]

    def test_iter_sealed_after_a_ref_between_stored_ones(self, store: SealedSecretStore) -> None:
        for r in AWKWARD_REFS:
            store.put_sealed(r, b"x")
        ordered = sorted(AWKWARD_REFS)
        for i, r in enumerate(ordered):
            got = store.iter_sealed(after=r, limit=100)
            assert [s.ref for s in got] == ordered[i + 1 :]

    def test_iter_sealed_respects_the_limit(self, store: SealedSecretStore) -> None:
        for n in range(5):
            store.put_sealed(ref(str(n)), b"x")
        assert len(store.iter_sealed(after=None, limit=2)) == 2
        assert len(store.iter_sealed(after=None, limit=1)) == 1

    def test_replace_sealed_swaps_only_when_the_old_blob_matches(
        self, store: SealedSecretStore
    ) -> None:
        store.put_sealed(ref("1"), b"v1")
        assert store.replace_sealed(ref("1"), b"v1", b"v2") is True
        assert store.get_sealed(ref("1")) == b"v2"
        assert store.replace_sealed(ref("1"), b"v1", b"v3") is False
        assert store.get_sealed(ref("1")) == b"v2"

    def test_replace_sealed_of_a_missing_ref_stores_nothing(self, store: SealedSecretStore) -> None:
        assert store.replace_sealed(ref("ghost"), b"v1", b"v2") is False
        assert store.get_sealed(ref("ghost")) is None

    def test_replace_sealed_touches_only_its_ref(self, store: SealedSecretStore) -> None:
        store.put_sealed(ref("1"), b"same")
        store.put_sealed(ref("2"), b"same")
        assert store.replace_sealed(ref("1"), b"same", b"new")
        assert store.get_sealed(ref("2")) == b"same"


class BatchSealedSecretStoreContract(SealedSecretStoreContract):
    """For stores that also offer ``replace_sealed_many`` (one transaction per batch)."""

    def test_replace_sealed_many_swaps_each_matching_blob(self, store: SealedSecretStore) -> None:
        assert can_swap_many(store)
        for n in range(4):
            store.put_sealed(ref(str(n)), f"v{n}".encode())
        results = store.replace_sealed_many(
            [
                (ref("0"), b"v0", b"w0"),
                (ref("1"), b"stale", b"w1"),  # changed by someone else: not swapped
                (ref("2"), b"v2", b"w2"),
                (ref("ghost"), b"v", b"w"),  # missing: not created
            ]
        )
        assert results == [True, False, True, False]
        assert [store.get_sealed(ref(str(n))) for n in range(4)] == [b"w0", b"v1", b"w2", b"v3"]
        assert store.get_sealed(ref("ghost")) is None
        assert store.replace_sealed_many([]) == []
