"""Session tokens: opaque base64 strings of a few hundred characters, with a lifetime.

Only a SHA-256 of each token is stored. The ``Authorization`` header forms of the API-DSN are
parsed here: ``DSNLogin jeton=<t>``,
``DSNLogin concentrateur=<t>,declarant=<b64(siret;nom;prenom)>`` and
``DSNLogin concentrateur=<t>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from dsnlink.simulator.accounts import Identity
from dsnlink.simulator.store import Store

_HEADER = re.compile(r"^\s*DSNLogin\s+(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Credentials:
    """What a business call's ``Authorization`` header says."""

    token: str
    concentrator: bool
    declarant: Identity | None


@dataclass(frozen=True)
class Session:
    identity: Identity
    service: str
    expires_at: float


def parse_authorization(header: str | None) -> Credentials | None:
    if not header:
        return None
    match = _HEADER.match(header)
    if not match:
        return None
    fields: dict[str, str] = {}
    for part in match.group(1).split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or not value:
            return None
        fields[key.strip().lower()] = value.strip()
    if "jeton" in fields:
        return Credentials(fields["jeton"], concentrator=False, declarant=None)
    if "concentrateur" not in fields:
        return None
    declarant = None
    if "declarant" in fields:
        try:
            decoded = base64.b64decode(fields["declarant"], validate=True).decode("latin-1")
        except (binascii.Error, ValueError):
            return None
        parts = decoded.split(";")
        if len(parts) != 3 or len(parts[0]) != 14:
            return None
        declarant = Identity(*parts)
    return Credentials(fields["concentrateur"], concentrator=True, declarant=declarant)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class Tokens:
    def __init__(self, store: Store, ttl: timedelta) -> None:
        self._store = store
        self.ttl = ttl

    def issue(self, identity: Identity, service: str, now: datetime) -> str:
        # 192 random bytes: 256 base64 characters, like the platform's few-hundred-character ones.
        token = base64.b64encode(secrets.token_bytes(192)).decode("ascii")
        at = now.timestamp()
        self._store.execute(
            "INSERT INTO tokens (token_hash, siret, nom, prenom, service, issued_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                _digest(token),
                identity.siret,
                identity.nom,
                identity.prenom,
                service,
                at,
                at + self.ttl.total_seconds(),
            ),
        )
        return token

    def resolve(self, token: str, now: datetime) -> Session | None:
        """The live session of ``token``; None when unknown or expired."""
        row = self._store.one(
            "SELECT * FROM tokens WHERE token_hash = ? AND expires_at > ?",
            (_digest(token), now.timestamp()),
        )
        if row is None:
            return None
        return Session(
            Identity(row["siret"], row["nom"], row["prenom"]), row["service"], row["expires_at"]
        )

    def live_sessions(self, identity: Identity, now: datetime) -> int:
        row = self._store.one(
            "SELECT COUNT(*) AS n FROM tokens WHERE siret = ? AND nom = ? AND prenom = ? "
            "AND issued_at <= ? AND expires_at > ?",
            (identity.siret, identity.nom, identity.prenom, now.timestamp(), now.timestamp()),
        )
        return int(row["n"]) if row else 0

    def max_overlap(self) -> dict[str, int]:
        """Per identity, the most sessions that were alive at the same instant."""
        rows = self._store.all(
            "SELECT siret, nom, prenom, issued_at, expires_at FROM tokens ORDER BY issued_at"
        )
        events: dict[str, list[tuple[float, int]]] = {}
        for r in rows:
            key = Identity(r["siret"], r["nom"], r["prenom"]).label()
            events.setdefault(key, []).extend([(r["issued_at"], 1), (r["expires_at"], -1)])
        result: dict[str, int] = {}
        for key, marks in events.items():
            current = peak = 0
            # An expiry at the same instant as an issue ends first.
            for _, delta in sorted(marks, key=lambda m: (m[0], m[1])):
                current += delta
                peak = max(peak, current)
            result[key] = peak
        return result
