"""Profiles and base URLs come from settings."""

from __future__ import annotations

import pytest

from dsnlink.errors import ConfigurationError
from dsnlink.portal import endpoints_from_settings
from dsnlink.settings import Settings, get_settings


def test_a_fresh_installation_talks_to_the_local_simulator() -> None:
    e = endpoints_from_settings(get_settings())
    assert e.profile == "simulator"
    assert e.auth_url == "http://127.0.0.1:8765/authentifier/1.0/"
    assert e.deposit_url() == "http://127.0.0.1:8765/deposer-dsn/1.0/"
    assert e.service_code == "97"


@pytest.mark.parametrize(
    ("profile", "auth", "deposit", "service"),
    [
        ("production", "services.net-entreprises.fr", "depot.dsnrg.", "25"),
        ("test", "test-services.net-entreprises.fr", "depot-edit.dsnrg.", "97"),
        ("msa", "services.net-entreprises.fr", "depot.dsnra.", "26"),
        ("msa-test", "test-services.net-entreprises.fr", "depot-edit.dsnra.", "94"),
    ],
)
def test_profiles(profile: str, auth: str, deposit: str, service: str) -> None:
    e = endpoints_from_settings(Settings(portal_profile=profile))  # type: ignore[arg-type]
    assert e.auth_url == f"https://{auth}/authentifier/1.0/"
    assert e.deposit_url("2.0").startswith(f"https://{deposit}")
    assert e.deposit_url("2.0").endswith("/deposer-dsn/2.0/")
    assert e.service_code == service
    assert e.consultation_url("lister-depots", "20260101000000").startswith("https://consultation")


def test_overrides_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSNLINK_PORTAL_PROFILE", "production")
    monkeypatch.setenv("DSNLINK_PORTAL_DEPOSIT_URL", "https://depot.example.test/")
    monkeypatch.setenv("DSNLINK_PORTAL_SERVICE_CODE", "98")
    monkeypatch.setenv("DSNLINK_PORTAL_API_VERSION", "2.0")
    monkeypatch.setenv("DSNLINK_PORTAL_DOWNLOAD_HOSTS", "files.example.test, other.test")
    e = endpoints_from_settings(Settings())
    assert e.deposit_url() == "https://depot.example.test/deposer-dsn/2.0/"
    assert e.service_code == "98"
    assert {"files.example.test", "other.test", "depot.example.test"} <= e.download_hosts
    assert e.auth_url.startswith("https://services.net-entreprises.fr")


def test_custom_profile_needs_every_url() -> None:
    with pytest.raises(ConfigurationError) as caught:
        endpoints_from_settings(Settings(portal_profile="custom", portal_auth_url="https://a"))
    assert "DSNLINK_PORTAL_DEPOSIT_URL" in (caught.value.remedy or "")


@pytest.mark.parametrize(
    "overrides",
    [{"portal_auth_url": "ftp://x"}, {"portal_service_code": "250"}, {"portal_simulator_url": "x"}],
)
def test_bad_values_are_configuration_errors(overrides: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        endpoints_from_settings(Settings(**overrides))  # type: ignore[arg-type]
