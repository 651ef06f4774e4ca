"""Requests sent without httpx (no proxy): kept-alive connections, gzip, TLS, errors.

Small loopback servers answer with exactly the bytes each test needs.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme

from dsnlink.errors import ConnectionLost, NetworkError, ProtocolError, TlsError
from dsnlink.portal.direct import DirectSession, is_direct
from dsnlink.portal.options import TransportOptions
from dsnlink.portal.transport import HttpSession, build_client
from dsnlink.portal.wire import PortalRequest

FAST = TransportOptions(connect_timeout=2, read_timeout=2, write_timeout=2, connect_retries=0)


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return b""
        data += chunk
    return data


@contextmanager
def serving(
    answer: Callable[[int, bytes], bytes | None],
    *,
    wrap: ssl.SSLContext | None = None,
    hang_up: bool = False,
) -> Iterator[tuple[int, list[int]]]:
    """Answers ``answer(n, request)`` on each connection (None: close it, ``hang_up``: close
    it after each answer without saying so); yields the port and the number of requests each
    connection carried."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    per_connection: list[int] = []
    count = [0]

    def handle(conn: socket.socket) -> None:
        index = len(per_connection)
        per_connection.append(0)
        with conn:
            while request := _read_request(conn):
                count[0] += 1
                per_connection[index] += 1
                reply = answer(count[0], request)
                if reply is None:
                    return
                conn.sendall(reply)
                if hang_up:
                    return

    def loop() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            if wrap is not None:
                try:
                    conn = wrap.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    conn.close()
                    continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    try:
        yield server.getsockname()[1], per_connection
    finally:
        server.close()


def ok(body: bytes, *extra: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body) + b"".join(extra)
    return head + b"\r\n" + body


def get(url: str) -> PortalRequest:
    return PortalRequest("GET", url, {"User-Agent": "essai", "Accept-Encoding": "gzip"}, call="t")


def test_connections_are_kept_alive_and_reused() -> None:
    with serving(lambda n, _: ok(b"<r>%d</r>" % n)) as (port, per_connection):
        session = DirectSession(FAST)
        try:
            bodies = [session.send(get(f"http://127.0.0.1:{port}/x")).body for _ in range(3)]
        finally:
            session.close()
    assert bodies == [b"<r>1</r>", b"<r>2</r>", b"<r>3</r>"]
    assert per_connection == [3]


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    with serving(lambda n, _: ok(b"<r>%d</r>" % n), hang_up=True) as (port, per_connection):
        session = DirectSession(FAST)
        try:
            first = session.send(get(f"http://127.0.0.1:{port}/x"))
            threading.Event().wait(0.2)  # the server has closed its side by now
            second = session.send(get(f"http://127.0.0.1:{port}/x"))
        finally:
            session.close()
    assert (first.body, second.body) == (b"<r>1</r>", b"<r>2</r>")
    assert per_connection == [1, 1]


def test_gzip_answers_are_decoded_and_headers_lower_cased() -> None:
    body = gzip.compress(b"<retours/>")
    reply = ok(body, b"Content-Encoding: gzip\r\n", b"X-Twice: a\r\n", b"X-Twice: b\r\n")
    with serving(lambda n, _: reply) as (port, _):
        session = DirectSession(FAST)
        try:
            answer = session.send(get(f"http://127.0.0.1:{port}/x"))
        finally:
            session.close()
    assert answer.body == b"<retours/>"
    assert answer.header("X-Twice") == "a, b"
    assert answer.via_proxy is False


def test_broken_gzip_is_a_protocol_error() -> None:
    reply = ok(b"not gzip at all", b"Content-Encoding: gzip\r\n")
    with serving(lambda n, _: reply) as (port, _):
        session = DirectSession(FAST)
        try:
            with pytest.raises(ProtocolError):
                session.send(get(f"http://127.0.0.1:{port}/x"))
        finally:
            session.close()


def test_a_garbled_status_line_is_a_lost_connection_that_may_have_arrived() -> None:
    with serving(lambda n, _: b"HTTQ/9 banana\r\n\r\n") as (port, _):
        session = DirectSession(FAST)
        try:
            with pytest.raises(ConnectionLost) as caught:
                session.send(get(f"http://127.0.0.1:{port}/x"))
        finally:
            session.close()
    assert caught.value.context["may_have_arrived"] is True


def test_tls_is_verified_against_the_configured_authority(tmp_path: Path) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with serving(lambda n, _: ok(b"<ok/>"), wrap=server_ctx) as (port, _):
        trusted = DirectSession(TransportOptions(ca_bundle=bundle, connect_retries=0))
        untrusted = DirectSession(FAST)
        try:
            assert trusted.send(get(f"https://127.0.0.1:{port}/x")).body == b"<ok/>"
            with pytest.raises(TlsError) as caught:
                untrusted.send(get(f"https://127.0.0.1:{port}/x"))
        finally:
            trusted.close()
            untrusted.close()
    assert caught.value.context["may_have_arrived"] is False


def test_proxies_and_test_transports_still_go_through_httpx() -> None:
    assert is_direct(FAST)
    assert not is_direct(TransportOptions(proxy_url="http://127.0.0.1:3128"))
    assert not is_direct(TransportOptions(trust_env=True))
    proxied = TransportOptions(proxy_url="http://127.0.0.1:3128")
    assert HttpSession(lambda: build_client(proxied), proxied, direct=True)._direct is None
    assert HttpSession(lambda: build_client(FAST), FAST, direct=False)._direct is None
    assert HttpSession(lambda: build_client(FAST), FAST, direct=True)._direct is not None


def test_chunked_answers_are_read_whole() -> None:
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\n<ret\r\n6;ext=1\r\nours/>\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    with serving(lambda n, _: reply) as (port, per_connection):
        session = DirectSession(FAST)
        try:
            bodies = [session.send(get(f"http://127.0.0.1:{port}/x")).body for _ in range(2)]
        finally:
            session.close()
    assert bodies == [b"<retours/>"] * 2
    assert per_connection == [2]


def test_an_answer_cut_short_is_a_lost_connection() -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<retours"
    with serving(lambda n, _: reply, hang_up=True) as (port, _):
        session = DirectSession(FAST)
        try:
            with pytest.raises(ConnectionLost) as caught:
                session.send(get(f"http://127.0.0.1:{port}/x"))
        finally:
            session.close()
    assert caught.value.context["may_have_arrived"] is True


def test_a_header_with_a_line_break_is_never_sent() -> None:
    with serving(lambda n, _: ok(b"")) as (port, per_connection):
        session = DirectSession(FAST)
        request = PortalRequest(
            "GET", f"http://127.0.0.1:{port}/x", {"Authorization": "a\r\nX-Evil: 1"}, call="t"
        )
        try:
            with pytest.raises(NetworkError) as caught:
                session.send(request)
        finally:
            session.close()
    assert caught.value.context["may_have_arrived"] is False
    assert sum(per_connection) == 0


def test_the_request_carries_httpx_default_headers_and_a_length() -> None:
    seen: list[bytes] = []

    def record(n: int, request: bytes) -> bytes:
        seen.append(request)
        return ok(b"")

    with serving(record) as (port, _):
        session = DirectSession(FAST)
        try:
            session.send(PortalRequest("POST", f"http://127.0.0.1:{port}/d", {}, b"", call="t"))
        finally:
            session.close()
    head = seen[0].decode("latin-1").lower()
    assert head.startswith("post /d http/1.1\r\n")
    for line in (f"host: 127.0.0.1:{port}", "accept: */*", "connection: keep-alive"):
        assert f"\r\n{line}\r\n" in head
    assert "\r\ncontent-length: 0\r\n" in head
