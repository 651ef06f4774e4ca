"""Net-entreprises identities, tokens, and the process-wide record of credential failures.

A failed login counts towards locking the person's own portal account. So once the portal has
refused a set of credentials, this process never sends them again: every later attempt, from
any client, thread or task, gets the same typed error at once, without a request. The record is
keyed by a fingerprint (an HMAC of SIRET, nom, prénom and password under a key drawn at process
start), so it never holds the password and cannot be used to guess it. Changing any of the four
values (a corrected password) gives a new fingerprint, hence a new attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from dsnlink.errors import CredentialError, InvalidInput
from dsnlink.redaction import register_secret

# Field limits checked by the portal (a 422 otherwise): checked here before any call.
_LIMITS = {"siret": (14, 14), "nom": (1, 64), "prenom": (1, 39), "motdepasse": (1, 30)}
_FINGERPRINT_KEY = secrets.token_bytes(32)


@dataclass(frozen=True, slots=True)
class PortalIdentity:
    """The four values of a Net-entreprises account, sent exactly as given."""

    siret: str
    nom: str
    prenom: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        register_secret(self.password)
        values = {
            "siret": self.siret,
            "nom": self.nom,
            "prenom": self.prenom,
            "motdepasse": self.password,
        }
        for name, (low, high) in _LIMITS.items():
            if not low <= len(values[name]) <= high:
                label = "le mot de passe" if name == "motdepasse" else f"le champ {name}"
                raise InvalidInput(
                    f"Identifiants Net-entreprises : {label} doit compter de {low} à {high} "
                    "caractères.",
                    remedy="Corrigez l'identité Net-entreprises avant toute connexion.",
                    field=name,
                )

    @property
    def fingerprint(self) -> str:
        material = "\x1f".join((self.siret, self.nom, self.prenom, self.password))
        return hmac.new(_FINGERPRINT_KEY, material.encode("utf-8"), hashlib.sha256).hexdigest()

    @property
    def label(self) -> str:
        """Who this is, for messages and logs (never the password)."""
        return f"{self.siret} {self.nom} {self.prenom}"


class Token:
    """An opaque portal token, kept in memory only; ``str`` and ``repr`` never show it."""

    __slots__ = ("fingerprint", "obtained_at", "value")

    def __init__(self, value: str, fingerprint: str, obtained_at: float | None = None) -> None:
        register_secret(value)
        self.value = value
        self.fingerprint = fingerprint
        self.obtained_at = time.monotonic() if obtained_at is None else obtained_at

    def __repr__(self) -> str:
        return "Token(***)"

    __str__ = __repr__


class CredentialFailures:
    """Credential failures by identity fingerprint; shared by every client of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, CredentialError] = {}

    def record(self, fingerprint: str, error: CredentialError) -> None:
        with self._lock:
            self._failures.setdefault(fingerprint, error)

    def check(self, fingerprint: str) -> None:
        """Raise the recorded error again (a fresh copy) if these credentials failed before."""
        with self._lock:
            error = self._failures.get(fingerprint)
        if error is not None:
            context = {**error.context, "already_refused": True}
            raise type(error)(error.message, remedy=error.remedy, **context)

    def failed(self, fingerprint: str) -> bool:
        with self._lock:
            return fingerprint in self._failures

    def forget(self, identity: PortalIdentity) -> None:
        """Allow one new attempt with these exact credentials.

        Only for a person's explicit action (say, "I unlocked my account on the portal, try
        again"); never called by automatic code.
        """
        with self._lock:
            self._failures.pop(identity.fingerprint, None)

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._failures.clear()


#: The one record of this process.
credential_failures = CredentialFailures()
