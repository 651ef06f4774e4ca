"""Opening the database: SQLite (monoposte) or PostgreSQL through psycopg 3 (réseau).

SQLite: WAL (readers never wait for the writer), a busy timeout, foreign keys on, and every
write in ``BEGIN IMMEDIATE`` through one writer per process, so that two writers never
deadlock on a lock upgrade. PostgreSQL: each write transaction takes a transaction-scoped
advisory lock named by the caller, which serialises the writes that check invariants (the
last administrator, uniqueness) across every workstation.
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from dsnlink.errors import ConfigurationError, StoreError

#: How long a SQLite writer waits for another process's write before giving up.
SQLITE_BUSY_TIMEOUT_MS = 10_000


class Database:
    """An engine plus the write discipline of its dialect. Use :func:`open_database`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url: URL = engine.url
        self.dialect: str = engine.dialect.name
        # One writer per process on SQLite; PostgreSQL serialises with advisory locks.
        self._writer = threading.Lock()
        self._local = threading.local()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite or not self.url.database or self.url.database == ":memory:":
            return None
        return Path(self.url.database)

    def describe(self) -> str:
        """The URL without its password, for messages and logs."""
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (deferred on SQLite: it sees one consistent snapshot); inside a
        :meth:`reading` block of the same thread, that block's transaction."""
        shared = getattr(self._local, "reading", None)
        if shared is not None:
            yield shared
            return
        with translate_errors(), self.engine.connect() as conn, conn.begin():
            if self.is_sqlite:
                _sqlite_begin(conn, "BEGIN")
            yield conn

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One read transaction for every :meth:`read` of the block in this thread: a run of
        small reads (the checks of a file received) pays for one transaction, and sees one
        snapshot. Writes of the block still go through :meth:`write` (and are not seen by
        the block's reads): keep it to reads."""
        if getattr(self._local, "reading", None) is not None:
            yield
            return
        with self.read() as conn:
            self._local.reading = conn
            try:
                yield
            finally:
                self._local.reading = None

    @contextmanager
    def write(self, lock: str = "dsnlink") -> Iterator[Connection]:
        """A write transaction, committed at the end of the block, rolled back on error."""
        with translate_errors():
            if self.is_sqlite:
                if getattr(self._local, "writing", False):
                    # A second writer in the same thread would wait for itself forever.
                    raise RuntimeError(
                        "nested write transaction on SQLite: pass the open one's repositories"
                    )
                with self._writer, self.engine.connect() as conn:
                    self._local.writing = True
                    try:
                        with conn.begin():
                            _sqlite_begin(conn, "BEGIN IMMEDIATE")
                            yield conn
                    finally:
                        self._local.writing = False
            else:
                with self.engine.connect() as conn, conn.begin():
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(lock)})
                    yield conn

    @contextmanager
    def try_lock(self, name: str) -> Iterator[bool]:
        """Hold the installation-wide lock ``name`` for the block if no one else holds it.

        Yields whether it was obtained (never waits). On PostgreSQL it is a session advisory
        lock, so it excludes every process on every workstation and is released if the
        holder dies; on SQLite one process works on the installation (the runner lock), so
        it is always obtained."""
        if self.is_sqlite:
            yield True
            return
        key = {"k": lock_key(name)}
        with translate_errors(), self.engine.connect() as conn:
            # Autocommit: the lock may be held for minutes, never as an idle transaction.
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), key).scalar())
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), key)

    def dispose(self) -> None:
        self.engine.dispose()


def lock_key(name: str) -> int:
    # A stable signed 32-bit key per lock name (pg advisory locks take a bigint).
    return zlib.crc32(f"dsnlink:{name}".encode()) - 2**31


@contextmanager
def translate_errors() -> Iterator[None]:
    """Driver errors become :class:`StoreError` (our own errors pass through untouched)."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StoreError(
            "La base de données a renvoyé une erreur.",
            remedy="Vérifiez que le serveur de base de données est joignable, puis réessayez.",
            error=type(exc).__name__,
        ) from exc


def normalise_url(url: str) -> URL:
    """``postgresql://`` means psycopg 3; only SQLite and PostgreSQL are supported."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            "L'adresse de la base de données est mal formée.",
            remedy="Exemple : postgresql://utilisateur@serveur:5432/dsnlink",
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise ConfigurationError(
        f"Base de données non prise en charge : {backend}.",
        remedy="Utilisez SQLite (monoposte) ou PostgreSQL (réseau).",
    )


def open_database(url: str) -> Database:
    """Open (without creating any table) the database at ``url``."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Database(_sqlite_engine(parsed))
    engine = create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)
    return Database(engine)


def _sqlite_engine(url: URL) -> Engine:
    # Pooled, so that the pragmas run once per connection rather than once per transaction;
    # never blocking (no overflow limit): many worker threads may read at once.
    # LIFO: the connection used last is warm, and its snapshot cache (store.snapshot) too.
    engine = create_engine(url, pool_size=5, max_overflow=-1, pool_use_lifo=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transactions out of the driver's hands: we emit BEGIN ourselves (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    return engine


def _sqlite_begin(conn: Connection, statement: str) -> None:
    """BEGIN straight to the driver, by ``Database.read``/``write`` (every SQLite transaction
    goes through them). SQLAlchemy's statement path costs several times what SQLite takes to
    begin; and a "begin" event listener would make SQLAlchemy dispatch its execution events
    on every statement of the engine, about a twentieth of the pipeline's CPU."""
    try:
        conn.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
    except sqlite3.Error as exc:
        raise StoreError(
            "La base de données a renvoyé une erreur.",
            remedy="Vérifiez que le serveur de base de données est joignable, puis réessayez.",
            error=type(exc).__name__,
        ) from exc
