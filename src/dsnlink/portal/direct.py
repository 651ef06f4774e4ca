"""Portal requests sent straight over kept-alive HTTP/1.1 connections (``http.client``), when
no proxy is involved.

httpx costs about three times the CPU of ``http.client`` per request (request and response
models, header merging, the pool's bookkeeping, h11): with three or four requests per deposit,
that was a third of the pipeline's CPU at a high deposit rate. So a client whose options name
no proxy and ignore the environment's (the default) sends its complete requests here; proxies,
streamed downloads and the async client still go through httpx
(:mod:`dsnlink.portal.transport`).

The rules are the same as there: TLS through :func:`~dsnlink.portal.options.ssl_context`
(verification always on), the timeouts and connection retries of the options, gzip answers
decoded, and every failure translated to the same error class with the same ``call``,
``may_have_arrived`` and ``detail`` (named after httpx's error classes, which logs and tests
know).
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import time
import zlib
from typing import Any
from urllib.parse import urlsplit

from dsnlink.errors import (
    ConfigurationError,
    ConnectError,
    ConnectionLost,
    DnsError,
    NetworkTimeout,
    ProtocolError,
    TlsError,
)
from dsnlink.portal.options import TransportOptions, ssl_context
from dsnlink.portal.wire import Answer, PortalRequest

#: Connection retries wait like httpcore's: at once, then 0.5 s, 1 s, 2 s…
_BACKOFF = 0.5
_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def is_direct(options: TransportOptions) -> bool:
    """Whether requests with these options may skip httpx: no proxy, named or from the
    environment (httpx's handling of ``HTTP(S)_PROXY``/``NO_PROXY`` is the reference)."""
    return not options.proxy_url and not options.trust_env


class DirectSession:
    """Thread-safe: a request takes an idle connection to its origin (or opens one) and puts
    it back when the answer has been read whole and the server keeps it open."""

    def __init__(self, options: TransportOptions) -> None:
        self.options = options
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._every: set[http.client.HTTPConnection] = set()
        self._closed = False

    def send(self, req: PortalRequest) -> Answer:
        origin, target, host_header = _parse(req)
        conn = self._checkout(origin)
        if conn is None:
            conn = self._connect(origin, req.call)
        try:
            return self._exchange(origin, conn, req, target, host_header)
        except BaseException:
            self._discard(conn)
            raise

    def close(self) -> None:
        self._closed = True
        self._idle.clear()
        while self._every:
            self._every.pop().close()

    # -- connections ------------------------------------------------------------------------

    def _checkout(self, origin: Origin) -> http.client.HTTPConnection | None:
        idle = self._idle.get(origin)
        while idle:
            try:
                conn = idle.pop()  # atomic: no lock for the worker threads to queue on
            except IndexError:
                return None
            if conn.sock is not None and not _readable(conn.sock):
                return conn
            # Closed by the server while idle (or it sent something unasked): never reused.
            self._discard(conn)
        return None

    def _checkin(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        if self._closed:
            self._discard(conn)
            return
        self._idle.setdefault(origin, []).append(conn)

    def _discard(self, conn: http.client.HTTPConnection) -> None:
        self._every.discard(conn)
        conn.close()

    def _connect(self, origin: Origin, call: str) -> http.client.HTTPConnection:
        scheme, host, port = origin
        opts = self.options
        context = ssl_context(opts) if scheme == "https" else None
        ctx: dict[str, Any] = {"call": call, "may_have_arrived": False}
        retries = max(0, opts.connect_retries)
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(_BACKOFF * 2 ** (attempt - 1))
            try:
                sock = socket.create_connection((host, port), timeout=opts.connect_timeout)
                break
            except TimeoutError as exc:
                if attempt == retries:
                    raise NetworkTimeout(phase="connect", detail="ConnectTimeout", **ctx) from exc
            except socket.gaierror as exc:
                if attempt == retries:
                    raise DnsError(detail="ConnectError", **ctx) from exc
            except OSError as exc:
                if attempt == retries:
                    raise ConnectError(detail="ConnectError", **ctx) from exc
        # Requests are written as headers then body: no waiting for the server's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if context is not None:
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except TimeoutError as exc:
                sock.close()
                raise NetworkTimeout(phase="connect", detail="ConnectTimeout", **ctx) from exc
            except ssl.SSLError as exc:
                sock.close()
                raise TlsError(detail="ConnectError", **ctx) from exc
            except OSError as exc:
                sock.close()
                raise ConnectError(detail="ConnectError", **ctx) from exc
        conn = http.client.HTTPConnection(host, port)
        conn.sock = sock
        conn.auto_open = 0  # never reconnect behind our back: a closed connection is an error
        self._every.add(conn)
        return conn

    # -- one exchange -----------------------------------------------------------------------

    def _exchange(
        self,
        origin: Origin,
        conn: http.client.HTTPConnection,
        req: PortalRequest,
        target: str,
        host: str,
    ) -> Answer:
        opts, call = self.options, req.call
        # From here on the server may have received (part of) the request.
        ctx: dict[str, Any] = {"call": call, "may_have_arrived": True}
        headers = {"Host": host, "Accept": "*/*", "Connection": "keep-alive", **req.headers}
        sock = conn.sock
        try:
            sock.settimeout(opts.write_timeout)
            conn.request(req.method, target, body=req.content or None, headers=headers)
        except TimeoutError as exc:
            raise NetworkTimeout(phase="write", detail="WriteTimeout", **ctx) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise ConnectionLost(detail="WriteError", **ctx) from exc
        try:
            sock.settimeout(opts.read_timeout)
            response = conn.getresponse()
            body = response.read()
        except TimeoutError as exc:
            raise NetworkTimeout(phase="read", detail="ReadTimeout", **ctx) from exc
        except http.client.HTTPException as exc:
            # No status line, a malformed one, a body cut short, the server gone.
            raise ConnectionLost(detail="RemoteProtocolError", **ctx) from exc
        except OSError as exc:
            raise ConnectionLost(detail="ReadError", **ctx) from exc
        headers_out: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            headers_out[key] = f"{headers_out[key]}, {value}" if key in headers_out else value
        encoding = headers_out.get("content-encoding")
        if encoding:
            body = _decode(body, encoding, call)
        if response.will_close or conn.sock is None:
            self._discard(conn)
        else:
            self._checkin(origin, conn)
        return Answer(status=response.status, headers=headers_out, body=body, via_proxy=False)


def _parse(req: PortalRequest) -> tuple[Origin, str, str]:
    try:
        parts = urlsplit(req.url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        host = port = None
        scheme = ""
    if scheme not in _DEFAULT_PORTS or not host or port is None:
        raise ConfigurationError(
            "Une adresse Net-entreprises configurée est invalide.",
            remedy="Vérifiez les paramètres DSNLINK_PORTAL_*.",
            call=req.call,
        )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    return (scheme, host, port), target, host_header


def _readable(sock: socket.socket) -> bool:
    """An idle kept-alive connection that is readable was closed by the server (or is out of
    step with it)."""
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _decode(body: bytes, encoding: str, call: str) -> bytes:
    """Content-Encoding undone like httpx: gzip and deflate (in reverse order of application),
    other codings left as they are."""
    try:
        for coding in reversed([c.strip().lower() for c in encoding.split(",") if c.strip()]):
            if coding in ("gzip", "x-gzip"):
                inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
                body = inflater.decompress(body) + inflater.flush()
            elif coding == "deflate":
                body = _inflate(body)
    except zlib.error as exc:
        raise ProtocolError(
            "La réponse de Net-entreprises est illisible (compression ou format).",
            call=call,
            detail="DecodingError",
        ) from exc
    return body


def _inflate(body: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        return inflater.decompress(body) + inflater.flush()
    except zlib.error:  # raw deflate, without the zlib header
        raw = zlib.decompressobj(-zlib.MAX_WBITS)
        return raw.decompress(body) + raw.flush()
