"""The connection test against real servers on 127.0.0.1: each fault yields the right step."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import trustme

from dsnlink.connectivity import probes
from dsnlink.connectivity.test import run_connection_test
from tests.integration.connectivity.conftest import connection, targets
from tests.support.netservers import HttpsServer, black_hole, forward_proxy, https_server


def _failures(report: object) -> list[str]:
    return [s.id for s in report.steps if s.status.value == "failure"]  # type: ignore[attr-defined]


def test_all_green_direct(portal: HttpsServer, ca_bundle: Path) -> None:
    report = run_connection_test(connection(portal, ca_bundle), targets(portal))
    assert _failures(report) == []
    for role in ("auth", "deposit", "listings", "update"):
        assert report.step(f"{role}.dns").status.value == "ok"
        assert report.step(f"{role}.tcp").status.value == "ok"
        assert report.step(f"{role}.tls").status.value == "ok", report.step(f"{role}.tls")
        assert report.step(f"{role}.http").status.value == "ok"
    assert report.step("auth.http").data["status"] == 404
    tls = report.step("auth.tls").data
    assert tls["protocol"].startswith("TLS")
    assert tls["certificate"]["names"] == ["localhost", "127.0.0.1"]
    assert tls["chain"][-1] == "dsnlink test CA" or len(tls["chain"]) >= 1
    assert report.step("update_feed").data == {
        "latest": "0.1.0",
        "current": "0.1.0",
        "newer": False,
    }
    # No identity given: the Net-entreprises mark is not shown green, it is "not tested".
    assert [m.status.value for m in report.marks] == ["ok", "ok", "skipped"]


def test_newer_version_is_reported(ca: trustme.CA, ca_bundle: Path) -> None:
    from tests.integration.connectivity.conftest import FEED_PATH
    from tests.support.netservers import Route

    cert = ca.issue_cert("localhost")
    feed = b'{"info": {"version": "0.10.0"}, "releases": {}}'
    with https_server(cert, {FEED_PATH: Route(200, feed)}) as server:
        report = run_connection_test(connection(server, ca_bundle), targets(server))
    step = report.step("update_feed")
    assert step.data["newer"] is True
    assert "0.10.0" in step.detail


def test_port_that_accepts_and_never_answers(portal: HttpsServer, ca_bundle: Path) -> None:
    with black_hole() as port:
        auth_url = f"https://localhost:{port}/authentifier/1.0/"
        conn = connection(portal, ca_bundle, connect_timeout=0.5)
        report = run_connection_test(conn, targets(portal, auth_url=auth_url))
    assert report.step("auth.tcp").status.value == "ok"
    tls = report.step("auth.tls")
    assert tls.status.value == "failure"
    assert tls.code == "network.timeout"
    assert "Étendu" in (tls.remedy or "")
    assert report.step("auth.http").status.value == "skipped"
    assert report.step("deposit.http").status.value == "ok"
    assert report.marks[0].status.value == "failure"
    # Steps run concurrently: the whole test costs about one timeout, not one per step.
    assert report.step("deposit.tls").status.value == "ok"


def test_closed_port_is_a_tcp_failure(portal: HttpsServer, ca_bundle: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    report = run_connection_test(
        connection(portal, ca_bundle), targets(portal, auth_url=f"https://127.0.0.1:{port}/")
    )
    tcp = report.step("auth.tcp")
    assert tcp.status.value == "failure"
    assert tcp.code == "network.connect"
    assert "refuse la connexion" in tcp.detail


def test_certificate_for_another_name(ca: trustme.CA, portal: HttpsServer, ca_bundle: Path) -> None:
    with https_server(ca.issue_cert("autre.example")) as wrong:
        auth_url = wrong.url("/authentifier/1.0/")
        report = run_connection_test(
            connection(portal, ca_bundle), targets(portal, auth_url=auth_url)
        )
    tls = report.step("auth.tls")
    assert tls.status.value == "failure"
    assert "autre.example" in tls.detail and "pas pour localhost" in tls.detail
    assert tls.data["interception"] is False
    assert report.step("auth.http").status.value == "skipped"


def test_untrusted_certificate(portal: HttpsServer, tmp_path: Path) -> None:
    other_ca = trustme.CA()
    bundle = tmp_path / "other.pem"
    other_ca.cert_pem.write_to_path(str(bundle))
    report = run_connection_test(connection(portal, bundle), targets(portal))
    tls = report.step("auth.tls")
    assert tls.status.value == "failure"
    assert "n'est pas reconnu" in tls.detail
    assert "ca_bundle" in (tls.remedy or "")


def test_invalid_host_never_leaves_the_machine(
    portal: HttpsServer, ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[object] = []
    real = socket.getaddrinfo

    def spy(host: object, *args: object, **kwargs: object) -> object:
        asked.append(host)
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", spy)
    auth_url = "https://auth.dsnlink.invalid/authentifier/1.0/"
    report = run_connection_test(connection(portal, ca_bundle), targets(portal, auth_url=auth_url))
    dns = report.step("auth.dns")
    assert dns.status.value == "failure"
    assert dns.code == "network.dns"
    assert ".invalid" in dns.detail
    assert [report.step(f"auth.{s}").status.value for s in ("tcp", "tls", "http")] == [
        "skipped"
    ] * 3
    assert not any("invalid" in str(h) for h in asked)
    assert probes.never_resolves("x.INVALID.")


def test_through_proxy_without_auth(portal: HttpsServer, ca_bundle: Path) -> None:
    with forward_proxy() as proxy:
        conn = connection(
            portal, ca_bundle, type="proxy", proxy={"host": "127.0.0.1", "port": proxy.port}
        )
        report = run_connection_test(conn, targets(portal))
    assert _failures(report) == []
    assert report.step("proxy.reach").status.value == "ok"
    assert report.step("proxy.auth").detail == "Le proxy ne demande pas d'authentification."
    assert report.step("auth.dns").status.value == "skipped"
    assert "résolu par le proxy" in report.step("auth.dns").detail
    assert f"localhost:{portal.port}" in proxy.connects
    assert [m.status.value for m in report.marks][:2] == ["ok", "ok"]


def test_proxy_with_auth_accepts_the_right_login(portal: HttpsServer, ca_bundle: Path) -> None:
    with forward_proxy(credentials=("alice", "pr0xy-pass")) as proxy:
        conn = connection(
            portal,
            ca_bundle,
            type="proxy",
            proxy={"host": "127.0.0.1", "port": proxy.port, "login": "alice"},
            proxy_password="pr0xy-pass",
        )
        report = run_connection_test(conn, targets(portal))
    assert _failures(report) == []
    assert "alice" in report.step("proxy.auth").detail
    assert proxy.refused == 0


@pytest.mark.parametrize("login", [None, "alice"])
def test_proxy_407_is_the_proxys(portal: HttpsServer, ca_bundle: Path, login: str | None) -> None:
    with forward_proxy(credentials=("alice", "pr0xy-pass")) as proxy:
        settings: dict[str, object] = {"host": "127.0.0.1", "port": proxy.port}
        if login:
            settings["login"] = login
        conn = connection(
            portal,
            ca_bundle,
            type="proxy",
            proxy=settings,
            proxy_password="wrong" if login else None,
        )
        report = run_connection_test(conn, targets(portal))
    step = report.step("proxy.auth")
    assert step.status.value == "failure"
    assert step.code == "network.proxy_auth"
    assert "proxy" in step.detail.lower()
    assert report.step("auth.tcp").status.value == "skipped"
    assert proxy.refused >= 1
    assert "wrong" not in str(report.to_dict())


def test_proxy_over_tls(ca: trustme.CA, portal: HttpsServer, ca_bundle: Path) -> None:
    with forward_proxy(tls_cert=ca.issue_cert("127.0.0.1")) as proxy:
        conn = connection(
            portal,
            ca_bundle,
            type="proxy",
            proxy={"host": "127.0.0.1", "port": proxy.port, "tls": True},
        )
        report = run_connection_test(conn, targets(portal))
    assert _failures(report) == []
    assert "en TLS" in report.step("proxy.reach").detail
    assert report.step("auth.tls").status.value == "ok"


def test_unreachable_proxy(portal: HttpsServer, ca_bundle: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    conn = connection(portal, ca_bundle, type="proxy", proxy={"host": "127.0.0.1", "port": port})
    report = run_connection_test(conn, targets(portal))
    reach = report.step("proxy.reach")
    assert reach.status.value == "failure"
    assert reach.code == "network.proxy"
    assert report.step("proxy.auth").status.value == "skipped"


def test_system_proxy_and_exclusions(portal: HttpsServer, ca_bundle: Path) -> None:
    with forward_proxy() as proxy:
        env = {"https": f"http://127.0.0.1:{proxy.port}"}
        conn = connection(portal, ca_bundle, type="system", environ=env)
        report = run_connection_test(conn, targets(portal))
        assert _failures(report) == []
        assert len(proxy.connects) >= 4
        # NO_PROXY excludes the host: everything goes direct, the proxy sees nothing more.
        before = len(proxy.connects)
        conn = connection(portal, ca_bundle, type="system", environ={**env, "no": "localhost"})
        report = run_connection_test(conn, targets(portal))
        assert _failures(report) == []
        assert len(proxy.connects) == before
    assert report.step("auth.dns").status.value == "ok"


@pytest.mark.parametrize("mode", ["normal", "securise"])
def test_intercepting_proxy(
    ca: trustme.CA, portal: HttpsServer, ca_bundle: Path, mode: str
) -> None:
    """A proxy that answers every CONNECT with its own certificate (here: for another name)."""
    with (
        https_server(ca.issue_cert("proxy.interception.example")) as fake,
        forward_proxy() as proxy,
    ):
        # The proxy's tunnel to localhost:<fake.port> stands in for "the portal".
        auth_url = f"https://localhost:{fake.port}/authentifier/1.0/"
        conn = connection(
            portal,
            ca_bundle,
            type="proxy",
            mode=mode,
            proxy={"host": "127.0.0.1", "port": proxy.port},
        )
        report = run_connection_test(conn, targets(portal, auth_url=auth_url))
    tls = report.step("auth.tls")
    assert tls.status.value == "failure"
    assert tls.code == "network.tls_interception"
    assert "intercepte" in tls.detail


def test_portal_407_inside_the_tunnel_is_not_the_proxys(ca: trustme.CA, ca_bundle: Path) -> None:
    from tests.integration.connectivity.conftest import FEED_PATH
    from tests.support.netservers import Route

    routes = {
        "/authentifier/1.0/": Route(407, b"", "text/plain"),
        FEED_PATH: Route(200, b'{"info": {"version": "0.1.0"}}'),
    }
    with https_server(ca.issue_cert("localhost"), routes) as server, forward_proxy() as proxy:
        conn = connection(
            server, ca_bundle, type="proxy", proxy={"host": "127.0.0.1", "port": proxy.port}
        )
        report = run_connection_test(conn, targets(server))
    assert report.step("proxy.auth").status.value == "ok"
    http = report.step("auth.http")
    assert http.status.value == "failure"
    assert http.code == "portal.request_refused"
    assert "dangereuse" in http.detail


def test_settings_step_findings(portal: HttpsServer, ca_bundle: Path, tmp_path: Path) -> None:
    missing = connection(portal, tmp_path / "absent.pem")
    step = run_connection_test(missing, targets(portal)).step("settings")
    assert step.status.value == "failure" and "absent.pem" in step.detail
    no_password = connection(
        portal,
        ca_bundle,
        type="proxy",
        mode="securise",
        proxy={"host": "127.0.0.1", "port": 9, "login": "bob"},
    )
    step = run_connection_test(no_password, targets(portal)).step("settings")
    assert step.status.value == "warning"
    assert "aucun mot de passe" in step.detail and "en clair" in step.detail
