"""The simulator's state in SQLite: in memory, or in its own file to survive a restart.

One connection shared by the server's event loop and the Python control API, serialised by a
lock; every write commits at once. Times are epoch seconds (UTC) so that windows compare as
numbers. Secrets are not stored in clear: passwords as salted PBKDF2 hashes, tokens as SHA-256.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dsnlink.errors import SimulatorError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    siret TEXT NOT NULL, nom TEXT NOT NULL, prenom TEXT NOT NULL,
    password_hash TEXT NOT NULL, services TEXT NOT NULL, dsn_registered INTEGER NOT NULL,
    password_expires_at REAL, employers TEXT NOT NULL, max_failures INTEGER,
    failures INTEGER NOT NULL DEFAULT 0, locked INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (siret, nom, prenom)
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, siret TEXT NOT NULL, nom TEXT NOT NULL, prenom TEXT NOT NULL,
    service TEXT NOT NULL, issued_at REAL NOT NULL, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, siret TEXT, nom TEXT, prenom TEXT,
    service TEXT, outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deposits (
    idflux TEXT PRIMARY KEY, seq INTEGER NOT NULL, at REAL NOT NULL,
    declarant_siret TEXT NOT NULL, declarant_nom TEXT NOT NULL, declarant_prenom TEXT NOT NULL,
    depositor_siret TEXT NOT NULL, status TEXT NOT NULL, essai_reel TEXT,
    employer_siret TEXT, sha256 TEXT NOT NULL, size INTEGER NOT NULL, api_version TEXT NOT NULL,
    anomalies TEXT NOT NULL, employees INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS deposits_by_declarant ON deposits (declarant_siret, at);
CREATE TABLE IF NOT EXISTS returns (
    id TEXT PRIMARY KEY, idflux TEXT NOT NULL, nature TEXT NOT NULL, ops TEXT NOT NULL,
    statut TEXT NOT NULL, publication REAL NOT NULL, production REAL NOT NULL,
    content_type TEXT NOT NULL, content BLOB NOT NULL, active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS returns_by_flow ON returns (idflux, publication);
CREATE INDEX IF NOT EXISTS returns_by_publication ON returns (publication);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, method TEXT NOT NULL,
    route TEXT NOT NULL, status INTEGER NOT NULL, fault TEXT
);
"""

Row = sqlite3.Row


class Store:
    """Thin, locked access to the simulator's SQLite database."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        target = str(path) if path is not None else ":memory:"
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            if path is not None:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise SimulatorError(
                f"Le fichier d'état du simulateur est inutilisable : {target}.",
                remedy="Choisissez un autre fichier avec --state, ou supprimez celui-ci.",
                path=target,
            ) from exc
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._lock:
            return self._conn.execute(sql, params).lastrowid or 0

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self._lock:
            row: Row | None = self._conn.execute(sql, params).fetchone()
            return row

    def get_meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
