"""Credentials typed on the Net-entreprises tab: tested before they are saved, never twice.

The sheet tests the values typed *before* « Enregistrer ». Each test with typed values makes
at most one authentication attempt; when the portal refuses those exact values, their keyed
fingerprint (HMAC, never the values) is remembered so that clicking « Tester la connexion »
again without changing anything makes no second attempt (repeated failures lock the
Net-entreprises account). Values that passed are remembered too, so that saving them records
the identity as verified.

The answers live in the database (``web_credential_checks``) so that every ``dsnlink serve``
process over it knows them; the HMAC key is drawn once and sealed in the vault, so the table
alone does not let anyone test guessed passwords. An answer is kept ``REMEMBER_FOR``: long
enough to stop a burst of clicks locking the account, short enough that values refused
because the portal's password was different are tried again once it has been changed there.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from dsnlink.store.database import Database
from dsnlink.store.sql_other import SqlSecretsRepo
from dsnlink.store.tables import web_credential_checks
from dsnlink.vault import SecretRef, Vault

REMEMBER_FOR = timedelta(hours=24)
KEY_REF = SecretRef("web_credential_checks", "hmac", "key")


def _now() -> datetime:
    return datetime.now(UTC)


class CredentialMemory:
    def __init__(
        self,
        db: Database,
        vault: Callable[[], Vault],
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._db = db
        self._vault = vault
        self._clock = clock
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _hmac_key(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = self._load_or_create_key()
            return self._key

    def _load_or_create_key(self) -> bytes:
        vault = self._vault()
        # Under the write lock: two processes starting together agree on one key.
        with self._db.write() as conn:
            repo = SqlSecretsRepo(conn, self._clock())
            blob = repo.get_sealed(KEY_REF)
            if blob is not None:
                return vault.open(KEY_REF, blob)
            key = secrets.token_bytes(32)
            repo.put_sealed(KEY_REF, vault.seal(KEY_REF, key))
            return key

    def fingerprint(self, owner: str, siret: str, nom: str, prenom: str, password: str) -> str:
        message = "\x00".join((owner, siret, nom, prenom, password)).encode("utf-8")
        return hmac.new(self._hmac_key(), message, hashlib.sha256).hexdigest()

    def remember(self, fingerprint: str, *, accepted: bool) -> None:
        now = self._clock()
        table = web_credential_checks
        with self._db.write("web_credential_checks") as conn:
            conn.execute(
                delete(table).where(
                    (table.c.fingerprint == fingerprint) | (table.c.checked_at < now - REMEMBER_FOR)
                )
            )
            conn.execute(
                table.insert().values(fingerprint=fingerprint, accepted=accepted, checked_at=now)
            )

    def verdict(self, fingerprint: str) -> bool | None:
        """True: accepted; False: refused by the portal; None: never tried (or long ago)."""
        table = web_credential_checks
        with self._db.read() as conn:
            accepted = conn.execute(
                select(table.c.accepted).where(
                    table.c.fingerprint == fingerprint,
                    table.c.checked_at >= self._clock() - REMEMBER_FOR,
                )
            ).scalar_one_or_none()
        return None if accepted is None else bool(accepted)
