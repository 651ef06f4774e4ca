"""A stand-in for the vault's seal/open, for account tests only (not encryption).

It does keep the value out of the blob and binds the blob to its SecretRef, so that tests of
the accounts can see a moved blob refused and a canary absent from the stored bytes.
"""

from __future__ import annotations

import hashlib
import hmac

from dsnlink.errors import DecryptionFailed
from dsnlink.vault.protocols import SecretRef

_KEY = b"fake-sealer-key-for-tests"


class FakeSealer:
    def _stream(self, ref: SecretRef, n: int) -> bytes:
        out = b""
        counter = 0
        while len(out) < n:
            out += hashlib.sha256(_KEY + ref.associated_data() + bytes([counter])).digest()
            counter += 1
        return out[:n]

    def seal(self, ref: SecretRef, value: str) -> bytes:
        data = value.encode()
        body = bytes(a ^ b for a, b in zip(data, self._stream(ref, len(data)), strict=True))
        tag = hmac.new(_KEY, ref.associated_data() + body, hashlib.sha256).digest()[:16]
        return b"FAKE" + tag + body

    def open(self, ref: SecretRef, blob: bytes) -> str:
        tag, body = blob[4:20], blob[20:]
        if not hmac.compare_digest(
            tag, hmac.new(_KEY, ref.associated_data() + body, hashlib.sha256).digest()[:16]
        ):
            raise DecryptionFailed(table=ref.table, row=ref.row_id, field=ref.field)
        return bytes(
            a ^ b for a, b in zip(body, self._stream(ref, len(body)), strict=True)
        ).decode()
