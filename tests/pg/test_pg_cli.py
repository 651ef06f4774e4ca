"""A réseau installation on PostgreSQL, through the real command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli_helpers import ADMIN_PW, SET_DECLARANT, invoke, run

pytestmark = pytest.mark.pg

CANARY = "CANARY-s3cr3t-PgR3s"


def test_reseau_init_and_use(hermetic_env: Path, fresh_pg_url: str) -> None:
    plain_url = fresh_pg_url.replace("postgresql+psycopg://", "postgresql://")
    r = run(
        "init",
        "--name",
        "Cabinet",
        "--tiers-de-confiance",
        "Cabinet Exemple",
        "--database-url",
        plain_url,
        "--json",
        DSNLINK_ADMIN_PASSWORD=ADMIN_PW,
    )
    assert r.code == 0, r.stderr
    assert r.json()["mode"] == "reseau" and r.json()["tiers_de_confiance"] == "Cabinet Exemple"
    recorded = hermetic_env / "database.url"
    assert recorded.stat().st_mode & 0o777 == 0o600
    # The next commands of this workstation find the database through the recorded address.
    env = {"DSNLINK_USER": "Administrateur", "DSNLINK_PASSWORD": ADMIN_PW}
    r = invoke("users", "list", "--json", **env)
    assert r.code == 0, r.stderr
    r = invoke(
        *SET_DECLARANT,
        input=CANARY + "\n",
        **env,
    )
    assert r.code == 0, r.stderr
    # Several logins of one user (several workstations): last-admin rule still holds.
    assert invoke("users", "disable", "Administrateur", **env).code == 6
    # A second init on the same database is refused.
    r = invoke("init", "--database-url", plain_url, DSNLINK_ADMIN_PASSWORD=ADMIN_PW)
    assert r.code == 6
    import psycopg

    with psycopg.connect(plain_url) as conn:
        blobs = conn.execute("SELECT blob FROM secrets").fetchall()
        audit = conn.execute("SELECT detail::text FROM audit_log").fetchall()
    assert blobs and all(CANARY.encode() not in bytes(b[0]) for b in blobs)
    assert all(CANARY not in a[0] for a in audit)
