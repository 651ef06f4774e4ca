"""Connection settings: validation, per-user override, resolution, proxy routes."""

from __future__ import annotations

import ssl

import pytest
from pydantic import SecretStr

from dsnlink.connectivity.settings import (
    DEFAULT_UPDATE_FEED_URL,
    ConnectionMode,
    ConnectionType,
    parse_settings,
    resolve,
)
from dsnlink.errors import InvalidInput


def test_defaults() -> None:
    conn = resolve(environ_proxies={})
    assert conn.type is ConnectionType.SYSTEM
    assert conn.mode is ConnectionMode.NORMAL
    assert conn.settings.update_feed_url == DEFAULT_UPDATE_FEED_URL
    assert set(conn.sources.values()) == {"default"}


def test_user_overrides_key_by_key() -> None:
    installation = {"type": "proxy", "proxy": {"host": "proxy.local", "port": 3128}}
    conn = resolve(installation, {"mode": "etendu"})
    assert conn.type is ConnectionType.PROXY
    assert conn.mode is ConnectionMode.ETENDU
    assert conn.sources["type"] == "installation" and conn.sources["mode"] == "user"
    assert conn.connect_timeout == 30 and conn.profile.retries == 3


def test_timeouts_can_be_overridden() -> None:
    conn = resolve({"type": "direct", "connect_timeout": 2.5})
    assert conn.connect_timeout == 2.5 and conn.read_timeout == 60


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "proxy"},
        {"type": "proxy", "proxy": {"host": "p", "port": 0}},
        {"type": "proxy", "proxy": {"host": "user@p", "port": 8080}},
        {"type": "teleport"},
        {"mode": "turbo"},
        {"update_feed_url": "ftp://x"},
        {"unknown": 1},
    ],
)
def test_invalid_settings_are_refused_in_french(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_settings(bad)
    assert info.value.message.startswith("Paramètres de connexion incorrects")


def test_proxy_route_and_password_never_in_repr() -> None:
    conn = resolve(
        {"type": "proxy", "proxy": {"host": "proxy.local", "port": 3128, "login": "bob"}},
        proxy_password=SecretStr("CANARY-pr0xy"),
    )
    route = conn.proxy_for("https://services.net-entreprises.fr/")
    assert route is not None
    assert route.url == "http://proxy.local:3128"
    assert "CANARY" not in repr(route) and "CANARY" not in repr(conn)
    assert route.url_with_credentials() == "http://bob:CANARY-pr0xy@proxy.local:3128"


def test_direct_has_no_proxy() -> None:
    assert resolve({"type": "direct"}).proxy_for("https://x.fr/") is None


@pytest.mark.parametrize(
    ("no_proxy", "host", "bypassed"),
    [
        ("localhost,127.0.0.1", "localhost", True),
        (".net-entreprises.fr", "services.net-entreprises.fr", True),
        ("net-entreprises.fr", "services.net-entreprises.fr", True),
        ("*.net-entreprises.fr", "depot.dsnrg.net-entreprises.fr", True),
        ("entreprises.fr", "services.net-entreprises.fr", False),
        ("ises.fr", "services.net-entreprises.fr", False),
        ("*", "anything.example", True),
        ("", "services.net-entreprises.fr", False),
    ],
)
def test_system_proxy_exclusions(no_proxy: str, host: str, bypassed: bool) -> None:
    conn = resolve(
        {"type": "system"},
        environ_proxies={"https": "http://u:p@corp-proxy:8080", "no": no_proxy},
    )
    route = conn.proxy_for(f"https://{host}/")
    assert (route is None) is bypassed
    if route is not None:
        assert (route.host, route.port, route.login, route.origin) == (
            "corp-proxy",
            8080,
            "u",
            "https_proxy",
        )


def test_system_without_proxy_variables_is_direct() -> None:
    assert resolve({"type": "system"}, environ_proxies={}).proxy_for("https://x.fr/") is None


def test_modes_tls_contexts() -> None:
    normal = resolve({"type": "direct"}).ssl_context()
    secure = resolve({"type": "direct", "mode": "securise"}).ssl_context()
    assert normal.verify_mode == ssl.CERT_REQUIRED and normal.check_hostname
    assert secure.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert secure.verify_flags & ssl.VERIFY_X509_STRICT
    assert not normal.verify_flags & ssl.VERIFY_X509_STRICT


def test_modes_follow_the_portal_presets() -> None:
    from dsnlink.portal.transport import PRESETS

    for mode in ConnectionMode:
        conn = resolve({"type": "direct", "mode": mode.value})
        preset = PRESETS[mode.value]  # type: ignore[index]
        assert conn.connect_timeout == preset.connect_timeout
        assert conn.read_timeout == preset.read_timeout
        assert conn.profile.strict is preset.strict_verification
