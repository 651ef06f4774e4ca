"""The decisions both clients share: tokens, logins, and what to do with each answer.

No I/O here. The sync and async drivers (``client.py``, ``async_client.py``) hold the locks and
send the requests; this core says what to send and reads what came back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from dsnlink.errors import CredentialError
from dsnlink.logs import get_logger
from dsnlink.portal.answers import AUTHENTICATE, error_for, read_token
from dsnlink.portal.endpoints import Endpoints, endpoints_from_settings
from dsnlink.portal.identity import (
    CredentialFailures,
    PortalIdentity,
    Token,
    credential_failures,
)
from dsnlink.portal.wire import Answer, PortalRequest, base_headers
from dsnlink.settings import Settings, get_settings

log = get_logger("dsnlink.portal")


@dataclass(frozen=True, slots=True)
class ClientConfig:
    endpoints: Endpoints
    token_reuse_seconds: float = 1800.0
    window_minutes: int = 60
    timezone: str = "Europe/Paris"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def config_from_settings(settings: Settings | None = None) -> ClientConfig:
    s = settings or get_settings()
    return ClientConfig(
        endpoints=endpoints_from_settings(s),
        token_reuse_seconds=float(s.portal_token_reuse_seconds),
        window_minutes=s.portal_window_minutes,
        timezone=s.portal_timezone,
    )


def auth_body(identity: PortalIdentity, service_code: str) -> bytes:
    # No XML declaration; values escaped, sent exactly as typed.
    fields = (
        ("siret", identity.siret),
        ("nom", identity.nom),
        ("prenom", identity.prenom),
        ("motdepasse", identity.password),
        ("service", service_code),
    )
    inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields)
    return f"<identifiants>{inner}</identifiants>".encode()


class PortalCore:
    """Token cache and login logic of one client (tokens never leave process memory)."""

    def __init__(self, config: ClientConfig, failures: CredentialFailures | None = None) -> None:
        self.config = config
        self.failures = failures or credential_failures
        self._lock = threading.Lock()
        self._tokens: dict[str, Token] = {}
        # The identity behind each token, to log in again once after a token-expired 401.
        self._identities: dict[str, PortalIdentity] = {}
        #: Authentication requests sent by this client (observability, tests).
        self.auth_requests = 0

    # --- authentication -------------------------------------------------------------------

    def cached(self, identity: PortalIdentity) -> Token | None:
        """The reusable token of this identity; raises at once if its credentials failed."""
        self.failures.check(identity.fingerprint)
        with self._lock:
            token = self._tokens.get(identity.fingerprint)
        if token and time.monotonic() - token.obtained_at < self.config.token_reuse_seconds:
            return token
        return None

    def auth_request(self, identity: PortalIdentity) -> PortalRequest:
        self.failures.check(identity.fingerprint)
        with self._lock:
            self.auth_requests += 1
            self._identities[identity.fingerprint] = identity
        headers = {**base_headers(), "Content-Type": "application/xml"}
        body = auth_body(identity, self.config.endpoints.service_code)
        return PortalRequest("POST", self.config.endpoints.auth_url, headers, body, AUTHENTICATE)

    def auth_answer(self, identity: PortalIdentity, answer: Answer) -> Token:
        if answer.status != 200:
            error = error_for(answer, call=AUTHENTICATE)
            if isinstance(error, CredentialError):
                self.failures.record(identity.fingerprint, error)
                log.warning("portal_credentials_refused", who=identity.label, code=error.code)
            raise error
        token = Token(read_token(answer), identity.fingerprint)
        with self._lock:
            self._tokens[identity.fingerprint] = token
        log.info("portal_authenticated", who=identity.label)
        return token

    # --- business calls -------------------------------------------------------------------

    def latest(self, token: Token) -> Token:
        """A newer token of the same identity if one replaced this one, else this one."""
        with self._lock:
            current = self._tokens.get(token.fingerprint)
        if current is not None and current.obtained_at > token.obtained_at:
            return current
        return token

    def identity_for(self, token: Token) -> PortalIdentity | None:
        with self._lock:
            return self._identities.get(token.fingerprint)

    def drop(self, token: Token) -> None:
        """Forget a token the portal rejected (unless a newer one already replaced it)."""
        with self._lock:
            if self._tokens.get(token.fingerprint) is token:
                del self._tokens[token.fingerprint]

    def business_credential_failure(self, token: Token, error: CredentialError) -> None:
        """A business call named a credential problem (realm): no login with these again."""
        self.failures.record(token.fingerprint, error)
        self.drop(token)
