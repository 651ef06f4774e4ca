"""Sealing and opening: round trips, tampering, moved blobs, wrong keys, the blob format."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsnlink.errors import DecryptionFailed
from dsnlink.redaction import redact_text
from dsnlink.vault.blob import MAGIC, NONCE_BYTES, parse
from dsnlink.vault.envelope import Vault, open_with, reencrypt, rewrap, seal_with
from dsnlink.vault.keys import KeyRing, MasterKey
from dsnlink.vault.memory import MemorySealedSecretStore
from dsnlink.vault.protocols import SecretRef

REF = SecretRef("identities", "42", "password")

# Sealed once with format version 1 and committed: every later version must still open it.
GOLDEN_KEY = MasterKey(bytes(range(32)))
GOLDEN_PLAINTEXT = "Mot-de-passe-Été-2026"
GOLDEN_BLOB = bytes.fromhex(
    "44534e5601010861343038396331395fc39db49b98cc4597f936bdf6f088fdad2163e950de41f2ef586edf644e"
    "27bffd5d87de9d1e15f5d7ad46d2d393e0051eb09024cac1296541223a286236e527bbe5243f631bd92c1eca71"
    "fd1b0c07fe2cfa1c843239e5ff4cca7e3199fd2475438dc9ceb36060a4fe0d02bda2f15e"
)


def test_golden_vector_still_opens() -> None:
    assert GOLDEN_KEY.key_id == "a4089c19"
    plaintext = open_with(KeyRing(GOLDEN_KEY), REF, GOLDEN_BLOB)
    assert plaintext.decode() == GOLDEN_PLAINTEXT


def test_blob_layout() -> None:
    key = MasterKey.generate()
    blob = seal_with(key, REF, b"secret-value")
    assert blob.startswith(MAGIC + b"\x01\x01\x08" + key.key_id.encode())
    env = parse(blob)
    assert env.key_id == key.key_id
    assert len(env.wrap_nonce) == len(env.data_nonce) == NONCE_BYTES
    assert len(env.wrapped_key) == 48
    assert len(env.ciphertext) == len(b"secret-value") + 16
    assert env.to_bytes() == blob
    assert "secret" not in repr(env)


def test_vault_round_trip(vault: Vault, store: MemorySealedSecretStore) -> None:
    vault.put_secret(REF, "CANARY-s3cr3t-round-trip")
    assert vault.get_secret(REF) == "CANARY-s3cr3t-round-trip"
    assert b"CANARY" not in (store.get_sealed(REF) or b"")
    vault.delete_secret(REF)
    assert vault.get_secret(REF) is None


def test_get_of_a_missing_secret_is_none(vault: Vault) -> None:
    assert vault.get_secret(SecretRef("identities", "404", "password")) is None


def test_same_plaintext_seals_differently_each_time(vault: Vault) -> None:
    assert vault.seal(REF, b"same") != vault.seal(REF, b"same")


def test_ten_thousand_seals_use_ten_thousand_distinct_nonces(vault: Vault) -> None:
    wrap_nonces: set[bytes] = set()
    data_nonces: set[bytes] = set()
    for _ in range(10_000):
        env = parse(vault.seal(REF, b"x"))
        wrap_nonces.add(env.wrap_nonce)
        data_nonces.add(env.data_nonce)
    assert len(wrap_nonces) == len(data_nonces) == 10_000


def test_every_flipped_bit_fails(vault: Vault) -> None:
    blob = vault.seal(REF, b"tamper-me")
    for i in range(len(blob)):
        for bit in (0, 3, 7):
            tampered = bytearray(blob)
            tampered[i] ^= 1 << bit
            with pytest.raises(DecryptionFailed):
                vault.open(REF, bytes(tampered))


def test_truncated_or_extended_blobs_fail(vault: Vault) -> None:
    blob = vault.seal(REF, b"truncate-me")
    for size in range(len(blob)):
        with pytest.raises(DecryptionFailed):
            vault.open(REF, blob[:size])
    with pytest.raises(DecryptionFailed):
        vault.open(REF, blob + b"\x00")


@pytest.mark.parametrize(
    "other",
    [
        SecretRef("identities", "43", "password"),  # another user's row
        SecretRef("identities", "42", "token"),  # another field of the same row
        SecretRef("proxies", "42", "password"),  # another table
        SecretRef("identities", "42:password", ""),  # same concatenation, other split
    ],
)
def test_a_moved_blob_does_not_open(vault: Vault, other: SecretRef) -> None:
    blob = vault.seal(REF, b"CANARY-moved")
    with pytest.raises(DecryptionFailed) as info:
        vault.open(other, blob)
    assert "CANARY" not in str(info.value) and "CANARY" not in repr(info.value.to_dict())


def test_a_blob_moved_in_the_store_does_not_open(
    vault: Vault, store: MemorySealedSecretStore
) -> None:
    vault.put_secret(REF, "CANARY-row-42")
    other = SecretRef("identities", "43", "password")
    store.put_sealed(other, store.get_sealed(REF) or b"")
    with pytest.raises(DecryptionFailed):
        vault.get_secret(other)


def test_wrong_key_fails(store: MemorySealedSecretStore) -> None:
    blob = seal_with(MasterKey.generate(), REF, b"x")
    with pytest.raises(DecryptionFailed) as info:
        Vault(KeyRing(MasterKey.generate()), store).open(REF, blob)
    assert info.value.context["key_id"] == parse(blob).key_id
    assert "inconnue" in info.value.message


def test_a_forged_key_id_fails(ring: KeyRing) -> None:
    # Same key bytes reached under another id: the id is authenticated by the wrap.
    blob = seal_with(ring.active, REF, b"x")
    impostor = MasterKey.generate()
    forged = blob.replace(ring.active.key_id.encode(), impostor.key_id.encode(), 1)
    with pytest.raises(DecryptionFailed):
        open_with(KeyRing(impostor, (ring.active,)), REF, forged)


@pytest.mark.parametrize(
    "blob", [b"", b"DSNV", b"XXXX\x01\x01\x08abcdefgh" + b"\x00" * 100, b"\x00" * 200]
)
def test_garbage_is_a_clear_error(vault: Vault, blob: bytes) -> None:
    with pytest.raises(DecryptionFailed):
        vault.open(REF, blob)


def test_a_future_format_version_asks_for_an_update(vault: Vault) -> None:
    blob = bytearray(vault.seal(REF, b"x"))
    blob[4] = 2
    with pytest.raises(DecryptionFailed) as info:
        vault.open(REF, bytes(blob))
    assert "mettez dsnlink à jour" in str(info.value).lower()


def test_rewrap_keeps_the_ciphertext_and_changes_the_key(ring: KeyRing) -> None:
    blob = seal_with(ring.active, REF, b"rewrap-me")
    assert rewrap(ring, REF, blob) is None  # already under the active key
    new_ring = ring.rotated(MasterKey.generate())
    rewrapped = rewrap(new_ring, REF, blob)
    assert rewrapped is not None
    before, after = parse(blob), parse(rewrapped)
    assert after.key_id == new_ring.active.key_id
    assert after.ciphertext == before.ciphertext and after.data_nonce == before.data_nonce
    assert open_with(KeyRing(new_ring.active), REF, rewrapped) == b"rewrap-me"


def test_reencrypt_changes_everything_but_the_plaintext(ring: KeyRing) -> None:
    blob = seal_with(ring.active, REF, b"reencrypt-me")
    again = reencrypt(ring, REF, blob)
    assert parse(again).ciphertext != parse(blob).ciphertext
    assert open_with(ring, REF, again) == b"reencrypt-me"


def test_opened_secrets_are_registered_for_redaction(vault: Vault) -> None:
    blob = vault.seal(REF, b"CANARY-s3cr3t-opened-7f3a")
    line = "failed with CANARY-s3cr3t-opened-7f3a"
    vault.open(REF, blob)
    assert "CANARY" not in redact_text(line)


def test_vault_repr_shows_no_key_material(vault: Vault, ring: KeyRing) -> None:
    text = repr(vault) + str(vault) + repr(ring) + repr(ring.active)
    assert ring.active.key_id in text
    assert ring.active.encoded() not in text
    assert ring.active.material.hex() not in text
    assert repr(ring.active.material) not in text


@settings(max_examples=100, deadline=None)
@given(
    plaintext=st.binary(max_size=2048),
    table=st.text(min_size=1, max_size=20),
    row_id=st.text(max_size=20),
    field=st.text(max_size=20),
)
def test_hypothesis_round_trip(plaintext: bytes, table: str, row_id: str, field: str) -> None:
    ring = KeyRing(GOLDEN_KEY)
    ref = SecretRef(table, row_id, field)
    blob = seal_with(ring.active, ref, plaintext)
    assert open_with(ring, ref, blob) == plaintext
    if len(plaintext) >= 8:
        assert plaintext not in blob


@settings(max_examples=50, deadline=None)
@given(tail=st.text(max_size=200))
def test_hypothesis_text_secrets_round_trip(tail: str) -> None:
    # A distinctive head: opened secrets join the process-wide redaction registry.
    value = "HypVault-" + tail
    vault = Vault(KeyRing(GOLDEN_KEY), MemorySealedSecretStore())
    vault.put_secret(REF, value)
    assert vault.get_secret(REF) == value
