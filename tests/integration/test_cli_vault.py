"""``dsnlink vault`` commands, run as real subprocesses over a real SQLite installation."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dsnlink.settings import Settings
from dsnlink.setup import init_installation
from dsnlink.store import SqlSealedSecretStore
from dsnlink.vault.blob import parse
from dsnlink.vault.envelope import Vault, open_with, seal_with
from dsnlink.vault.keys import MasterKey, load_keyring
from dsnlink.vault.protocols import SecretRef
from dsnlink.vault.rotation import keys_in_use

CANARY = "CANARY-s3cr3t-cli-vault"
N = 30


@dataclass
class Installation:
    settings: Settings
    store: SqlSealedSecretStore
    values: dict[SecretRef, str]
    db_path: Path

    def blobs(self) -> dict[SecretRef, bytes]:
        return {s.ref: s.blob for s in self.store.iter_sealed(after=None, limit=10_000)}

    def assert_all_open(self) -> None:
        # One read per batch (get_secret would be a transaction per secret).
        ring = load_keyring(self.settings)
        opened = {r: open_with(ring, r, blob).decode() for r, blob in self.blobs().items()}
        assert opened == self.values


@pytest.fixture
def installation() -> Iterator[Installation]:
    settings = Settings()
    app = init_installation(settings, name="Association test", admin_password="Adm1n-pass-long!")
    store = SqlSealedSecretStore(app.db)
    vault = Vault(load_keyring(settings), store)
    values = {
        SecretRef("identities", f"id-{i:03d}", "password"): f"{CANARY}-{i:03d}" for i in range(N)
    }
    for ref, value in values.items():
        vault.put_secret(ref, value)
    yield Installation(settings, store, values, settings.sqlite_path)
    app.close()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "dsnlink", "vault", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=os.environ.copy(),
    )
    # rich wraps messages at the terminal's width: compare words, not line breaks.
    result.stderr = " ".join(result.stderr.split())
    return result


def assert_no_canary(result: subprocess.CompletedProcess[str], inst: Installation) -> None:
    assert CANARY not in result.stdout and CANARY not in result.stderr
    for path in inst.db_path.parent.glob("dsnlink.sqlite3*"):
        assert CANARY.encode() not in path.read_bytes()


def test_rotate_master_key(installation: Installation) -> None:
    old_key = load_keyring(installation.settings).active
    before = installation.blobs()
    result = run("rotate-master-key", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["operation"] == "rotate" and report["complete"] is True
    assert report["scanned"] == report["changed"] == N
    ring = load_keyring(installation.settings)
    assert ring.retired == (old_key,) and report["active_key_id"] == ring.active.key_id
    assert keys_in_use(installation.store) == {ring.active.key_id: N}
    for ref, blob in installation.blobs().items():
        assert parse(blob).ciphertext == parse(before[ref]).ciphertext
    installation.assert_all_open()
    assert_no_canary(result, installation)
    assert not list(installation.settings.data_dir.glob("*.checkpoint.json"))


def test_rotate_for_people_shows_a_summary(installation: Installation) -> None:
    result = run("rotate-master-key")
    assert result.returncode == 0, result.stderr
    assert "Changement de clé terminé" in result.stdout
    assert f"secrets traités : {N}" in result.stdout
    assert "export-key" in result.stderr


def test_dry_runs_change_nothing(installation: Installation) -> None:
    before = installation.blobs()
    key_file = installation.settings.effective_master_key_file.read_text()
    for command in ("rotate-master-key", "reencrypt"):
        result = run(command, "--dry-run", "--json")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["dry_run"] is True and report["changed"] == N
    assert installation.blobs() == before
    assert installation.settings.effective_master_key_file.read_text() == key_file


def test_reencrypt_and_resume_from_a_checkpoint(installation: Installation) -> None:
    before = installation.blobs()
    ring = load_keyring(installation.settings)
    refs = sorted(installation.values)
    # As left by a run killed after its first batches.
    checkpoint = installation.settings.data_dir / "vault-reencrypt.checkpoint.json"
    ref = refs[19]
    checkpoint.write_text(
        json.dumps(
            {"active_key_id": ring.active.key_id}
            | {"table": ref.table, "row_id": ref.row_id}
            | {"field": ref.field}
        )
    )
    result = run("reencrypt", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["scanned"] == N - 20 and report["resumed_after"] == "identities/id-019/password"
    after = installation.blobs()
    assert [after[r] == before[r] for r in refs] == [True] * 20 + [False] * (N - 20)
    assert not checkpoint.exists()
    result = run("reencrypt", "--json")
    assert json.loads(result.stdout)["scanned"] == N
    installation.assert_all_open()
    assert_no_canary(result, installation)


def test_interrupted_rotation_is_finished_with_resume(installation: Installation) -> None:
    settings = installation.settings
    old_ring = load_keyring(settings)
    # A rotation killed half-way: new ring saved, some blobs rewrapped.
    from dsnlink.vault.envelope import rewrap
    from dsnlink.vault.keys import save_keyring

    new_ring = old_ring.rotated(MasterKey.generate())
    save_keyring(settings, new_ring)
    for ref, blob in list(installation.blobs().items())[:10]:
        new = rewrap(new_ring, ref, blob)
        assert new is not None and installation.store.replace_sealed(ref, blob, new)
    result = run("rotate-master-key", "--resume", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["changed"], report["unchanged"]) == (N - 10, 10)
    assert load_keyring(settings).active == new_ring.active
    assert keys_in_use(installation.store) == {new_ring.active.key_id: N}
    forget = run("forget-retired-keys", "--json")
    assert json.loads(forget.stdout)["forgotten"] == [old_ring.active.key_id]
    assert load_keyring(settings).retired == ()
    installation.assert_all_open()


def test_unreadable_secret_exits_8_and_is_left_alone(installation: Installation) -> None:
    ref = SecretRef("identities", "id-005", "password")
    foreign = seal_with(MasterKey.generate(), ref, b"x")
    installation.store.put_sealed(ref, foreign)
    result = run("reencrypt", "--json")
    assert result.returncode == 8
    report = json.loads(result.stdout)
    assert report["failed"] == [{"table": "identities", "row_id": "id-005", "field": "password"}]
    assert installation.store.get_sealed(ref) == foreign
    human = run("reencrypt", "--restart")
    assert human.returncode == 8 and "illisible" in human.stderr + human.stdout


def test_export_key(installation: Installation, tmp_path: Path) -> None:
    ring = load_keyring(installation.settings)
    result = run("export-key")
    assert result.returncode == 0, result.stderr
    assert ring.active.encoded() in result.stdout
    assert "ATTENTION" in result.stderr and ring.active.encoded() not in result.stderr
    target = tmp_path / "export.json"
    result = run("export-key", "--to", str(target))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert ring.active.encoded() not in result.stdout + result.stderr
    again = run("export-key", "--to", str(target))
    assert again.returncode == 3 and "existe déjà" in again.stderr


def test_no_key_fails_closed_then_a_new_key_is_created(installation: Installation) -> None:
    lost = load_keyring(installation.settings).active
    key_file = installation.settings.effective_master_key_file
    key_file.unlink()
    result = run("reencrypt", "--json")
    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "configuration.master_key"
    assert "Aucune clé maîtresse" in result.stdout
    # Disaster recovery without an export: a new key, the old secrets named as unreadable.
    created = run("create-key", "--file")
    assert created.returncode == 0, created.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "saisissez-les à nouveau" in created.stderr
    status = json.loads(run("status", "--json").stdout)
    new = load_keyring(installation.settings).active
    assert status["active_key_id"] == new.key_id and status["source"] == "file"
    assert status["unknown_key_ids"] == [lost.key_id]
    assert status["sealed_by_key_id"] == {lost.key_id: N}


def test_status_counts_secrets_per_key(installation: Installation) -> None:
    result = run("status")
    assert result.returncode == 0, result.stderr
    active = load_keyring(installation.settings).active.key_id
    assert f"Clé active : {active}" in result.stdout
    assert f"secrets sous la clé {active} : {N}" in result.stdout


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_key_file_readable_by_others_is_refused(installation: Installation) -> None:
    installation.settings.effective_master_key_file.chmod(0o644)
    result = run("rotate-master-key")
    assert result.returncode == 3
    assert "chmod 600" in result.stderr
    installation.settings.effective_master_key_file.chmod(0o600)
    installation.assert_all_open()


def test_env_key_cannot_be_rotated_in_place(
    installation: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    ring = load_keyring(installation.settings)
    monkeypatch.setenv("DSNLINK_MASTER_KEY", ring.active.encoded())
    result = run("rotate-master-key")
    assert result.returncode == 3 and "--resume" in result.stderr
    # The documented procedure: new key first in the variable, then --resume.
    new = MasterKey.generate()
    monkeypatch.setenv("DSNLINK_MASTER_KEY", f"{new.encoded()},{ring.active.encoded()}")
    result = run("rotate-master-key", "--resume", "--json")
    assert result.returncode == 0, result.stderr
    assert keys_in_use(installation.store) == {new.key_id: N}


def test_rotation_killed_mid_walk_loses_nothing(installation: Installation) -> None:
    # Enough secrets for many batches, so that the process is still working when killed.
    from dsnlink.store import SqlStore

    vault = Vault(load_keyring(installation.settings), installation.store)
    extra = {
        SecretRef("identities", f"kill-{i:05d}", "password"): f"{CANARY}-k{i}" for i in range(3000)
    }
    with SqlStore(installation.store._db).write() as repos:
        for ref, value in extra.items():
            repos.secrets.put_sealed(ref, vault.seal(ref, value.encode()))
    installation.values |= extra
    old = load_keyring(installation.settings).active
    checkpoint = installation.settings.data_dir / "vault-rotate.checkpoint.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "dsnlink", "vault", "rotate-master-key", "--batch-size", "20"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.kill()
    assert process.wait() == -signal.SIGKILL, "finished before it could be killed"
    # Killed half-way: the saved ring opens every secret, old and new key alike.
    ring = load_keyring(installation.settings)
    assert ring.retired == (old,)
    usage = keys_in_use(installation.store)
    assert usage.get(ring.active.key_id, 0) >= 20 and usage.get(old.key_id, 0) > 0
    installation.assert_all_open()
    result = run("rotate-master-key", "--resume", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["resumed_after"] is not None and report["complete"]
    assert keys_in_use(installation.store) == {ring.active.key_id: N + 3000}
    installation.assert_all_open()
