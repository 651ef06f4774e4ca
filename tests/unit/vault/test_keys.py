"""Master keys and their providers: environment, key file, OS keyring; fail closed."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked

from dsnlink.errors import MasterKeyError
from dsnlink.redaction import redact_text
from dsnlink.settings import Settings
from dsnlink.vault import open_vault
from dsnlink.vault.keys import (
    EXPORT_WARNING,
    KeyRing,
    KeySource,
    MasterKey,
    create_master_key,
    dumps_keyring,
    export_master_key,
    find_keyring,
    load_keyring,
    save_keyring,
)
from dsnlink.vault.memory import MemorySealedSecretStore
from dsnlink.vault.protocols import SecretRef

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


class FakeOsKeyring(KeyringBackend):
    """A keyring backend in memory, standing for the OS one (Secret Service, Keychain...)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.locked = False

    def get_password(self, service: str, username: str) -> str | None:
        if self.locked:
            raise KeyringLocked("locked")
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.locked:
            raise KeyringLocked("locked")
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


@pytest.fixture
def os_keyring() -> Iterator[FakeOsKeyring]:
    previous = keyring.get_keyring()
    fake = FakeOsKeyring()
    keyring.set_keyring(fake)
    yield fake
    keyring.set_keyring(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- MasterKey and KeyRing -------------------------------------------------------------------


def test_master_key_is_32_bytes_with_a_stable_short_id() -> None:
    key = MasterKey(bytes(32))
    assert key.key_id == MasterKey(bytes(32)).key_id
    assert len(key.key_id) == 8
    assert MasterKey.generate().key_id != MasterKey.generate().key_id
    with pytest.raises(MasterKeyError):
        MasterKey(bytes(16))


def test_rotated_ring_keeps_the_old_key_retired() -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    ring = KeyRing(old).rotated(new)
    assert ring.active == new and ring.retired == (old,)
    assert ring.get(old.key_id) == old and ring.get("00000000") is None
    assert ring.without([old.key_id]).retired == ()
    with pytest.raises(MasterKeyError):
        ring.without([new.key_id])


# --- environment variable --------------------------------------------------------------------


def test_env_key_is_used_first(monkeypatch: pytest.MonkeyPatch) -> None:
    key = MasterKey.generate()
    monkeypatch.setenv("DSNLINK_MASTER_KEY", key.encoded())
    create_master_key(Settings(master_key=None), where=KeySource.FILE)  # a file key too
    ring = load_keyring(Settings())
    assert ring.active == key and ring.source is KeySource.ENV


def test_env_may_list_retired_keys_or_hold_an_export(monkeypatch: pytest.MonkeyPatch) -> None:
    new, old = MasterKey.generate(), MasterKey.generate()
    monkeypatch.setenv("DSNLINK_MASTER_KEY", f" {new.encoded()} ,\n{old.encoded()} ")
    ring = load_keyring(Settings())
    assert ring.active == new and ring.retired == (old,)
    monkeypatch.setenv("DSNLINK_MASTER_KEY", dumps_keyring(KeyRing(old, (new,))))
    ring = load_keyring(Settings())
    assert ring.active == old and ring.retired == (new,)


@pytest.mark.parametrize(
    "value",
    [
        "not base64!",
        base64.b64encode(bytes(16)).decode(),
        base64.b64encode(bytes(33)).decode(),
        ",",
        '{"format": "other"}',
        "{broken json",
    ],
)
def test_malformed_env_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DSNLINK_MASTER_KEY", value)
    with pytest.raises(MasterKeyError) as info:
        load_keyring(Settings())
    assert "mal formée" in info.value.message


def test_env_key_cannot_be_saved_or_created(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSNLINK_MASTER_KEY", MasterKey.generate().encoded())
    settings = Settings()
    with pytest.raises(MasterKeyError):
        save_keyring(settings, load_keyring(settings))
    with pytest.raises(MasterKeyError):
        create_master_key(settings)


# --- key file --------------------------------------------------------------------------------


def test_no_key_anywhere_fails_closed() -> None:
    settings = Settings()
    assert find_keyring(settings) is None
    with pytest.raises(MasterKeyError) as info:
        load_keyring(settings)
    assert "Aucune clé maîtresse" in info.value.message
    with pytest.raises(MasterKeyError):
        open_vault(settings, MemorySealedSecretStore())


@posix_only
def test_created_key_file_is_private_and_loads_back() -> None:
    settings = Settings()
    ring = create_master_key(settings)
    path = settings.effective_master_key_file
    assert ring.source is KeySource.FILE
    assert mode(path) == 0o600
    assert load_keyring(settings).active == ring.active
    assert json.loads(path.read_text())["active"] == ring.active.key_id


def test_an_existing_key_is_never_replaced() -> None:
    settings = Settings()
    ring = create_master_key(settings)
    with pytest.raises(MasterKeyError) as info:
        create_master_key(settings)
    assert "existe déjà" in info.value.message
    assert load_keyring(settings).active == ring.active


@posix_only
@pytest.mark.parametrize("bad_mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_a_key_file_open_to_others_is_refused(bad_mode: int) -> None:
    settings = Settings()
    create_master_key(settings)
    path = settings.effective_master_key_file
    path.chmod(bad_mode)
    with pytest.raises(MasterKeyError) as info:
        load_keyring(settings)
    assert "chmod 600" in str(info.value)
    assert info.value.context["mode"] == f"{bad_mode:04o}"


@posix_only
def test_a_key_file_restricted_further_is_accepted() -> None:
    settings = Settings()
    create_master_key(settings)
    settings.effective_master_key_file.chmod(0o400)
    assert load_keyring(settings).source is KeySource.FILE


@posix_only
@pytest.mark.parametrize(
    "content", ["", "garbage", '{"format": "dsnlink-master-keys", "version": 1}']
)
def test_a_damaged_key_file_is_a_clear_error(content: str) -> None:
    settings = Settings()
    path = settings.effective_master_key_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(MasterKeyError):
        load_keyring(settings)


@posix_only
def test_a_key_id_that_does_not_match_its_key_is_refused() -> None:
    settings = Settings()
    create_master_key(settings)
    path = settings.effective_master_key_file
    doc = json.loads(path.read_text())
    ((key_id, _value),) = doc["keys"].items()
    doc["keys"] = {key_id: MasterKey.generate().encoded()}
    path.write_text(json.dumps(doc))
    with pytest.raises(MasterKeyError):
        load_keyring(settings)


@posix_only
def test_save_is_atomic_and_keeps_the_file_private() -> None:
    settings = Settings()
    ring = create_master_key(settings)
    rotated = ring.rotated(MasterKey.generate())
    save_keyring(settings, rotated)
    path = settings.effective_master_key_file
    assert mode(path) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left
    loaded = load_keyring(settings)
    assert loaded.active == rotated.active and loaded.retired == (ring.active,)


def test_loaded_keys_never_print() -> None:
    settings = Settings()
    ring = create_master_key(settings)
    loaded = load_keyring(settings)
    line = f"debug {ring.active.encoded()} {loaded!r} {loaded.active!r}"
    assert ring.active.encoded() not in redact_text(line)
    assert ring.active.encoded() not in repr(loaded)


# --- export ----------------------------------------------------------------------------------


@posix_only
def test_export_writes_a_private_file_that_restores_the_ring(tmp_path: Path) -> None:
    settings = Settings()
    ring = create_master_key(settings).rotated(MasterKey.generate())
    target = tmp_path / "backup" / "dsnlink-key.json"
    text = export_master_key(ring, target)
    assert mode(target) == 0o600
    assert target.read_text() == text
    with pytest.raises(MasterKeyError):
        export_master_key(ring, target)  # never over an existing file
    # Disaster recovery: the export is a valid key file.
    settings.effective_master_key_file.unlink()
    target.replace(settings.effective_master_key_file)
    restored = load_keyring(settings)
    assert restored.active == ring.active and restored.retired == ring.retired
    assert "clé maîtresse" in EXPORT_WARNING and "hors ligne" in EXPORT_WARNING


# --- OS keyring ------------------------------------------------------------------------------


def test_keyring_is_used_when_enabled_and_available(
    monkeypatch: pytest.MonkeyPatch, os_keyring: FakeOsKeyring
) -> None:
    monkeypatch.setenv("DSNLINK_KEYRING", "true")
    settings = Settings()
    ring = create_master_key(settings)
    assert ring.source is KeySource.KEYRING
    assert not settings.effective_master_key_file.exists()
    assert len(os_keyring.entries) == 1
    assert load_keyring(settings).active == ring.active
    rotated = ring.rotated(MasterKey.generate())
    save_keyring(settings, rotated)
    assert load_keyring(settings).retired == (ring.active,)


def test_keyring_disabled_is_not_used(os_keyring: FakeOsKeyring) -> None:
    settings = Settings()  # the test environment sets DSNLINK_KEYRING=false
    assert create_master_key(settings).source is KeySource.FILE
    assert os_keyring.entries == {}


def test_a_locked_keyring_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, os_keyring: FakeOsKeyring
) -> None:
    monkeypatch.setenv("DSNLINK_KEYRING", "true")
    settings = Settings()
    create_master_key(settings)
    os_keyring.locked = True
    with pytest.raises(MasterKeyError) as info:
        load_keyring(settings)
    assert "trousseau" in info.value.message


def test_the_fail_backend_counts_as_no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        monkeypatch.setenv("DSNLINK_KEYRING", "true")
        settings = Settings()
        with pytest.raises(MasterKeyError):
            load_keyring(settings)
        assert create_master_key(settings).source is KeySource.FILE
    finally:
        keyring.set_keyring(previous)


# --- the factory -----------------------------------------------------------------------------


def test_open_vault_uses_the_configured_key() -> None:
    settings = Settings()
    create_master_key(settings)
    store = MemorySealedSecretStore()
    ref = SecretRef("identities", "1", "password")
    open_vault(settings, store).put_secret(ref, "CANARY-s3cr3t-factory")
    assert open_vault(settings, store).get_secret(ref) == "CANARY-s3cr3t-factory"
