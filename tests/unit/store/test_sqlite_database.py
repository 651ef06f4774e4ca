"""SQLite specifics: pragmas, BEGIN IMMEDIATE, two processes writing, corrupt rows."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dsnlink.errors import ConfigurationError, CorruptRecord, StoreError
from dsnlink.store import SqlStore, open_database, upgrade
from dsnlink.store.database import SQLITE_BUSY_TIMEOUT_MS
from tests.unit.store.contract import T0


def test_pragmas(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS


def test_write_takes_the_write_lock_at_begin(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    db = open_database(f"sqlite:///{path}")
    upgrade(db)
    other = open_database(f"sqlite:///{path}")
    with db.write() as conn:
        # Inside our write transaction, nobody else may even begin one.
        conn.exec_driver_sql("SELECT 1")
        with other.engine.connect() as raw:
            raw.exec_driver_sql("PRAGMA busy_timeout = 0")
            with pytest.raises(Exception, match="locked"):
                raw.exec_driver_sql("BEGIN IMMEDIATE")
        # Readers are not blocked (WAL).
        with other.read() as reader:
            assert reader.exec_driver_sql("SELECT count(*) FROM users").scalar() == 0


def test_two_processes_write_concurrently_without_losing_rows(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    db = open_database(f"sqlite:///{path}")
    upgrade(db)
    script = textwrap.dedent(
        f"""
        import sys
        from datetime import UTC, datetime
        from dsnlink.store import SqlStore, open_database
        store = SqlStore(open_database({f"sqlite:///{path}"!r}))
        for i in range(40):
            with store.write() as r:
                n = len(r.settings.all("counter"))
                r.settings.put("counter", f"{{sys.argv[1]}}-{{i}}", n, datetime.now(UTC))
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, name]) for name in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with SqlStore(db).read() as r:
        values = sorted(s.value for s in r.settings.all("counter"))
    # Each write saw every earlier one: the counts are exactly 0..79, no lost update.
    assert values == list(range(80))


def test_corrupt_row_is_a_clear_error(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    upgrade(db)
    store = SqlStore(db)
    with store.write() as r:
        uid = r.users.add(login="A", display_name="A", password_hash="h", builtin=False, now=T0).id
    with db.write() as conn:
        # A row damaged behind our back (CHECK constraints are bypassed with this pragma).
        conn.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
        conn.exec_driver_sql("INSERT INTO rights (user_id, module) VALUES (?, 'root')", (uid,))
    with pytest.raises(CorruptRecord) as info, store.read() as r:
        r.users.get(uid)
    assert info.value.context["table"] == "rights"


def test_unsupported_and_malformed_urls() -> None:
    with pytest.raises(ConfigurationError):
        open_database("mysql://localhost/x")
    with pytest.raises(ConfigurationError):
        open_database("not a url")


def test_driver_errors_become_store_errors(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with pytest.raises(StoreError), db.read() as conn:
        conn.exec_driver_sql("SELECT * FROM missing_table")


def test_nested_write_fails_fast_instead_of_deadlocking(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    upgrade(db)
    store = SqlStore(db)
    with pytest.raises(RuntimeError, match="nested"), store.write(), store.write():
        pass
    # Reads inside a write are fine (WAL), and the writer is free again afterwards.
    with store.write() as r, store.read() as r2:
        r.settings.put("installation", "k", 1, T0)
        assert r2.settings.get("installation", "k") is None
    with store.read() as r:
        assert r.settings.get("installation", "k") is not None
