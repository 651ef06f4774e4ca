"""The simulator over real HTTP(S) on loopback: uvicorn in a thread, TLS from a local CA."""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from dsnlink.simulator import FaultRule, SimulatorConfig
from dsnlink.simulator.server import RunningSimulator, running_simulator
from tests.simulator_helpers import AUTH_HEADERS, auth_body, bearer, deposit_headers, small_dsn


@pytest.fixture(scope="module")
def tls_server() -> Iterator[RunningSimulator]:
    with running_simulator(SimulatorConfig(), tls=True) as server:
        yield server


def _login(client: httpx.Client) -> str:
    response = client.post("/authentifier/1.0/", content=auth_body(), headers=AUTH_HEADERS)
    assert response.status_code == 200
    return response.text


def test_full_cycle_over_tls(tls_server: RunningSimulator) -> None:
    assert tls_server.base_url.startswith("https://127.0.0.1:")
    assert tls_server.ca_pem is not None
    with httpx.Client(base_url=tls_server.base_url, verify=tls_server.ssl_context()) as client:
        token = _login(client)
        response = client.post(
            "/deposer-dsn/1.0/", content=gzip.compress(small_dsn()), headers=deposit_headers(token)
        )
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        idflux = etree.fromstring(response.content).findtext("envoi/envoi_identification/idflux")
        listed = client.get(f"/lister-retours-flux/1.0/{idflux}", headers=bearer(token))
        url = etree.fromstring(listed.content).findtext("flux/retour/url")
        assert url and url.startswith(tls_server.base_url + "/telecharger-retour/1.0/")
        downloaded = client.get(url, headers=bearer(token))
        assert etree.fromstring(downloaded.content).get("type") == "AEE"


def test_tls_is_refused_without_the_simulator_ca(tls_server: RunningSimulator) -> None:
    with httpx.Client(base_url=tls_server.base_url) as client, pytest.raises(httpx.ConnectError):
        client.post("/authentifier/1.0/", content=auth_body(), headers=AUTH_HEADERS)


def test_status_line_of_422_is_unprocessable_entity(tls_server: RunningSimulator) -> None:
    with httpx.Client(base_url=tls_server.base_url, verify=tls_server.ssl_context()) as client:
        response = client.post(
            "/authentifier/1.0/", content=auth_body(siret="1"), headers=AUTH_HEADERS
        )
        assert response.status_code == 422
        assert response.reason_phrase == "Unprocessable Entity"


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_no_host_nor_user_agent_required() -> None:
    with running_simulator(SimulatorConfig()) as server:
        body = auth_body()
        answer = _raw(
            server.port,
            b"POST /authentifier/1.0 HTTP/1.0\r\nContent-Type: application/xml\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
        )
        head, _, token = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert len(token) >= 200 and not token.endswith(b"\n")


def test_faults_over_the_wire() -> None:
    config = SimulatorConfig(hang_seconds=30)
    with running_simulator(config) as server, httpx.Client(base_url=server.base_url) as client:
        token = _login(client)
        url = "/lister-retours-flux/1.0/abc"
        server.add_fault(FaultRule(route="list_flow_returns", kind="hang"))
        with pytest.raises(httpx.ReadTimeout):
            client.get(url, headers=bearer(token), timeout=0.5)
        server.add_fault(FaultRule(route="list_flow_returns", kind="reset"))
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            client.get(url, headers=bearer(token))
        server.add_fault(FaultRule(route="list_flow_returns", kind="slow", delay_seconds=0.2))
        assert client.get(url, headers=bearer(token)).status_code == 404
        server.add_fault(FaultRule(route="list_flow_returns", kind="status", status=500))
        assert client.get(url, headers=bearer(token)).status_code == 500
        assert client.get(url, headers=bearer(token)).status_code == 404
        faults = [r["fault"] for r in server.simulator.requests("list_flow_returns")]
        assert faults == ["hang", "reset", "slow", "status", None]


def test_deposit_lost_in_a_timeout_is_still_recorded() -> None:
    config = SimulatorConfig(hang_seconds=30)
    with running_simulator(config) as server, httpx.Client(base_url=server.base_url) as client:
        token = _login(client)
        server.add_fault({"route": "deposit", "kind": "hang", "when": "after"})
        with pytest.raises(httpx.ReadTimeout):
            client.post(
                "/deposer-dsn/1.0/",
                content=gzip.compress(small_dsn()),
                headers=deposit_headers(token),
                timeout=0.5,
            )
        assert len(server.deposits()) == 1


def test_public_base_url_and_restart_on_the_same_state(tmp_path: Path) -> None:
    config = SimulatorConfig(
        state_path=tmp_path / "state.sqlite3",
        public_base_url="https://telechargement.example.test/",
    )
    with running_simulator(config) as server, httpx.Client(base_url=server.base_url) as client:
        token = _login(client)
        response = client.post(
            "/deposer-dsn/1.0/", content=gzip.compress(small_dsn()), headers=deposit_headers(token)
        )
        idflux = etree.fromstring(response.content).findtext("envoi/envoi_identification/idflux")
        server.advance("1h")
    with running_simulator(config) as server, httpx.Client(base_url=server.base_url) as client:
        listed = client.get(f"/lister-retours-flux/1.0/{idflux}", headers=bearer(token))
        assert listed.status_code == 200  # the token survived too (1 h < its 2 h lifetime)
        urls = [u.text for u in etree.fromstring(listed.content).iter("url")]
        assert urls and all(
            u and u.startswith("https://telechargement.example.test/telecharger-retour/1.0/")
            for u in urls
        )


def test_listening_socket_lets_asyncio_disable_nagle() -> None:
    # asyncio sets TCP_NODELAY only on sockets created with proto=IPPROTO_TCP; without it,
    # every answer with a body waited for the client's delayed ACK (about 40 ms).
    from dsnlink.simulator.server import _bind

    sock = _bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
