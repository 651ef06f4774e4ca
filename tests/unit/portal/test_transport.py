"""The HTTP adapter: presets, TLS settings, and httpx errors translated into the tree."""

from __future__ import annotations

import os
import socket
import ssl
from pathlib import Path

import httpx
import pytest
import trustme

from dsnlink.errors import (
    ConfigurationError,
    ConnectError,
    ConnectionLost,
    DnsError,
    NetworkTimeout,
    ProtocolError,
    ProxyError,
    TlsError,
)
from dsnlink.portal import ETENDU, NORMAL, SECURISE, PortalClient, PortalIdentity
from dsnlink.portal.options import _shared_context
from dsnlink.portal.transport import (
    TransportOptions,
    goes_through_proxy,
    options_from_settings,
    ssl_context,
    translate_error,
)
from dsnlink.settings import Settings
from tests.unit.portal.fake import OPTIONS, FakePortal, config, raising


def _with_cause(exc: Exception, cause: BaseException) -> Exception:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "via_proxy", "error", "arrived"),
    [
        (
            _with_cause(httpx.ConnectError("x"), socket.gaierror(-2, "Name or service not known")),
            False,
            DnsError,
            False,
        ),
        (
            httpx.ConnectError("[Errno -3] Temporary failure in name resolution"),
            False,
            DnsError,
            False,
        ),
        (httpx.ConnectError("[Errno 111] Connection refused"), False, ConnectError, False),
        (
            _with_cause(httpx.ConnectError("x"), ssl.SSLCertVerificationError("verify failed")),
            False,
            TlsError,
            False,
        ),
        (httpx.ConnectError("[Errno 111] Connection refused"), True, ProxyError, False),
        (httpx.ProxyError("407 Proxy Authentication Required"), True, ProxyError, False),
        (httpx.ConnectTimeout("t"), False, NetworkTimeout, False),
        (httpx.ConnectTimeout("t"), True, ProxyError, False),
        (httpx.PoolTimeout("t"), False, NetworkTimeout, False),
        (httpx.ReadTimeout("t"), False, NetworkTimeout, True),
        (httpx.WriteTimeout("t"), False, NetworkTimeout, True),
        (httpx.ReadError("reset"), False, ConnectionLost, True),
        (httpx.RemoteProtocolError("closed"), False, ConnectionLost, True),
    ],
)
def test_httpx_errors_are_translated(
    exc: httpx.HTTPError, via_proxy: bool, error: type[Exception], arrived: bool
) -> None:
    translated = translate_error(exc, via_proxy=via_proxy, call="x")
    assert type(translated) is error
    assert translated.context["may_have_arrived"] is arrived
    assert translated.message and translated.remedy


def test_proxy_407_is_told_apart() -> None:
    translated = translate_error(
        httpx.ProxyError("407 Proxy Authentication Required"), via_proxy=True
    )
    assert translated.context["proxy_status"] == "407"
    assert "authentification" in translated.message


def test_errors_reach_the_caller_translated(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/authentifier/", raising(httpx.ConnectError("[Errno 111] refused")))
    client = PortalClient(config(), OPTIONS, transport=fake.transport())
    with client as c, pytest.raises(ConnectError) as caught:
        c.authenticate(identity)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_broken_gzip_is_a_protocol_error(identity: PortalIdentity) -> None:
    bad = httpx.Response(
        200, stream=httpx.ByteStream(b"not gzip"), headers={"Content-Encoding": "gzip"}
    )
    fake = FakePortal().on("/authentifier/", bad)
    client = PortalClient(config(), OPTIONS, transport=fake.transport())
    with client as c, pytest.raises(ProtocolError):
        c.authenticate(identity)


def test_presets() -> None:
    assert ETENDU.read_timeout > NORMAL.read_timeout
    assert ETENDU.get_attempts > NORMAL.get_attempts
    assert SECURISE.strict_verification and SECURISE.forbid_extra_ca
    assert "proxy_url" not in repr(TransportOptions(proxy_url="http://u:CANARY-pw@proxy:3128"))


def test_options_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        portal_connection_mode="etendu",
        portal_proxy_url="http://user:CANARY-pw@proxy.local:3128",  # type: ignore[arg-type]
        portal_trust_env=True,
    )
    options = options_from_settings(settings)
    assert options.read_timeout == ETENDU.read_timeout
    assert options.proxy_url == "http://user:CANARY-pw@proxy.local:3128"
    assert options.trust_env
    assert "CANARY-pw" not in repr(settings)


def test_tls_is_always_verified() -> None:
    ctx = ssl_context(NORMAL)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    strict = ssl_context(SECURISE)
    assert strict.verify_flags & ssl.VERIFY_X509_STRICT
    assert ssl_context(TransportOptions(min_tls="1.3")).minimum_version == ssl.TLSVersion.TLSv1_3


def test_extra_ca_bundle(tmp_path: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    before = len(ssl_context(NORMAL).get_ca_certs())
    after = len(ssl_context(TransportOptions(ca_bundle=bundle)).get_ca_certs())
    assert after == before + 1
    with pytest.raises(ConfigurationError):
        ssl_context(TransportOptions(ca_bundle=bundle, forbid_extra_ca=True))
    ssl_context(TransportOptions(ca_bundle=bundle, forbid_extra_ca=True, ca_is_simulator=True))
    with pytest.raises(ConfigurationError):
        ssl_context(TransportOptions(ca_bundle=tmp_path / "missing.pem"))


def test_securise_mode_ignores_the_system_trust_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CA added to the system store (SSL_CERT_FILE stands for it) is trusted in « Normal »
    # mode, never in « Sécurisé » mode, which only trusts certifi's CAs.
    ca = trustme.CA()
    system = tmp_path / "system.pem"
    ca.cert_pem.write_to_path(str(system))
    der = ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode())
    monkeypatch.setenv("SSL_CERT_FILE", str(system))
    _shared_context.cache_clear()
    try:
        normal = set(ssl_context(NORMAL).get_ca_certs(binary_form=True))
        secure = set(ssl_context(SECURISE).get_ca_certs(binary_form=True))
    finally:
        _shared_context.cache_clear()
    assert der in normal
    assert der not in secure
    assert secure  # certifi's CAs are still there


def test_system_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://depot.dsnrg.net-entreprises.fr/deposer-dsn/1.0/"
    assert not goes_through_proxy(TransportOptions(trust_env=True), url)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.local:3128")
    assert goes_through_proxy(TransportOptions(trust_env=True), url)
    assert not goes_through_proxy(TransportOptions(trust_env=False), url)
    monkeypatch.setenv("NO_PROXY", ".net-entreprises.fr")
    assert not goes_through_proxy(TransportOptions(trust_env=True), url)
    assert goes_through_proxy(TransportOptions(proxy_url="http://p:1"), url)


def test_tls_contexts_are_shared_until_the_bundle_changes(tmp_path: Path) -> None:
    assert ssl_context(NORMAL) is ssl_context(TransportOptions(read_timeout=1))
    assert ssl_context(NORMAL) is not ssl_context(SECURISE)
    bundle = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    first = ssl_context(TransportOptions(ca_bundle=bundle))
    assert ssl_context(TransportOptions(ca_bundle=bundle)) is first
    trustme.CA().cert_pem.write_to_path(str(bundle), append=True)
    os.utime(bundle, ns=(1, 1))
    refreshed = ssl_context(TransportOptions(ca_bundle=bundle))
    assert refreshed is not first
    assert len(refreshed.get_ca_certs()) == len(first.get_ca_certs()) + 1
