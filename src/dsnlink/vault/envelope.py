"""Envelope encryption of secrets, and the :class:`Vault` the rest of dsnlink uses.

Each secret gets its own random 256-bit data key; the data key encrypts the secret with
AES-256-GCM and is itself encrypted ("wrapped") by the active master key. Rotating the master
key only rewraps the small data keys (:func:`rewrap`); :func:`reencrypt` also draws new data
keys. Nonces are random 96-bit values: a data key encrypts exactly one message, and the master
key wraps far fewer than the 2³² messages GCM allows per key with random nonces.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dsnlink.errors import DecryptionFailed
from dsnlink.redaction import register_secret
from dsnlink.vault.blob import DATA_KEY_BYTES, NONCE_BYTES, Envelope, parse
from dsnlink.vault.keys import KeyRing, MasterKey
from dsnlink.vault.protocols import SealedSecretStore, SecretRef


def _wrap(key: MasterKey, ref: SecretRef, data_key: bytes, header: Envelope) -> tuple[bytes, bytes]:
    nonce = os.urandom(NONCE_BYTES)
    aad = header.wrap_header() + ref.associated_data()
    return nonce, AESGCM(key.material).encrypt(nonce, data_key, aad)


def _unwrap(ring: KeyRing, ref: SecretRef, env: Envelope) -> bytes:
    key = ring.get(env.key_id)
    if key is None:
        raise DecryptionFailed(
            f"Ce secret a été chiffré avec une clé maîtresse inconnue ici (id {env.key_id}).",
            remedy=(
                "Restaurez la clé maîtresse qui avait servi (export « dsnlink vault export-key » "
                "fait avant le changement de clé), ou saisissez ce secret à nouveau."
            ),
            key_id=env.key_id,
            **_ref_context(ref),
        )
    try:
        return AESGCM(key.material).decrypt(
            env.wrap_nonce, env.wrapped_key, env.wrap_header() + ref.associated_data()
        )
    except InvalidTag:
        raise _not_authentic(ref, env) from None


def _not_authentic(ref: SecretRef, env: Envelope) -> DecryptionFailed:
    return DecryptionFailed(
        "Un secret chiffré n'a pas pu être déchiffré : il a été modifié, ou déplacé depuis une "
        "autre ligne de la base.",
        remedy="Saisissez ce secret à nouveau, ou restaurez une sauvegarde de la base.",
        key_id=env.key_id,
        **_ref_context(ref),
    )


def _ref_context(ref: SecretRef) -> dict[str, str]:
    return {"table": ref.table, "row_id": ref.row_id, "field": ref.field}


def seal_with(key: MasterKey, ref: SecretRef, plaintext: bytes) -> bytes:
    """Encrypt ``plaintext`` for ``ref`` under a new data key wrapped by ``key``."""
    data_key = AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)
    header = Envelope(key.key_id, b"", b"", b"", b"")
    wrap_nonce, wrapped = _wrap(key, ref, data_key, header)
    data_nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(
        data_nonce, plaintext, header.data_header() + ref.associated_data()
    )
    return Envelope(key.key_id, wrap_nonce, wrapped, data_nonce, ciphertext).to_bytes()


def open_with(ring: KeyRing, ref: SecretRef, blob: bytes) -> bytes:
    """Decrypt ``blob`` for ``ref``. Does not register the plaintext with the redaction."""
    env = parse(blob)
    data_key = _unwrap(ring, ref, env)
    try:
        return AESGCM(data_key).decrypt(
            env.data_nonce, env.ciphertext, env.data_header() + ref.associated_data()
        )
    except InvalidTag:
        raise _not_authentic(ref, env) from None


def key_id_of(blob: bytes) -> str:
    """The id of the master key that wraps ``blob``'s data key (no decryption)."""
    return parse(blob).key_id


def rewrap(ring: KeyRing, ref: SecretRef, blob: bytes) -> bytes | None:
    """``blob`` with its data key wrapped by the active key; None if it already is.

    The ciphertext is kept as is: only 48 bytes are re-encrypted, whatever the secret's size.
    """
    env = parse(blob)
    if env.key_id == ring.active.key_id:
        return None
    data_key = _unwrap(ring, ref, env)
    header = Envelope(ring.active.key_id, b"", b"", b"", b"", env.version, env.algorithm)
    wrap_nonce, wrapped = _wrap(ring.active, ref, data_key, header)
    return Envelope(
        ring.active.key_id, wrap_nonce, wrapped, env.data_nonce, env.ciphertext
    ).to_bytes()


def reencrypt(ring: KeyRing, ref: SecretRef, blob: bytes) -> bytes:
    """``blob`` decrypted and sealed again under a new data key and the active master key."""
    return seal_with(ring.active, ref, open_with(ring, ref, blob))


class Vault:
    """Seals and opens secrets for the rows of the store. Built by :func:`open_vault`."""

    __slots__ = ("_keyring", "_store")

    def __init__(self, keyring: KeyRing, store: SealedSecretStore) -> None:
        self._keyring = keyring
        self._store = store

    @property
    def keyring(self) -> KeyRing:
        return self._keyring

    @property
    def store(self) -> SealedSecretStore:
        return self._store

    def seal(self, ref: SecretRef, plaintext: bytes) -> bytes:
        return seal_with(self._keyring.active, ref, plaintext)

    def open(self, ref: SecretRef, blob: bytes) -> bytes:
        plaintext = open_with(self._keyring, ref, blob)
        try:
            register_secret(plaintext.decode("utf-8"))
        except UnicodeDecodeError:
            register_secret(plaintext.decode("latin-1"))
        return plaintext

    def put_secret(self, ref: SecretRef, value: str) -> None:
        register_secret(value)
        self._store.put_sealed(ref, self.seal(ref, value.encode("utf-8")))

    def get_secret(self, ref: SecretRef) -> str | None:
        blob = self._store.get_sealed(ref)
        if blob is None:
            return None
        plaintext = self.open(ref, blob)
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionFailed(
                "Un secret déchiffré n'est pas du texte.", **_ref_context(ref)
            ) from None

    def delete_secret(self, ref: SecretRef) -> None:
        self._store.delete_sealed(ref)

    def __repr__(self) -> str:
        return f"Vault(keyring={self._keyring!r}, store={type(self._store).__name__})"
