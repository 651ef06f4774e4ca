"""Net-entreprises accounts of the simulator: credentials, services, expiry, lockout.

The portal never says which of SIRET, nom, prénom or password is wrong; neither does this.
Consecutive failures of an existing account lock it (403 from then on, even with the right
password) until it is unlocked through the control API, like the real portal's "Mot de passe
oublié ?" path.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dsnlink.errors import NotFound
from dsnlink.simulator.config import AccountSpec
from dsnlink.simulator.store import Row, Store

#: GIP-MDS's public mock: a declarant (services 97/94, plus the production codes here) and a
#: concentrator (service 98).
DEFAULT_ACCOUNTS = (
    AccountSpec.model_validate(
        {
            "siret": "99900000300015",
            "nom": "declarant",
            "prenom": "declarant",
            "password": "Refonte01",
            "services": ["25", "26", "97", "94"],
        }
    ),
    AccountSpec.model_validate(
        {
            "siret": "18751249600022",
            "nom": "CTR2000",
            "prenom": "concentrateur",
            "password": "azerty",
            "services": ["98"],
        }
    ),
)

CONCENTRATOR_SERVICE = "98"
# The simulator's accounts are fake; a few PBKDF2 rounds keep a salted hash out of reach of a
# casual look at the state file without slowing the benchmarks down.
_ROUNDS = 1000


class AuthOutcome(enum.Enum):
    OK = "ok"
    WRONG_CREDENTIALS = "wrong_credentials"
    SERVICE_NOT_REGISTERED = "service_not_registered"
    PASSWORD_EXPIRED = "password_expired"  # noqa: S105 - an outcome, not a password
    LOCKED = "locked"


@dataclass(frozen=True)
class Identity:
    siret: str
    nom: str
    prenom: str

    def label(self) -> str:
        return f"{self.siret}/{self.nom}/{self.prenom}"


@dataclass(frozen=True)
class Account:
    identity: Identity
    services: tuple[str, ...]
    dsn_registered: bool
    password_expires_at: datetime | None
    employers: tuple[str, ...]
    max_failures: int | None
    failures: int
    locked: bool

    @property
    def concentrator(self) -> bool:
        return CONCENTRATOR_SERVICE in self.services

    def public(self) -> dict[str, object]:
        """What the control API shows (never the password)."""
        return {
            "siret": self.identity.siret,
            "nom": self.identity.nom,
            "prenom": self.identity.prenom,
            "services": list(self.services),
            "dsn_registered": self.dsn_registered,
            "password_expires_at": (
                self.password_expires_at.isoformat() if self.password_expires_at else None
            ),
            "employers": list(self.employers),
            "failures": self.failures,
            "locked": self.locked,
        }


def _hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), _ROUNDS).hex()
    return f"{salt}${digest}"


def _check_password(password: str, stored: str) -> bool:
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(_hash_password(password, salt), stored)


class Accounts:
    def __init__(self, store: Store, default_max_failures: int) -> None:
        self._store = store
        self.default_max_failures = default_max_failures

    def put(self, spec: AccountSpec) -> Account:
        """Create or replace an account (its failure count and lock are reset)."""
        expires = spec.password_expires_at
        self._store.execute(
            "INSERT OR REPLACE INTO accounts (siret, nom, prenom, password_hash, services, "
            "dsn_registered, password_expires_at, employers, max_failures, failures, locked) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)",
            (
                spec.siret,
                spec.nom,
                spec.prenom,
                _hash_password(spec.password.get_secret_value()),
                json.dumps(spec.services),
                int(spec.dsn_registered),
                _epoch(expires) if expires else None,
                json.dumps(spec.employers),
                spec.max_failures,
            ),
        )
        return self.get(Identity(spec.siret, spec.nom, spec.prenom))

    def ensure(self, spec: AccountSpec) -> None:
        """Create the account unless it exists (a restart keeps its lock and failures)."""
        if self.find(Identity(spec.siret, spec.nom, spec.prenom)) is None:
            self.put(spec)

    def find(self, identity: Identity) -> Account | None:
        row = self._store.one(
            "SELECT * FROM accounts WHERE siret = ? AND nom = ? AND prenom = ?",
            (identity.siret, identity.nom, identity.prenom),
        )
        return None if row is None else _account(row)

    def get(self, identity: Identity) -> Account:
        account = self.find(identity)
        if account is None:
            raise NotFound("Ce compte n'existe pas dans le simulateur.", account=identity.label())
        return account

    def list(self) -> list[Account]:
        return [_account(r) for r in self._store.all("SELECT * FROM accounts ORDER BY siret")]

    def update(self, identity: Identity, **changes: object) -> Account:
        """Change services, dsn_registered, password_expires_at, employers, locked."""
        self.get(identity)
        columns: dict[str, Callable[[Any], object]] = {
            "services": _json_list,
            "employers": _json_list,
            "dsn_registered": int,
            "locked": int,
            "password_expires_at": lambda v: _epoch(v) if v else None,
        }
        for name, value in changes.items():
            if name not in columns:
                raise NotFound(f"Attribut de compte inconnu : {name}.", attribute=name)
            self._store.execute(
                f"UPDATE accounts SET {name} = ? WHERE siret = ? AND nom = ? AND prenom = ?",  # noqa: S608 - name checked above
                (columns[name](value), identity.siret, identity.nom, identity.prenom),
            )
            if name == "locked" and not value:
                self._set_failures(identity, 0)
        return self.get(identity)

    def authenticate(
        self, identity: Identity, password: str, service: str, now: datetime
    ) -> tuple[AuthOutcome, Account | None]:
        account = self.find(identity)
        if account is None:
            return AuthOutcome.WRONG_CREDENTIALS, None
        if account.locked:
            return AuthOutcome.LOCKED, account
        stored = self._store.one(
            "SELECT password_hash FROM accounts WHERE siret = ? AND nom = ? AND prenom = ?",
            (identity.siret, identity.nom, identity.prenom),
        )
        assert stored is not None
        if not _check_password(password, str(stored["password_hash"])):
            failures = account.failures + 1
            limit = account.max_failures or self.default_max_failures
            self._set_failures(identity, failures, locked=failures >= limit)
            return AuthOutcome.WRONG_CREDENTIALS, self.get(identity)
        self._set_failures(identity, 0)
        if account.password_expires_at is not None and now >= account.password_expires_at:
            return AuthOutcome.PASSWORD_EXPIRED, account
        if service not in account.services:
            return AuthOutcome.SERVICE_NOT_REGISTERED, account
        return AuthOutcome.OK, account

    def _set_failures(self, identity: Identity, failures: int, *, locked: bool = False) -> None:
        self._store.execute(
            "UPDATE accounts SET failures = ?, locked = MAX(locked, ?) "
            "WHERE siret = ? AND nom = ? AND prenom = ?",
            (failures, int(locked), identity.siret, identity.nom, identity.prenom),
        )


def _json_list(values: Any) -> str:
    return json.dumps(list(values))


def _epoch(instant: datetime) -> float:
    aware = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return aware.timestamp()


def _account(row: Row) -> Account:
    expires = row["password_expires_at"]
    return Account(
        identity=Identity(row["siret"], row["nom"], row["prenom"]),
        services=tuple(json.loads(row["services"])),
        dsn_registered=bool(row["dsn_registered"]),
        password_expires_at=datetime.fromtimestamp(expires, UTC) if expires else None,
        employers=tuple(json.loads(row["employers"])),
        max_failures=row["max_failures"],
        failures=int(row["failures"]),
        locked=bool(row["locked"]),
    )
