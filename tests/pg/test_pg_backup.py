"""Backup and restore of a réseau installation against the real local PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from dsnlink.maintenance.backup import take_backup
from dsnlink.settings import get_settings
from dsnlink.store import open_database
from dsnlink.store.schema import check_schema
from tests.conftest import ROOT, SRC
from tests.integration.cli_helpers import ADMIN_PW, invoke
from tests.support.ledger_fill import fill

pytestmark = pytest.mark.pg

WRITER = """
import os, sys
from dsnlink.store import open_database
from tests.support.ledger_fill import fill
db = open_database(sys.argv[1])
n, stop = int(sys.argv[2]), sys.argv[3]
while not os.path.exists(stop):
    fill(db, 1, returns_per=2, start=n)
    n += 1
print(n)
"""


@pytest.fixture
def other_pg_url(pg_url: str) -> Iterator[str]:
    """A second empty database on the test server (the restore target)."""
    name = f"dsnlink_t_{uuid.uuid4().hex[:12]}"
    admin = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(pg_url)
            .set(drivername="postgresql", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _count(url: str, table: str) -> int:
    db = open_database(url)
    try:
        with db.read() as conn:
            return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0)
    finally:
        db.dispose()


def test_reseau_backup_while_writing_verify_and_restore(
    hermetic_env: Path, tmp_path: Path, fresh_pg_url: str, other_pg_url: str
) -> None:
    url = fresh_pg_url.replace("postgresql+psycopg://", "postgresql://")
    r = invoke("init", "--database-url", url, "--json", DSNLINK_ADMIN_PASSWORD=ADMIN_PW)
    assert r.code == 0, r.stderr
    db = open_database(url)
    fill(db, 200, returns_per=2)
    db.dispose()
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, "200", str(stop)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(SRC)])},
        stdout=subprocess.PIPE,
        text=True,
    )
    target = tmp_path / "bk"
    target.mkdir()
    try:
        deadline = time.monotonic() + 60
        while _count(url, "envois") < 220:
            assert time.monotonic() < deadline and writer.poll() is None
            time.sleep(0.05)
        result = take_backup(get_settings(), target)
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    final = int(out.strip())
    tables = result.manifest.tables
    assert result.manifest.database == "postgresql"
    # pg_dump and the counts read one and the same snapshot, in the middle of the writes.
    assert 220 <= tables["envois"] < final
    assert tables["deposit_files"] == tables["envois"] == tables["envoi_events"]
    assert tables["return_files"] == 2 * tables["envois"] == result.manifest.returns
    assert ADMIN_PW.encode() not in result.path.read_bytes()

    # verify reloads the dump into a scratch database of the same server, then drops it.
    r = invoke("backup", "verify", str(result.path), "--json")
    assert r.code == 0, r.stdout + r.stderr
    assert any("base temporaire" in c for c in r.json()["checks"])

    # Into another (empty) database: same counts, same schema, usable.
    r = invoke("restore", str(result.path), "--database-url", other_pg_url, "--json")
    assert r.code == 0, r.stdout + r.stderr
    assert _count(other_pg_url, "envois") == tables["envois"]
    assert _count(other_pg_url, "return_files") == tables["return_files"]
    restored = open_database(other_pg_url)
    try:
        check_schema(restored)
    finally:
        restored.dispose()
    r = invoke(
        "users",
        "list",
        "--json",
        DSNLINK_DATABASE_URL=other_pg_url,
        DSNLINK_PASSWORD=ADMIN_PW,
        DSNLINK_USER="Administrateur",
    )
    assert r.code == 0 and r.json()[0]["login"] == "Administrateur"

    # Over the current database: confirmation, then a safety backup first.
    r = invoke("restore", str(result.path), "--json")
    assert r.code == 6
    assert _count(url, "envois") == final
    r = invoke("restore", str(result.path), "--yes", "--json")
    assert r.code == 0, r.stdout + r.stderr
    assert _count(url, "envois") == tables["envois"]
    safety = Path(r.json()["safety_backup"])
    r = invoke("backup", "verify", str(safety), "--json")
    assert r.code == 0 and r.json()["tables"]["envois"] == final


def test_corrupted_dump_is_refused(hermetic_env: Path, tmp_path: Path, fresh_pg_url: str) -> None:
    url = fresh_pg_url.replace("postgresql+psycopg://", "postgresql://")
    assert invoke("init", "--database-url", url, DSNLINK_ADMIN_PASSWORD=ADMIN_PW).code == 0
    r = invoke("backup", "--to", str(tmp_path), "--json")
    assert r.code == 0, r.stderr
    path = Path(r.json()["file"])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])
    assert invoke("backup", "verify", str(path)).code == 14
    assert invoke("restore", str(path), "--yes").code == 14
