"""``dsnlink vault`` on a réseau installation (PostgreSQL), as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dsnlink.settings import Settings
from dsnlink.setup import init_installation
from dsnlink.store import SqlSealedSecretStore
from dsnlink.vault.envelope import Vault, open_with
from dsnlink.vault.keys import load_keyring
from dsnlink.vault.protocols import SecretRef
from dsnlink.vault.rotation import keys_in_use

pytestmark = pytest.mark.pg


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dsnlink", "vault", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=os.environ.copy(),
    )


def test_rotate_and_reencrypt_on_the_recorded_database(fresh_pg_url: str) -> None:
    settings = Settings()
    app = init_installation(
        settings,
        name="Cabinet test",
        admin_password="Adm1n-pass-long!",
        database_url_option=fresh_pg_url,
    )
    try:
        store = SqlSealedSecretStore(app.db)
        vault = Vault(load_keyring(settings), store)
        values = {
            SecretRef("identities", f"r{i:02d}", "password"): f"CANARY-pg-{i}" for i in range(20)
        }
        for ref, value in values.items():
            vault.put_secret(ref, value)
        # No DSNLINK_DATABASE_URL: the commands find the database recorded by init.
        rotated = run("rotate-master-key")
        assert rotated.returncode == 0, rotated.stderr
        assert json.loads(rotated.stdout)["changed"] == 20
        reencrypted = run("reencrypt")
        assert reencrypted.returncode == 0, reencrypted.stderr
        assert json.loads(reencrypted.stdout)["changed"] == 20
        ring = load_keyring(settings)
        assert keys_in_use(store) == {ring.active.key_id: 20}
        blobs = {s.ref: s.blob for s in store.iter_sealed(after=None, limit=100)}
        assert {r: open_with(ring, r, b).decode() for r, b in blobs.items()} == values
        assert "CANARY" not in rotated.stdout + rotated.stderr + reencrypted.stdout
    finally:
        app.close()
