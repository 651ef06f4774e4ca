"""Stored connection settings: scopes, per-user overrides, the proxy password in the vault."""

from __future__ import annotations

import json

import pytest

from dsnlink.connectivity.settings import ConnectionMode, ConnectionType
from dsnlink.connectivity.settings_store import (
    INSTALLATION,
    ConnectionSettingsService,
    MemorySettingsRepository,
    user_scope,
)
from dsnlink.errors import InvalidInput
from dsnlink.vault.envelope import Vault
from dsnlink.vault.keys import KeyRing, MasterKey
from dsnlink.vault.memory import MemorySealedSecretStore

CANARY = "CANARY-pr0xy-s3cr3t-7781"


@pytest.fixture
def parts() -> tuple[ConnectionSettingsService, MemorySettingsRepository, MemorySealedSecretStore]:
    repo = MemorySettingsRepository()
    sealed = MemorySealedSecretStore()
    return (
        ConnectionSettingsService(repo, Vault(KeyRing(MasterKey.generate()), sealed)),
        repo,
        sealed,
    )


def test_installation_then_user_override(parts: tuple) -> None:  # type: ignore[type-arg]
    service, repo, _ = parts
    service.update(
        INSTALLATION,
        {"type": "proxy", "proxy": {"host": "proxy.asso.local", "port": 3128, "login": "paie"}},
        proxy_password=CANARY,
    )
    service.update(user_scope(7), {"mode": "etendu"})
    mine = service.resolve(7, environ_proxies={})
    assert mine.type is ConnectionType.PROXY and mine.mode is ConnectionMode.ETENDU
    assert mine.sources["mode"] == "user" and mine.sources["proxy"] == "installation"
    assert mine.proxy_password is not None and mine.proxy_password.get_secret_value() == CANARY
    other = service.resolve(8, environ_proxies={})
    assert other.mode is ConnectionMode.NORMAL
    # Only the keys set at a scope are stored there; never the password.
    assert repo.get(user_scope(7), "connection") == {"mode": "etendu"}
    assert CANARY not in json.dumps(
        [repo.get(s, "connection") for s in (INSTALLATION, user_scope(7))]
    )
    # Removing the override falls back on the installation's value.
    service.update(user_scope(7), {}, unset=("mode",))
    assert service.resolve(7, environ_proxies={}).mode is ConnectionMode.NORMAL
    assert repo.get(user_scope(7), "connection") is None


def test_user_proxy_has_its_own_password(parts: tuple) -> None:  # type: ignore[type-arg]
    service, _, sealed = parts
    service.update(
        INSTALLATION,
        {"type": "proxy", "proxy": {"host": "a", "port": 1, "login": "x"}},
        proxy_password="installation-pass",
    )
    service.update(
        user_scope(3),
        {"proxy": {"host": "b", "port": 2, "login": "y"}},
        proxy_password="user-pass",
    )
    assert service.proxy_password(3).get_secret_value() == "user-pass"  # type: ignore[union-attr]
    assert service.proxy_password(4).get_secret_value() == "installation-pass"  # type: ignore[union-attr]
    assert all(b"pass" not in s.blob for s in sealed.iter_sealed(after=None, limit=10))
    service.update(INSTALLATION, {}, proxy_password=None)
    assert service.proxy_password(4) is None


def test_invalid_change_is_refused_and_nothing_saved(parts: tuple) -> None:  # type: ignore[type-arg]
    service, repo, _ = parts
    with pytest.raises(InvalidInput):
        service.update(INSTALLATION, {"type": "proxy"})  # no proxy host
    with pytest.raises(InvalidInput):
        service.update(INSTALLATION, {"colour": "blue"})
    assert repo.get(INSTALLATION, "connection") is None


def test_user_override_validated_against_installation(parts: tuple) -> None:  # type: ignore[type-arg]
    service, _, _ = parts
    service.update(INSTALLATION, {"type": "proxy", "proxy": {"host": "p", "port": 8080}})
    # Valid for this user because the installation supplies the proxy.
    service.update(user_scope(1), {"type": "proxy", "mode": "securise"})
    with pytest.raises(InvalidInput):
        service.update(user_scope(1), {"proxy": {"host": "p", "port": 99999}})
