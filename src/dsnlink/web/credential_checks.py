"""Credentials typed on the Net-entreprises tab: tested before they are saved, never twice.

The sheet tests the values typed *before* « Enregistrer ». Each test with typed values makes
at most one authentication attempt; when the portal refuses those exact values, their keyed
fingerprint (HMAC under a key drawn at start-up, never the values) is remembered so that
clicking « Tester la connexion » again without changing anything makes no second attempt
(repeated failures lock the Net-entreprises account). Values that passed are remembered too,
so that saving them records the identity as verified.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict

#: Fingerprints kept (oldest forgotten first); a few per user is plenty.
MAX_REMEMBERED = 10_000


class CredentialMemory:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._seen: OrderedDict[str, bool] = OrderedDict()
        self._lock = threading.Lock()

    def fingerprint(self, owner: str, siret: str, nom: str, prenom: str, password: str) -> str:
        message = "\x00".join((owner, siret, nom, prenom, password)).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def remember(self, fingerprint: str, *, accepted: bool) -> None:
        with self._lock:
            self._seen[fingerprint] = accepted
            self._seen.move_to_end(fingerprint)
            while len(self._seen) > MAX_REMEMBERED:
                self._seen.popitem(last=False)

    def verdict(self, fingerprint: str) -> bool | None:
        """True: accepted; False: refused by the portal; None: never tried."""
        with self._lock:
            return self._seen.get(fingerprint)
