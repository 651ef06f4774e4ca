"""Reading the portal's error answers: status and headers to the right typed error.

The portal's error answers have no body (except the deposit's ARE), so the status, the realm
of ``WWW-Authenticate`` and ``Accept-Ranges`` are all there is to go on.
"""

from __future__ import annotations

import unicodedata

from dsnlink.errors import (
    AccountLocked,
    BadRequest,
    CredentialError,
    NotRegisteredForDsn,
    PasswordExpired,
    PortalError,
    PortalNotFound,
    ProtocolError,
    ProxyError,
    RateLimited,
    RequestRefused,
    ServiceUnavailable,
    TokenRejected,
    WindowTooWide,
    WrongCredentials,
)
from dsnlink.portal.wire import Answer, allowed_minutes, realm_of, retry_after_seconds

AUTHENTICATE = "authenticate"


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _realm_error(realm: str | None, call: str) -> CredentialError | None:
    """The credential error a realm names, if it names one."""
    plain = _plain(realm or "")
    if "expiration" in plain or "expire" in plain:
        return PasswordExpired(call=call, status=401, realm=realm)
    if "inscrit" in plain:
        return NotRegisteredForDsn(call=call, status=401, realm=realm)
    return None


def error_for(answer: Answer, *, call: str, data_404: bool = False) -> PortalError:
    """The typed error for a non-success answer.

    ``data_404``: on this call a 404 means "no such flow or return", not "service down".
    """
    status = answer.status
    realm = realm_of(answer)
    if status == 401:
        named = _realm_error(realm, call)
        if named is not None:
            return named
        if call == AUTHENTICATE:
            return WrongCredentials(call=call, status=status)
        return TokenRejected(call=call, status=status, realm=realm)
    if status == 403:
        if call == AUTHENTICATE:
            return AccountLocked(call=call, status=status)
        return RequestRefused(
            "Net-entreprises refuse l'accès à cette opération (403).", call=call, status=status
        )
    if status == 407:
        # A proxy's 407 carries Proxy-Authenticate (RFC 9110); the portal's "dangerous request"
        # 407 does not.
        if answer.header("proxy-authenticate") is not None:
            return ProxyError(
                "Le proxy demande une authentification (407) : identifiant ou mot de passe du "
                "proxy manquant ou refusé.",
                call=call,
                status=status,
                proxy_status="407",
                may_have_arrived=False,
            )
        return RequestRefused(call=call, status=status)
    if status in (400, 422):
        return BadRequest(call=call, status=status)
    if status == 429:
        # On a window listing a 429 means "window too wide" only when it says which window is
        # allowed (Accept-Ranges); without that hint it is rate limiting, as on any other call:
        # wait (Retry-After when given) and ask again, never shrink the window for it.
        allowed = allowed_minutes(answer)
        if allowed is not None and call.startswith("list_") and call != "list_flow_returns":
            remedy = f"Demandez une période de {allowed} minutes au plus."
            return WindowTooWide(remedy=remedy, call=call, status=status, allowed_minutes=allowed)
        return RateLimited(
            call=call, status=status, retry_after_seconds=retry_after_seconds(answer)
        )
    if status == 404:
        if data_404:
            return PortalNotFound(call=call, status=status)
        return ServiceUnavailable(call=call, status=status)
    if status >= 500:
        return ServiceUnavailable(call=call, status=status)
    return ProtocolError(
        f"Net-entreprises a renvoyé une réponse inattendue (HTTP {status}).",
        call=call,
        status=status,
    )


#: The longest ``Retry-After`` a call waits out in place; a longer one is left to the caller
#: (the pipeline comes back to it at its next round, the Retry-After past).
MAX_WAIT_IN_PLACE = 30.0


def retry_wait(exc: Exception) -> bool | float:
    """stamina's backoff hook: whether to try again, and after how long when the portal said
    (a 429's ``Retry-After``); True lets stamina's backoff decide."""
    if not is_retryable(exc):
        return False
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return float(exc.retry_after) if exc.retry_after <= MAX_WAIT_IN_PLACE else False
    return True


def is_retryable(exc: Exception) -> bool:
    """Whether an idempotent call may be sent again: 5xx and network errors, never credentials."""
    if not isinstance(exc, PortalError) or isinstance(exc, CredentialError):
        return False
    if not exc.retryable:
        return False
    status = exc.context.get("status")
    return not (isinstance(status, int) and 400 <= status < 500 and status != 429)


def read_token(answer: Answer) -> str:
    """The token of a 200 authentication answer: the whole body, opaque."""
    try:
        token = answer.body.decode("ascii").strip()
    except UnicodeDecodeError:
        token = ""
    if not token or any(c.isspace() for c in token):
        raise ProtocolError(
            "Net-entreprises a accepté la connexion mais n'a pas renvoyé de jeton lisible.",
            call=AUTHENTICATE,
            status=answer.status,
        )
    return token
