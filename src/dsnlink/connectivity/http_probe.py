"""The HTTP layer of the connection test (httpx, asynchronous), with the connection settings.

The one place of the connection test that imports httpx: every httpx error is translated here
into the ``NetworkError`` subtree. A 407 raised while opening the proxy tunnel is the proxy's;
a 407 answered inside the tunnel is the portal's ("request judged dangerous").
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx

from dsnlink import __version__
from dsnlink.connectivity.probes import never_resolves
from dsnlink.connectivity.settings import ResolvedConnection
from dsnlink.errors import (
    ConnectError,
    DnsError,
    NetworkError,
    NetworkTimeout,
    ProtocolError,
    ProxyAuthRequired,
    ProxyError,
    TlsError,
)

USER_AGENT = f"Client-DSN (dsnlink/{__version__}; dsnlink)"
MAX_BODY_BYTES = 4 * 1024 * 1024


def async_client(
    connection: ResolvedConnection, url: str, *, timeout: float | None = None
) -> httpx.AsyncClient:
    """An httpx client that goes to ``url`` exactly as the settings say (proxy, TLS, timeouts)."""
    route = connection.proxy_for(url)
    proxy: httpx.Proxy | None = None
    if route is not None:
        auth = None
        if route.login:
            secret = route.password.get_secret_value() if route.password else ""
            auth = (route.login, secret)
        proxy = httpx.Proxy(
            route.url, auth=auth, ssl_context=connection.ssl_context() if route.tls else None
        )
    connect = timeout or connection.connect_timeout
    return httpx.AsyncClient(
        proxy=proxy,
        verify=connection.ssl_context(),
        trust_env=False,  # the "system" type is resolved by the settings, not by httpx
        timeout=httpx.Timeout(
            connect=connect, read=timeout or connection.read_timeout, write=connect, pool=connect
        ),
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"},
        follow_redirects=False,
    )


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    reason: str
    server: str | None
    elapsed: float
    body: bytes = b""

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ProtocolError("La réponse n'est pas du JSON lisible.") from exc


def translate(exc: httpx.HTTPError, url: str) -> NetworkError:
    """An httpx error as the project's error (``raise translate(exc, url) from exc``)."""
    host = httpx.URL(url).host
    text = str(exc)
    if isinstance(exc, httpx.ProxyError):
        if "407" in text:
            return ProxyAuthRequired(host=host, status=407)
        return ProxyError(f"Le proxy n'a pas ouvert la connexion vers {host} ({text}).", host=host)
    if isinstance(exc, httpx.TimeoutException):
        return NetworkTimeout(f"{host} n'a pas répondu à temps.", host=host)
    cause: BaseException | None = exc.__cause__ or exc.__context__
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return DnsError(f"Le nom « {host} » n'a pas pu être résolu.", host=host)
        if isinstance(cause, ssl.SSLError):
            return TlsError(f"Négociation TLS avec {host} impossible ({cause}).", host=host)
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        if "Name or service not known" in text or "nodename nor servname" in text:
            return DnsError(f"Le nom « {host} » n'a pas pu être résolu.", host=host)
        if "SSL" in text or "CERTIFICATE" in text.upper():
            return TlsError(f"Négociation TLS avec {host} impossible.", host=host)
        return ConnectError(f"La connexion à {host} a échoué ({text}).", host=host)
    return ConnectError(f"Échange HTTP avec {host} interrompu ({type(exc).__name__}).", host=host)


async def get(
    connection: ResolvedConnection,
    url: str,
    *,
    timeout: float | None = None,
    read_body: bool = False,
) -> HttpAnswer:
    """GET ``url``; any HTTP answer is returned (a 404 still proves the server answers)."""
    host = httpx.URL(url).host
    if never_resolves(host) and connection.proxy_for(url) is None:
        raise DnsError(f"Le nom « {host} » ne peut pas exister (domaine réservé .invalid).")
    started = time.perf_counter()
    try:
        async with (
            async_client(connection, url, timeout=timeout) as client,
            client.stream("GET", url) as response,
        ):
            body = b""
            if read_body:
                chunks = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        raise ProtocolError(f"La réponse de {host} est trop volumineuse.")
                    chunks.append(chunk)
                body = b"".join(chunks)
            return HttpAnswer(
                status=response.status_code,
                reason=response.reason_phrase,
                server=response.headers.get("server"),
                elapsed=time.perf_counter() - started,
                body=body,
            )
    except httpx.HTTPError as exc:
        raise translate(exc, url) from exc
