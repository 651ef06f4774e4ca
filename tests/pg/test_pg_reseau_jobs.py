"""Réseau job queue on the real PostgreSQL server: its schema applied by init/upgrade, the
single-runner lock shared by every workstation, ``dsnlink worker`` refusals and status."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from dsnlink.errors import RunnerBusy
from dsnlink.jobs.locks import runner_lock, runner_running
from dsnlink.jobs.queue_schema import (
    _migrations_between,
    ensure_queue_schema,
    has_queue_schema,
)
from dsnlink.settings import Settings
from dsnlink.setup import init_installation, open_app, upgrade_database
from dsnlink.store import open_database
from tests.integration.cli_helpers import ADMIN_PW, invoke

pytestmark = pytest.mark.pg

#: Every procrastinate object of the current schema: a database from before the job queue.
_DROP_QUEUE = """
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relname LIKE 'procrastinate%' AND c.relkind = 'r'
             AND n.nspname = current_schema() LOOP
    EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(r.relname) || ' CASCADE';
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE p.proname LIKE 'procrastinate%' AND n.nspname = current_schema() LOOP
    EXECUTE 'DROP FUNCTION IF EXISTS ' || r.f::text || ' CASCADE';
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE t.typname LIKE 'procrastinate%' AND t.typtype IN ('e', 'c')
             AND n.nspname = current_schema() LOOP
    EXECUTE 'DROP TYPE IF EXISTS ' || quote_ident(r.typname) || ' CASCADE';
  END LOOP;
END $$;
"""


def _settings(data_dir: Path, url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=url,
        master_key=None,
        keyring=False,
        password_hash_profile="fast-insecure-tests",
    )


def test_queue_schema_applied_once_by_init_and_upgrade(tmp_path: Path, fresh_pg_url: str) -> None:
    settings = _settings(tmp_path, fresh_pg_url)
    init_installation(settings, name="Cabinet", admin_password=ADMIN_PW).close()
    db = open_database(fresh_pg_url)
    try:
        assert has_queue_schema(db)
        assert ensure_queue_schema(db) is None  # already there: nothing done
        with db.read() as conn:
            comment = conn.execute(
                text("SELECT obj_description('procrastinate_jobs'::regclass, 'pg_class')")
            ).scalar()
        assert str(comment).startswith("procrastinate ")
        # A database made before the job queue existed gets it from upgrade.
        with db.write() as conn:
            conn.execute(text(_DROP_QUEUE))
        assert not has_queue_schema(db)
        upgrade_database(settings)
        assert has_queue_schema(db)
    finally:
        db.dispose()


def test_queue_schema_upgraded_from_an_older_procrastinate(
    tmp_path: Path, fresh_pg_url: str
) -> None:
    settings = _settings(tmp_path, fresh_pg_url)
    init_installation(settings, name="Cabinet", admin_password=ADMIN_PW).close()
    db = open_database(fresh_pg_url)
    try:
        # Recorded as made by 3.9.0 (no schema change since): the new version is recorded.
        with db.write() as conn:
            conn.execute(text("COMMENT ON TABLE procrastinate_jobs IS 'procrastinate 3.9.0'"))
        done = ensure_queue_schema(db)
        assert done is not None and done.startswith("upgraded 3.9.0 -> ")
        assert ensure_queue_schema(db) is None
        # From 3.3.0, the migration files of 3.4.0 would be applied, in order.
        names = [p.name for p in _migrations_between((3, 3, 0), (3, 10, 0))]
        assert names and all(n.startswith("03.04.00_") for n in names)
        assert names == sorted(names)
    finally:
        db.dispose()


def test_reseau_master_key_goes_to_a_key_file(
    tmp_path: Path, fresh_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even where an OS keyring is available: every workstation needs a copy of the key."""
    from dsnlink.vault import keys

    monkeypatch.setattr(keys, "default_source", lambda _settings: keys.KeySource.KEYRING)
    settings = _settings(tmp_path, fresh_pg_url)
    init_installation(settings, name="Cabinet", admin_password=ADMIN_PW).close()
    key = settings.effective_master_key_file
    assert key.is_file() and key.stat().st_mode & 0o777 == 0o600


def test_one_runner_per_database_across_workstations(tmp_path: Path, fresh_pg_url: str) -> None:
    """Two workstations (two data folders, so two lock files) on one database: one runner."""
    init_installation(
        _settings(tmp_path / "a", fresh_pg_url), name="Cabinet", admin_password=ADMIN_PW
    ).close()
    a = open_app(_settings(tmp_path / "a", fresh_pg_url))
    b = open_app(_settings(tmp_path / "b", fresh_pg_url))
    try:
        with runner_lock(a.db, tmp_path / "a" / "runner.lock"):
            assert runner_running(b.db)
            with (
                pytest.raises(RunnerBusy),
                runner_lock(b.db, tmp_path / "b" / "runner.lock"),
            ):
                pass
        assert not runner_running(b.db)
        with runner_lock(b.db, tmp_path / "b" / "runner.lock"):
            pass
    finally:
        a.close()
        b.close()


def test_worker_command_refusals_status_and_sigterm(hermetic_env: Path, fresh_pg_url: str) -> None:
    env = {"DSNLINK_DATABASE_URL": fresh_pg_url}
    r = invoke(
        "init",
        "--name",
        "Cabinet",
        "--database-url",
        fresh_pg_url,
        **env,
        DSNLINK_ADMIN_PASSWORD=ADMIN_PW,
    )
    assert r.code == 0, r.stderr
    status = invoke("worker", "--status", "--json", **env)
    assert status.code == 0, status.stderr
    assert status.json() == {"queue": True, "workers": [], "jobs": {}}
    # A worker beside a running « dsnlink run » is refused (they do not share identity locks).
    app = open_app(_settings(hermetic_env, fresh_pg_url))
    try:
        with runner_lock(app.db, hermetic_env / "runner.lock"):
            r = invoke("worker", "--json", **env)
            assert r.code == 12, r.stdout
            assert json.loads(r.stdout)["error"]["code"] == "pipeline.worker"
    finally:
        app.close()
    # A real worker: announces itself, is seen alive, and stops cleanly on SIGTERM.
    process = subprocess.Popen(
        [sys.executable, "-m", "dsnlink", "worker", "--concurrency", "2", "--json"],
        env={**_environ(hermetic_env), **env, "DSNLINK_WORKER_HEARTBEAT_SECONDS": "0.2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        started = json.loads(process.stdout.readline())  # type: ignore[union-attr]
        assert started["event"] == "worker_started" and started["concurrency"] == 2
        deadline = time.monotonic() + 20
        while not invoke("worker", "--status", "--json", **env).json()["workers"]:
            assert time.monotonic() < deadline, "the worker never showed up"
            time.sleep(0.2)
        # …and « dsnlink run » is refused while it works.
        r = invoke("run", "--until-idle", **env)
        assert r.code == 12 and "dsnlink worker" in r.stderr, r.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["event"] == "worker_stopped"


def test_worker_refused_on_monoposte(hermetic_env: Path) -> None:
    assert invoke("init", "--name", "Poste", DSNLINK_ADMIN_PASSWORD=ADMIN_PW).code == 0
    r = invoke("worker", "--json")
    assert r.code == 12
    assert "réseau" in json.loads(r.stdout)["error"]["message"]


def _environ(data_dir: Path) -> dict[str, str]:
    import os

    return {**os.environ, "DSNLINK_DATA_DIR": str(data_dir)}
