"""Portal requests sent straight over kept-alive HTTP/1.1 connections, without httpx, when no
proxy is involved.

httpx costs about four times the CPU of this module per request (request and response models,
header merging, the pool's bookkeeping, h11's state machine): with three or four requests per
deposit, that was a third of the pipeline's CPU at a high deposit rate. So a client whose
options name no proxy and ignore the environment's (the default) sends its complete requests
here; proxies, streamed downloads and the async client still go through httpx
(:mod:`dsnlink.portal.transport`).

The rules are the same as there: TLS through :func:`~dsnlink.portal.options.ssl_context`
(verification always on), the timeouts and connection retries of the options, the same
default headers, gzip answers decoded, and every failure translated to the same error class
with the same ``call``, ``may_have_arrived`` and ``detail`` (named after httpx's error
classes, which logs and tests know). Answers are read by a strict little HTTP/1.1 reader
(status line, headers, Content-Length or chunked body, h11's limits): anything else is a
protocol error, a lost connection that may have arrived.
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import time
import zlib
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from dsnlink.errors import (
    ConfigurationError,
    ConnectError,
    ConnectionLost,
    DnsError,
    NetworkError,
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
        self._idle: dict[Origin, list[_Connection]] = {}
        self._every: set[_Connection] = set()
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

    def _checkout(self, origin: Origin) -> _Connection | None:
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

    def _checkin(self, origin: Origin, conn: _Connection) -> None:
        if self._closed:
            self._discard(conn)
            return
        self._idle.setdefault(origin, []).append(conn)

    def _discard(self, conn: _Connection) -> None:
        self._every.discard(conn)
        conn.close()

    def _connect(self, origin: Origin, call: str) -> _Connection:
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
        conn = _Connection(sock)
        self._every.add(conn)
        return conn

    # -- one exchange -----------------------------------------------------------------------

    def _exchange(
        self,
        origin: Origin,
        conn: _Connection,
        req: PortalRequest,
        target: str,
        host: str,
    ) -> Answer:
        opts, call = self.options, req.call
        # From here on the server may have received (part of) the request.
        ctx: dict[str, Any] = {"call": call, "may_have_arrived": True}
        head = _request_head(req, target, host)
        sock = conn.sock
        try:
            sock.settimeout(opts.write_timeout)
            sock.sendall(head + req.content if req.content else head)
        except TimeoutError as exc:
            raise NetworkTimeout(phase="write", detail="WriteTimeout", **ctx) from exc
        except OSError as exc:
            raise ConnectionLost(detail="WriteError", **ctx) from exc
        try:
            sock.settimeout(opts.read_timeout)
            status, headers, body, will_close = _read_answer(conn.reader, req.method)
        except TimeoutError as exc:
            raise NetworkTimeout(phase="read", detail="ReadTimeout", **ctx) from exc
        except _Malformed as exc:
            # No status line, a malformed one, a body cut short, the server gone.
            raise ConnectionLost(detail="RemoteProtocolError", **ctx) from exc
        except OSError as exc:
            raise ConnectionLost(detail="ReadError", **ctx) from exc
        encoding = headers.get("content-encoding")
        if encoding:
            body = _decode(body, encoding, call)
        if will_close:
            self._discard(conn)
        else:
            self._checkin(origin, conn)
        return Answer(status=status, headers=headers, body=body, via_proxy=False)


class _Connection:
    """A socket and its buffered reader (answers are read line by line, then the body)."""

    __slots__ = ("reader", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class _Malformed(Exception):
    """The server's bytes are not an HTTP/1.1 answer (or stop before its end)."""


#: Limits of h11 (httpx's parser): longer lines or more headers are a protocol error.
_MAX_LINE = 65536
_MAX_HEADERS = 200
_BAD_HEADER_VALUE = re.compile(r"[\r\n\x00]")


def _request_head(req: PortalRequest, target: str, host: str) -> bytes:
    """Request line and headers: httpx's defaults, then the portal's own headers."""
    fields = {"Host": host, "Accept": "*/*", "Connection": "keep-alive", **req.headers}
    if req.content or req.method in ("POST", "PUT", "PATCH"):
        fields["Content-Length"] = str(len(req.content))
    lines = [f"{req.method} {target} HTTP/1.1"]
    for name, value in fields.items():
        if _BAD_HEADER_VALUE.search(name) or _BAD_HEADER_VALUE.search(value):
            # Never sent: a line break would split the header (what h11 refuses too).
            raise NetworkError(call=req.call, may_have_arrived=False, detail="LocalProtocolError")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _line(reader: BinaryIO) -> bytes:
    line = reader.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise _Malformed("line too long")
    return line


def _read_answer(reader: BinaryIO, method: str) -> tuple[int, dict[str, str], bytes, bool]:
    """Status, headers (lower-case names, repeated ones joined by ", "), body, and whether the
    connection ends with this answer."""
    while True:
        line = _line(reader)
        if not line:
            raise _Malformed("server disconnected without sending an answer")
        parts = line.split(None, 2)
        if (
            len(parts) < 2
            or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0")
            or len(parts[1]) != 3
            or not parts[1].isdigit()
        ):
            raise _Malformed("malformed status line")
        status = int(parts[1])
        headers = _read_headers(reader)
        if not 100 <= status < 200 or status == 101:
            break  # interim answers (100 Continue) are skipped
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    will_close = "close" in tokens or (parts[0] == b"HTTP/1.0" and "keep-alive" not in tokens)
    if method == "HEAD" or status in (204, 304) or status < 200:
        return status, headers, b"", will_close
    codings = [c.strip().lower() for c in headers.get("transfer-encoding", "").split(",")]
    if codings[-1] == "chunked":
        return status, headers, _read_chunked(reader), will_close
    length = headers.get("content-length")
    if length is None:
        return status, headers, reader.read(), True  # the body ends with the connection
    values = {v.strip() for v in length.split(",")}
    if len(values) != 1 or not (value := values.pop()).isdigit():
        raise _Malformed("bad Content-Length")
    body = reader.read(int(value))
    if len(body) != int(value):
        raise _Malformed("answer cut short")
    return status, headers, body, will_close


def _read_headers(reader: BinaryIO) -> dict[str, str]:
    headers: dict[str, str] = {}
    last = ""
    for _ in range(_MAX_HEADERS + 1):
        line = _line(reader)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise _Malformed("server disconnected in the headers")
        text = line.decode("latin-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and last:  # obsolete line folding
            headers[last] += " " + text.strip()
            continue
        name, colon, value = text.partition(":")
        name = name.strip().lower()
        if not colon or not name or " " in name:
            raise _Malformed("malformed header")
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
        last = name
    raise _Malformed("too many headers")


def _read_chunked(reader: BinaryIO) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_line = _line(reader).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise _Malformed("bad chunk size") from None
        if size == 0:
            break
        chunk = reader.read(size)
        if len(chunk) != size or _line(reader) not in (b"\r\n", b"\n"):
            raise _Malformed("chunk cut short")
        chunks.append(chunk)
    while _line(reader) not in (b"\r\n", b"\n", b""):  # trailers
        pass
    return b"".join(chunks)


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
