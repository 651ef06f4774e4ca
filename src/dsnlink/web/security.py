"""Browser-facing defences applied to every answer and every state-changing request.

CSRF is stopped without tokens: a state-changing request (anything but GET, HEAD, OPTIONS)
is refused when the browser says it comes from another site (``Sec-Fetch-Site`` other than
``same-origin``) or when its ``Origin`` is not this server's. Browsers send at least one of
the two on every such request; scripts (curl, httpx) send neither and hold no victim's cookie.
Every answer carries a Content-Security-Policy without inline scripts and refusing framing.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dsnlink.errors import CrossSiteRequest

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    # same-origin, not no-referrer: with no-referrer, browsers send "Origin: null" on form
    # posts, which the CSRF check must refuse.
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


def cross_site_reason(method: str, headers: Headers, scheme: str) -> str | None:
    """Why a request must be refused as cross-site, or None when it may proceed."""
    if method.upper() in SAFE_METHODS:
        return None
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin":
        return f"sec-fetch-site={fetch_site}"
    origin = headers.get("origin")
    if origin is not None:
        host = headers.get("host", "")
        if origin == "null" or origin.rstrip("/") != f"{scheme}://{host}":
            return "origin"
    return None


class SecurityMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): refuses cross-site changes, adds the headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        reason = cross_site_reason(scope["method"], headers, scope.get("scheme", "http"))
        if reason is not None:
            await self._refuse(scope, receive, send, reason)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                present = {name.lower() for name, _ in raw}
                raw.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if scope["path"].startswith(("/api/", "/connexion", "/comptes")):
                    raw.append((b"cache-control", b"no-store"))
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, reason: str) -> None:
        from fastapi.responses import JSONResponse

        from dsnlink.web.errors import error_body
        from dsnlink.web.errors import log as web_log

        web_log.warning("cross_site_refused", path=scope["path"], reason=reason)
        exc = CrossSiteRequest()
        body = error_body(exc.code, exc.message, {"remedy": exc.remedy})
        response = JSONResponse(
            body, status_code=403, headers={k.decode(): v.decode() for k, v in SECURITY_HEADERS}
        )
        await response(scope, receive, send)
