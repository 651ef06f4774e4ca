"""Network probes, one layer at a time: DNS, TCP, proxy tunnel, TLS.

Each probe is bounded by a timeout and raises only the ``NetworkError`` subtree of
:mod:`dsnlink.errors`; the caller (a step of the connection test) turns that into a status and
a remedy. The HTTP layer is in :mod:`dsnlink.connectivity.http`.

Names under the special-use domain ``.invalid`` (RFC 6761) never resolve: they are answered
here, without asking any resolver, so a test or a misconfiguration never sends them off the
machine.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import re
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import certifi

from dsnlink.connectivity.settings import ProxyRoute
from dsnlink.errors import (
    ConnectError,
    DnsError,
    NetworkError,
    NetworkTimeout,
    ProxyAuthRequired,
    ProxyError,
    TlsError,
)

_MAX_HEADER_BYTES = 64 * 1024
_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL)


def never_resolves(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "invalid" or host.endswith(".invalid")


async def resolve(host: str, port: int, timeout: float) -> tuple[str, ...]:
    """The addresses of ``host``, in the resolver's order."""
    if never_resolves(host):
        raise DnsError(
            f"Le nom « {host} » ne peut pas exister (domaine réservé .invalid).",
            remedy="Corrigez l'adresse du serveur dans les paramètres.",
            host=host,
        )
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError as exc:
        raise NetworkTimeout(
            f"Le serveur DNS n'a pas répondu à temps pour « {host} ».",
            remedy="Vérifiez la connexion au réseau ; essayez le mode Étendu sur un réseau lent.",
            host=host,
        ) from exc
    except socket.gaierror as exc:
        raise DnsError(
            f"Le nom « {host} » n'a pas pu être résolu ({exc.strerror}).",
            remedy="Vérifiez l'adresse du serveur et la connexion Internet ; derrière un proxy, "
            "choisissez le type de connexion « proxy » ou « système ».",
            host=host,
        ) from exc
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return tuple(addresses)


@contextlib.asynccontextmanager
async def _translated(host: str, port: int, timeout: float, what: str) -> AsyncIterator[None]:
    """Library and OS errors of a connection, as the project's tree."""
    try:
        async with asyncio.timeout(timeout):
            yield
    except NetworkError:
        raise
    except TimeoutError as exc:
        raise NetworkTimeout(
            f"{what} : pas de réponse de {host}:{port} en {timeout:g} s.",
            host=host,
            port=port,
        ) from exc
    except ssl.SSLError as exc:
        raise TlsError(
            f"{what} : échec de la négociation TLS avec {host}:{port} ({exc.reason or exc}).",
            host=host,
            port=port,
        ) from exc
    except socket.gaierror as exc:
        raise DnsError(f"Le nom « {host} » n'a pas pu être résolu.", host=host) from exc
    except ConnectionRefusedError as exc:
        raise ConnectError(
            f"{what} : {host}:{port} refuse la connexion (aucun service sur ce port).",
            remedy="Vérifiez l'adresse et le port ; un pare-feu peut aussi bloquer la sortie.",
            host=host,
            port=port,
        ) from exc
    except (OSError, EOFError, asyncio.IncompleteReadError) as exc:
        raise ConnectError(
            f"{what} : la connexion à {host}:{port} a échoué ({type(exc).__name__}).",
            host=host,
            port=port,
        ) from exc


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


async def tcp_connect(host: str, port: int, timeout: float) -> str:
    """Open and close a TCP connection; returns the peer address."""
    if never_resolves(host):
        await resolve(host, port, timeout)
    async with _translated(host, port, timeout, "Connexion TCP"):
        _, writer = await asyncio.open_connection(host, port)
    peer = writer.get_extra_info("peername")
    await _close(writer)
    return str(peer[0]) if peer else host


@dataclass(frozen=True)
class TunnelAnswer:
    status: int
    reason: str


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, str, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > _MAX_HEADER_BYTES:
        raise ProxyError("Le proxy a renvoyé une réponse trop longue.")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProxyError("Le proxy a renvoyé une réponse qui n'est pas du HTTP.")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers


async def open_proxy(
    route: ProxyRoute, context: ssl.SSLContext, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the proxy itself (TLS when the proxy is configured so)."""
    async with _translated(route.host, route.port, timeout, "Connexion au proxy"):
        if never_resolves(route.host):
            await resolve(route.host, route.port, timeout)
        try:
            return await asyncio.open_connection(
                route.host,
                route.port,
                ssl=context if route.tls else None,
                server_hostname=route.host if route.tls else None,
            )
        except (ConnectionRefusedError, socket.gaierror) as exc:
            raise ProxyError(
                f"Le proxy {route.url} est injoignable ({type(exc).__name__}).",
                remedy="Vérifiez l'adresse et le port du proxy dans les paramètres de connexion.",
                proxy=route.url,
            ) from exc


def proxy_authorization(route: ProxyRoute) -> str | None:
    if not route.login:
        return None
    secret = route.password.get_secret_value() if route.password else ""
    token = base64.b64encode(f"{route.login}:{secret}".encode()).decode("ascii")
    return f"Basic {token}"


async def open_tunnel(
    route: ProxyRoute,
    host: str,
    port: int,
    *,
    proxy_context: ssl.SSLContext,
    timeout: float,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A CONNECT tunnel through ``route`` to ``host:port``, ready for TLS.

    A 407 here comes from the proxy (:class:`ProxyAuthRequired`); a 407 from the portal can only
    arrive later, inside the tunnel, as an ordinary HTTP answer.
    """
    reader, writer = await open_proxy(route, proxy_context, timeout)
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    auth = proxy_authorization(route)
    if auth:
        lines.append(f"Proxy-Authorization: {auth}")
    try:
        async with _translated(route.host, route.port, timeout, "Tunnel par le proxy"):
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            await writer.drain()
            status, reason, _headers = await _read_head(reader)
    except BaseException:
        await _close(writer)
        raise
    if status == 407:
        await _close(writer)
        if route.login:
            raise ProxyAuthRequired(
                f"Le proxy {route.url} refuse l'identifiant « {route.login} » (407).",
                remedy="Vérifiez l'identifiant et le mot de passe du proxy "
                "(« dsnlink connection set --proxy-login … »).",
                proxy=route.url,
                status=407,
            )
        raise ProxyAuthRequired(proxy=route.url, status=407)
    if not 200 <= status < 300:
        await _close(writer)
        raise ProxyError(
            f"Le proxy {route.url} refuse d'ouvrir la connexion vers {authority} "
            f"({status} {reason}).",
            remedy="Demandez à votre service informatique d'autoriser cette adresse sur le proxy.",
            proxy=route.url,
            status=status,
        )
    return reader, writer


@dataclass(frozen=True)
class TlsObservation:
    """What a TLS handshake showed."""

    verified: bool
    verify_message: str | None
    version: str | None = None
    cipher: str | None = None
    #: DER certificates, leaf first (verified chain when verified, else what the server sent).
    chain: tuple[bytes, ...] = field(default=(), repr=False)


def _chain(ssl_object: ssl.SSLObject | None, *, verified: bool) -> tuple[bytes, ...]:
    if ssl_object is None:
        return ()
    # Python 3.13 makes these public; 3.11 and 3.12 have them on the private object.
    inner = getattr(ssl_object, "_sslobj", ssl_object)
    getter = getattr(inner, "get_verified_chain" if verified else "get_unverified_chain", None)
    if getter is not None:
        with contextlib.suppress(Exception):
            return tuple(cert.public_bytes(2) for cert in getter())  # 2: ENCODING_DER
    leaf = ssl_object.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()


async def _handshake(
    host: str,
    port: int,
    context: ssl.SSLContext,
    *,
    route: ProxyRoute | None,
    proxy_context: ssl.SSLContext,
    timeout: float,
) -> TlsObservation:
    if route is None:
        reader, writer = await asyncio.open_connection(
            host, port, ssl=context, server_hostname=host, ssl_handshake_timeout=timeout
        )
    else:
        reader, writer = await open_tunnel(
            route, host, port, proxy_context=proxy_context, timeout=timeout
        )
        try:
            await writer.start_tls(context, server_hostname=host, ssl_handshake_timeout=timeout)
        except BaseException:
            await _close(writer)
            raise
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        cipher = writer.get_extra_info("cipher")
        return TlsObservation(
            verified=context.verify_mode == ssl.CERT_REQUIRED,
            verify_message=None,
            version=ssl_object.version() if ssl_object else None,
            cipher=cipher[0] if cipher else None,
            chain=_chain(ssl_object, verified=context.verify_mode == ssl.CERT_REQUIRED),
        )
    finally:
        del reader
        await _close(writer)


async def tls_probe(
    host: str,
    port: int,
    context: ssl.SSLContext,
    *,
    route: ProxyRoute | None,
    proxy_context: ssl.SSLContext,
    timeout: float,
) -> TlsObservation:
    """Handshake with verification; if the certificate is refused, look at it without
    verification, only to explain why (nothing is sent over that second connection)."""
    if route is None and never_resolves(host):
        await resolve(host, port, timeout)
    async with _translated(host, port, timeout, "Négociation TLS"):
        try:
            return await _handshake(
                host, port, context, route=route, proxy_context=proxy_context, timeout=timeout
            )
        except ssl.SSLCertVerificationError as exc:
            message = exc.verify_message or str(exc.reason)
        look = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        look.check_hostname = False
        look.verify_mode = ssl.CERT_NONE
        seen = await _handshake(
            host, port, look, route=route, proxy_context=proxy_context, timeout=timeout
        )
        return TlsObservation(False, message, seen.version, seen.cipher, seen.chain)


def bundle_certificates(path: Path | None) -> frozenset[bytes]:
    """DER of the certificates in a PEM bundle (empty when absent or unreadable)."""
    if path is None:
        return frozenset()
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return frozenset()
    # Raw DER, compared byte for byte: no need to parse (some public roots are odd enough
    # to make X.509 parsers warn).
    found = set()
    for block in _PEM_BLOCK.findall(text):
        with contextlib.suppress(ValueError):
            found.add(ssl.PEM_cert_to_DER_cert(block))
    return frozenset(found)


@functools.cache
def public_roots() -> frozenset[bytes]:
    """The public authorities (Mozilla's list, from certifi)."""
    return bundle_certificates(Path(certifi.where()))


def issued_by_local_ca(chain: tuple[bytes, ...], configured: frozenset[bytes]) -> bool:
    """Whether a verified chain ends at a CA that is neither public nor configured for dsnlink:
    one added to this computer's store (a company's TLS-inspection CA, typically)."""
    if len(chain) < 2:
        return False
    root = chain[-1]
    return root not in public_roots() and root not in configured
