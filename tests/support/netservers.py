"""Real network servers on 127.0.0.1 for tests and benchmarks.

- :func:`https_server`: an HTTPS server with a certificate from a test CA (trustme), answering
  fixed routes; given a certificate for another name, it is the "wrong certificate" server.
- :func:`forward_proxy`: a forward proxy (CONNECT tunnels and plain HTTP forwarding), with or
  without Basic authentication, optionally reached over TLS; it records what it was asked.
- :func:`black_hole`: a port that accepts connections and never answers.

Each runs in a background thread with its own event loop and stops at the end of its ``with``.
Nothing here ever resolves or connects outside the machine: the proxy refuses any destination
that is not a loopback address or ``localhost``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import trustme

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class _LoopThread:
    """An asyncio loop in a daemon thread, to host servers next to synchronous tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[object]) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)  # type: ignore[arg-type]

    def stop(self) -> None:
        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.run(_cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    lines = head.split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, target, headers


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"


@dataclass
class HttpsServer:
    host: str
    port: int
    hits: list[str] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return f"https://{self.host}:{self.port}{path}"


@contextlib.contextmanager
def https_server(
    cert: trustme.LeafCert,
    routes: dict[str, Route] | None = None,
    *,
    host: str = "localhost",
) -> Iterator[HttpsServer]:
    """An HTTPS server on 127.0.0.1 presenting ``cert``; unknown paths answer 404."""
    routes = routes or {}
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    state = HttpsServer(host, 0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            _method, target, _headers = await _read_head(reader)
            state.hits.append(target)
            route = routes.get(target, Route(404, b"", "text/plain"))
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(
                route.status, "Status"
            )
            head = (
                f"HTTP/1.1 {route.status} {reason}\r\nContent-Type: {route.content_type}\r\n"
                f"Content-Length: {len(route.body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + route.body)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError, ValueError):
            pass
        finally:
            await _close(writer)

    with _serving(handle, context) as port:
        state.port = port
        yield state


@contextlib.contextmanager
def _serving(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    context: ssl.SSLContext | None,
) -> Iterator[int]:
    """Serve ``handle`` on a free port of 127.0.0.1 in a background loop; yields the port."""
    loops = _LoopThread()
    box: list[asyncio.AbstractServer] = []

    async def start() -> None:
        box.append(await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context))

    loops.run(start())
    try:
        yield box[0].sockets[0].getsockname()[1]
    finally:
        loops.run(_stop_server(box[0]))
        loops.stop()


async def _stop_server(server: asyncio.AbstractServer) -> None:
    server.close()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(2):
            await server.wait_closed()


@dataclass
class ForwardProxy:
    host: str
    port: int
    tls: bool
    connects: list[str] = field(default_factory=list)
    forwards: list[str] = field(default_factory=list)
    refused: int = 0


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        await _close(writer)


@contextlib.contextmanager
def forward_proxy(
    *,
    credentials: tuple[str, str] | None = None,
    tls_cert: trustme.LeafCert | None = None,
) -> Iterator[ForwardProxy]:
    """A forward proxy on 127.0.0.1: CONNECT and plain HTTP, Basic auth when ``credentials``."""
    context = None
    if tls_cert is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_cert.configure_cert(context)
    expected = None
    if credentials is not None:
        expected = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
    state = ForwardProxy("127.0.0.1", 0, tls_cert is not None)

    async def answer(writer: asyncio.StreamWriter, status: str, extra: str = "") -> None:
        writer.write(
            f"HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        await _close(writer)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, target, headers = await _read_head(reader)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError, ValueError):
            await _close(writer)
            return
        if expected is not None and headers.get("proxy-authorization") != expected:
            state.refused += 1
            await answer(
                writer,
                "407 Proxy Authentication Required",
                'Proxy-Authenticate: Basic realm="test proxy"\r\n',
            )
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            host = host.strip("[]")
            state.connects.append(target)
            if host not in _LOOPBACK:
                await answer(writer, "502 Bad Gateway")
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
            except OSError:
                await answer(writer, "502 Bad Gateway")
                return
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            return
        await _forward_plain(method, target, headers, reader, writer, state, answer)

    with _serving(handle, context) as port:
        state.port = port
        yield state


async def _forward_plain(
    method: str,
    target: str,
    headers: dict[str, str],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    state: ForwardProxy,
    answer: Callable[..., Awaitable[None]],
) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(target)
    state.forwards.append(target)
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK:
        await answer(writer, "502 Bad Gateway")
        return
    try:
        up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
    except OSError:
        await answer(writer, "502 Bad Gateway")
        return
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    kept = {k: v for k, v in headers.items() if not k.startswith("proxy-") and k != "connection"}
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in kept.items())]
    up_writer.write(("\r\n".join([*lines, "Connection: close"]) + "\r\n\r\n").encode("latin-1"))
    await up_writer.drain()
    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


@contextlib.contextmanager
def black_hole() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and never sends a byte."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()
