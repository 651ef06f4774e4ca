"""Network failures over real loopback sockets: refused, proxy 407, silent server, reset.

Each "server" here is a few lines of socket code on 127.0.0.1 that misbehaves on purpose; the
client must turn each misbehaviour into the right class of the error tree.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from dsnlink.errors import (
    ConnectError,
    ConnectionLost,
    DepositFateUnknown,
    NetworkTimeout,
    ProxyError,
)
from dsnlink.portal import (
    ClientConfig,
    Endpoints,
    PortalClient,
    PortalIdentity,
    TransportOptions,
    credential_failures,
)
from dsnlink.portal.identity import Token

IDENTITY = PortalIdentity("99900000300015", "declarant", "declarant", "CANARY-s3cr3t-net")
DSN = b"S10.G00.00.001,'x'\nS20.G00.05.001,'01'\n"
FAST = TransportOptions(
    connect_timeout=2, read_timeout=0.5, write_timeout=2, get_attempts=1, connect_retries=0
)


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    credential_failures.clear()
    yield
    credential_failures.clear()


@contextmanager
def serving(behaviour: Callable[[socket.socket], None]) -> Iterator[int]:
    """A loopback TCP server applying ``behaviour`` to every connection; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def loop() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=behaviour, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def proxy_demanding_credentials(conn: socket.socket) -> None:
    with conn:
        _read_head(conn)
        conn.sendall(
            b"HTTP/1.1 407 Proxy Authentication Required\r\n"
            b'Proxy-Authenticate: Basic realm="proxy"\r\nContent-Length: 0\r\n\r\n'
        )


def silent(conn: socket.socket) -> None:
    with conn:
        _read_head(conn)
        threading.Event().wait(3)


def reset_after_reading(conn: socket.socket) -> None:
    _read_head(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client(base: str) -> PortalClient:
    return PortalClient(ClientConfig(Endpoints.single_base(base)), FAST)


def test_connection_refused() -> None:
    with client(f"http://127.0.0.1:{free_port()}") as c, pytest.raises(ConnectError) as caught:
        c.authenticate(IDENTITY)
    assert caught.value.context["may_have_arrived"] is False


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_proxy_asking_for_credentials_is_told_apart(scheme: str) -> None:
    with serving(proxy_demanding_credentials) as port:
        options = TransportOptions(proxy_url=f"http://127.0.0.1:{port}", get_attempts=1)
        portal = PortalClient(
            ClientConfig(Endpoints.single_base(f"{scheme}://portal.invalid")), options
        )
        with portal as c, pytest.raises(ProxyError) as caught:
            c.authenticate(IDENTITY)
    assert caught.value.context["proxy_status"] == "407"
    assert not credential_failures.failed(IDENTITY.fingerprint)


def test_unreachable_proxy() -> None:
    options = TransportOptions(proxy_url=f"http://127.0.0.1:{free_port()}", connect_retries=0)
    portal = PortalClient(ClientConfig(Endpoints.single_base("https://portal.invalid")), options)
    with portal as c, pytest.raises(ProxyError):
        c.authenticate(IDENTITY)


def test_silent_server_times_out() -> None:
    with (
        serving(silent) as port,
        client(f"http://127.0.0.1:{port}") as c,
        pytest.raises(NetworkTimeout) as caught,
    ):
        c.list_flow_returns(Token("T", IDENTITY.fingerprint), "A" * 23)
    assert caught.value.context["phase"] == "read"


@pytest.mark.parametrize("behaviour", [silent, reset_after_reading])
def test_deposit_without_answer_has_an_unknown_fate(
    behaviour: Callable[[socket.socket], None],
) -> None:
    with (
        serving(behaviour) as port,
        client(f"http://127.0.0.1:{port}") as c,
        pytest.raises(DepositFateUnknown),
    ):
        c.deposit(Token("T", IDENTITY.fingerprint), DSN)


def test_reset_during_a_listing_is_connection_lost() -> None:
    with (
        serving(reset_after_reading) as port,
        client(f"http://127.0.0.1:{port}") as c,
        pytest.raises(ConnectionLost),
    ):
        c.list_flow_returns(Token("T", IDENTITY.fingerprint), "A" * 23)
