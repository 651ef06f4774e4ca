"""The sealed blob: a versioned binary layout, parsed strictly.

Format version 1 (all integers unsigned, big-endian)::

    offset  size  field
    0       4     magic b"DSNV"
    4       1     format version (1)
    5       1     algorithm (1 = AES-256-GCM data key, wrapped by AES-256-GCM master key)
    6       1     n = length of the master key id
    7       n     master key id (ASCII hex)
    7+n     12    nonce of the key wrap
    19+n    48    wrapped data key (32 bytes + 16-byte GCM tag)
    67+n    12    nonce of the data
    79+n    ≥16   ciphertext of the secret + 16-byte GCM tag

Associated data (authenticated, not stored): the wrap binds the prefix up to the key id and the
:class:`~dsnlink.vault.protocols.SecretRef`; the data binds magic, version, algorithm and the
``SecretRef``. So a rotation may change the key id and the wrapped key without touching the
ciphertext, and a blob moved to another row or field does not open.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsnlink.errors import DecryptionFailed

MAGIC = b"DSNV"
FORMAT_VERSION = 1
ALG_AES256GCM_WRAPPED = 1
NONCE_BYTES = 12
TAG_BYTES = 16
DATA_KEY_BYTES = 32
WRAPPED_KEY_BYTES = DATA_KEY_BYTES + TAG_BYTES


@dataclass(frozen=True, repr=False)
class Envelope:
    key_id: str
    wrap_nonce: bytes
    wrapped_key: bytes
    data_nonce: bytes
    ciphertext: bytes
    version: int = FORMAT_VERSION
    algorithm: int = ALG_AES256GCM_WRAPPED

    def wrap_header(self) -> bytes:
        """The blob's prefix up to the key id: authenticated by the key wrap."""
        key_id = self.key_id.encode("ascii")
        return MAGIC + bytes((self.version, self.algorithm, len(key_id))) + key_id

    def data_header(self) -> bytes:
        """What the data encryption authenticates besides the ref (not the key id: rotation)."""
        return MAGIC + bytes((self.version, self.algorithm))

    def to_bytes(self) -> bytes:
        return (
            self.wrap_header()
            + self.wrap_nonce
            + self.wrapped_key
            + self.data_nonce
            + self.ciphertext
        )

    def __repr__(self) -> str:
        size = len(self.to_bytes())
        return f"Envelope(key_id={self.key_id!r}, version={self.version}, size={size})"


def parse(blob: bytes) -> Envelope:
    """Split ``blob`` into its fields; anything malformed is :class:`DecryptionFailed`."""
    blob = bytes(blob)
    if blob[:4] != MAGIC:
        raise _malformed("not a dsnlink sealed blob")
    if len(blob) < 7:
        raise _malformed("truncated header")
    version, algorithm, id_len = blob[4], blob[5], blob[6]
    if version != FORMAT_VERSION or algorithm != ALG_AES256GCM_WRAPPED:
        raise DecryptionFailed(
            "Ce secret a été chiffré dans un format que cette version de dsnlink ne connaît pas.",
            remedy="Mettez dsnlink à jour sur ce poste.",
            format_version=version,
            algorithm=algorithm,
        )
    pos = 7
    key_id_raw = blob[pos : pos + id_len]
    pos += id_len
    wrap_nonce = blob[pos : pos + NONCE_BYTES]
    pos += NONCE_BYTES
    wrapped_key = blob[pos : pos + WRAPPED_KEY_BYTES]
    pos += WRAPPED_KEY_BYTES
    data_nonce = blob[pos : pos + NONCE_BYTES]
    pos += NONCE_BYTES
    ciphertext = blob[pos:]
    if len(ciphertext) < TAG_BYTES or id_len == 0:
        raise _malformed("truncated blob")
    try:
        key_id = key_id_raw.decode("ascii")
    except UnicodeDecodeError:
        raise _malformed("key id is not ASCII") from None
    return Envelope(key_id, wrap_nonce, wrapped_key, data_nonce, ciphertext, version, algorithm)


def _malformed(reason: str) -> DecryptionFailed:
    return DecryptionFailed(
        "Un secret chiffré est endommagé et ne peut pas être lu.",
        remedy="Saisissez ce secret à nouveau, ou restaurez une sauvegarde de la base.",
        reason=reason,
    )
