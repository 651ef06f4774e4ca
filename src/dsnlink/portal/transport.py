"""The HTTP adapter: the only module of dsnlink that imports httpx.

It builds clients from :class:`TransportOptions` (proxy, system proxy settings, CA bundle,
timeouts, TLS floor and strictness), sends :class:`~dsnlink.portal.wire.PortalRequest` values
and hands back :class:`~dsnlink.portal.wire.Answer` values, and translates every httpx error
into the ``NetworkError`` subtree of :mod:`dsnlink.errors`. Each translated error says in
``context["may_have_arrived"]`` whether the server may have received the request: that is what
makes a deposit's fate unknown.

Options and TLS contexts are in :mod:`dsnlink.portal.options` (re-exported here).
"""

from __future__ import annotations

import socket
import ssl
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from dsnlink.errors import (
    ConfigurationError,
    ConnectError,
    ConnectionLost,
    DnsError,
    NetworkError,
    NetworkTimeout,
    ProtocolError,
    ProxyError,
    TlsError,
)
from dsnlink.portal.direct import DirectSession, is_direct
from dsnlink.portal.options import (
    ETENDU,
    NORMAL,
    PRESETS,
    SECURISE,
    ConnectionMode,
    TransportOptions,
    options_from_settings,
    ssl_context,
)
from dsnlink.portal.wire import Answer, PortalRequest

__all__ = [
    "ETENDU",
    "NORMAL",
    "PRESETS",
    "SECURISE",
    "AsyncHttpSession",
    "ConnectionMode",
    "HttpSession",
    "TransportOptions",
    "build_async_client",
    "build_client",
    "goes_through_proxy",
    "options_from_settings",
    "ssl_context",
    "translate_error",
]

# Requests are written as headers then body; without TCP_NODELAY, Nagle's algorithm can hold
# the body until the server's delayed ACK (tens of milliseconds per deposit).
_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def _client_kwargs(options: TransportOptions) -> dict[str, object]:
    return {
        "timeout": httpx.Timeout(
            connect=options.connect_timeout,
            read=options.read_timeout,
            write=options.write_timeout,
            pool=options.pool_timeout,
        ),
        "limits": httpx.Limits(
            max_connections=options.max_connections,
            max_keepalive_connections=options.max_connections,
        ),
        "follow_redirects": False,
    }


def build_client(
    options: TransportOptions, *, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """A sync httpx client; ``transport`` replaces the network (``httpx.MockTransport``)."""
    if transport is None:
        transport = httpx.HTTPTransport(
            verify=ssl_context(options),
            retries=options.connect_retries,
            proxy=options.proxy_url,
            trust_env=options.trust_env,
            socket_options=_SOCKET_OPTIONS,
        )
    return httpx.Client(transport=transport, trust_env=options.trust_env, **_client_kwargs(options))  # type: ignore[arg-type]


def build_async_client(
    options: TransportOptions, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An async httpx client; ``transport`` replaces the network (``httpx.MockTransport``)."""
    if transport is None:
        transport = httpx.AsyncHTTPTransport(
            verify=ssl_context(options),
            retries=options.connect_retries,
            proxy=options.proxy_url,
            trust_env=options.trust_env,
            socket_options=_SOCKET_OPTIONS,
        )
    return httpx.AsyncClient(
        transport=transport,
        trust_env=options.trust_env,
        **_client_kwargs(options),  # type: ignore[arg-type]
    )


def goes_through_proxy(options: TransportOptions, url: str) -> bool:
    if options.proxy_url:
        return True
    if not options.trust_env:
        return False
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if parts.scheme not in proxies and "all" not in proxies:
        return False
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    return not bypass(parts.hostname or "")


# --- error translation ----------------------------------------------------------------------

_DNS_HINTS = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo",
    "temporary failure in name resolution",
    "no address associated",
    "name resolution",
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def translate_error(exc: httpx.HTTPError, *, via_proxy: bool, call: str = "") -> NetworkError:
    """The dsnlink error for an httpx error. Never includes the URL's credentials or headers."""
    chain = list(_chain(exc))
    text = " ".join(str(e) for e in chain).lower()
    # Errors once the request may have (partly) left: the server may have received it.
    arrived = isinstance(
        exc,
        httpx.ReadTimeout
        | httpx.WriteTimeout
        | httpx.ReadError
        | httpx.WriteError
        | httpx.RemoteProtocolError,
    )
    ctx: dict[str, Any] = {
        "call": call,
        "may_have_arrived": arrived,
        "detail": type(exc).__name__,
    }
    if isinstance(exc, httpx.ProxyError):
        status = "407" if "407" in text else None
        msg = (
            "Le proxy demande une authentification (407) : identifiant ou mot de passe du proxy "
            "manquant ou refusé."
            if status
            else None
        )
        return ProxyError(msg, proxy_status=status, **ctx)
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connect",
            httpx.ReadTimeout: "read",
            httpx.WriteTimeout: "write",
            httpx.PoolTimeout: "pool",
        }.get(type(exc), "unknown")
        if via_proxy and phase == "connect":
            return ProxyError("Le proxy ne répond pas.", **ctx)
        return NetworkTimeout(phase=phase, **ctx)
    if isinstance(exc, httpx.ConnectError):
        if (
            any(isinstance(e, ssl.SSLError) for e in chain)
            or "certificate" in text
            or ("ssl" in text and "handshake" in text)
        ):
            return TlsError(**ctx)
        if via_proxy:
            return ProxyError(**ctx)
        if any(isinstance(e, socket.gaierror) for e in chain) or any(h in text for h in _DNS_HINTS):
            return DnsError(**ctx)
        return ConnectError(**ctx)
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return ConnectionLost(**ctx)
    return NetworkError(**ctx)


def _protocol_error(exc: httpx.HTTPError, call: str) -> ProtocolError:
    return ProtocolError(
        "La réponse de Net-entreprises est illisible (compression ou format).",
        call=call,
        detail=type(exc).__name__,
    )


def _translate(exc: httpx.HTTPError, via_proxy: bool, call: str) -> Exception:
    if isinstance(exc, httpx.DecodingError | httpx.TooManyRedirects):
        return _protocol_error(exc, call)
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return ConfigurationError(
            "Une adresse Net-entreprises configurée est invalide.",
            remedy="Vérifiez les paramètres DSNLINK_PORTAL_*.",
            call=call,
        )
    return translate_error(exc, via_proxy=via_proxy, call=call)


def _answer(response: httpx.Response, body: bytes, via_proxy: bool) -> Answer:
    headers = {k.lower(): v for k, v in response.headers.items()}
    return Answer(status=response.status_code, headers=headers, body=body, via_proxy=via_proxy)


@dataclass(slots=True)
class StreamedAnswer:
    """An answer whose body is still arriving: ``chunks`` yields it (decoded)."""

    status: int
    headers: dict[str, str]
    chunks: Iterator[bytes]
    via_proxy: bool


@dataclass(slots=True)
class AsyncStreamedAnswer:
    status: int
    headers: dict[str, str]
    chunks: AsyncIterator[bytes]
    via_proxy: bool


class HttpSession:
    """Sends portal requests over sync httpx clients: one per request in flight.

    One client means one connection pool, whose lock httpcore takes for its bookkeeping on
    every request and every response: a dozen worker threads queue on it (a quarter of their
    time in ``bench/pipeline.py``). Here a request takes an idle client from a stack (or makes
    one) and puts it back after: never more clients than requests ever in flight at once, and
    each keeps its connections alive for the next request.
    """

    def __init__(
        self,
        factory: Callable[[], httpx.Client],
        options: TransportOptions,
        *,
        direct: bool = False,
    ) -> None:
        self._factory = factory
        self._idle: list[httpx.Client] = []
        self._every: list[httpx.Client] = []
        self.options = options
        # Complete requests without a proxy skip httpx (``direct`` is False when a test
        # replaces the network with an httpx transport).
        self._direct = DirectSession(options) if direct and is_direct(options) else None

    @contextmanager
    def _client(self) -> Iterator[httpx.Client]:
        try:
            client = self._idle.pop()  # atomic: no lock for threads to queue on
        except IndexError:
            client = self._factory()
            self._every.append(client)
        try:
            yield client
        finally:
            self._idle.append(client)

    def send(self, req: PortalRequest) -> Answer:
        if self._direct is not None:
            return self._direct.send(req)
        via_proxy = goes_through_proxy(self.options, req.url)
        try:
            with self._client() as client:
                response = client.request(
                    req.method, req.url, headers=dict(req.headers), content=req.content or None
                )
                return _answer(response, response.content, via_proxy)
        except httpx.HTTPError as exc:
            raise _translate(exc, via_proxy, req.call) from exc

    @contextmanager
    def stream(self, req: PortalRequest) -> Iterator[StreamedAnswer]:
        via_proxy = goes_through_proxy(self.options, req.url)
        try:
            with (
                self._client() as client,
                client.stream(req.method, req.url, headers=dict(req.headers)) as response,
            ):
                headers = {k.lower(): v for k, v in response.headers.items()}
                yield StreamedAnswer(
                    response.status_code, headers, response.iter_bytes(), via_proxy
                )
        except httpx.HTTPError as exc:
            raise _translate(exc, via_proxy, req.call) from exc

    def close(self) -> None:
        if self._direct is not None:
            self._direct.close()
        self._idle.clear()
        while self._every:
            self._every.pop().close()


class AsyncHttpSession:
    """Sends portal requests over one async httpx client (connection pool)."""

    def __init__(self, client: httpx.AsyncClient, options: TransportOptions) -> None:
        self._client = client
        self.options = options

    async def send(self, req: PortalRequest) -> Answer:
        via_proxy = goes_through_proxy(self.options, req.url)
        try:
            response = await self._client.request(
                req.method, req.url, headers=dict(req.headers), content=req.content or None
            )
            return _answer(response, response.content, via_proxy)
        except httpx.HTTPError as exc:
            raise _translate(exc, via_proxy, req.call) from exc

    @asynccontextmanager
    async def stream(self, req: PortalRequest) -> AsyncIterator[AsyncStreamedAnswer]:
        via_proxy = goes_through_proxy(self.options, req.url)
        try:
            async with self._client.stream(
                req.method, req.url, headers=dict(req.headers)
            ) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                yield AsyncStreamedAnswer(
                    response.status_code, headers, response.aiter_bytes(), via_proxy
                )
        except httpx.HTTPError as exc:
            raise _translate(exc, via_proxy, req.call) from exc

    async def aclose(self) -> None:
        await self._client.aclose()
