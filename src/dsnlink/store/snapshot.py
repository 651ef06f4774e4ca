"""Values read from the database, kept while the database has not changed (SQLite).

The Centre de maintenance asks the same questions on every page: how many deposits in each
state, how many returns, which user a session cookie belongs to. With 100,000 returns, an exact
``count(*)`` takes milliseconds each time, though the answer changes only when something is
written. On SQLite the question "has anything been committed since?" is answered for free:
``PRAGMA data_version`` changes when another connection (of this process or any other)
commits, and the driver's ``total_changes`` when this one writes. Together they name the
committed state a read transaction starts from; a value computed in a transaction is kept,
per pooled connection, under that name, and dropped as soon as the name changes. No time
limit, no guess: a page never shows a count older than the last commit it could see.

PostgreSQL has no such cheap marker, so there every value is computed afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

T = TypeVar("T")

_CACHE = "dsnlink_snapshot_cache"
#: A connection's cache is emptied past this many values (filters typed by people vary).
MAX_VALUES = 512


def snapshot_key(conn: Connection) -> Hashable | None:
    """The committed state ``conn``'s read transaction starts from, or None when unknown.

    Must run before the transaction's first read: the key is then never newer than what the
    transaction sees, so a value stored under it can only be fresher than its key (and is
    recomputed at the next change), never staler."""
    if conn.dialect.name != "sqlite":
        return None
    raw: Any = conn.connection.driver_connection
    (version,) = raw.execute("PRAGMA data_version").fetchone()
    return (version, raw.total_changes)


def cached(
    conn: Connection, snapshot: Hashable | None, key: Hashable, compute: Callable[[], T]
) -> T:
    """``compute()`` (reading through ``conn``), or its value from an earlier transaction of
    this connection that started from the same ``snapshot`` (see :func:`snapshot_key`)."""
    if snapshot is None:
        return compute()
    store: dict[Hashable, Any] = conn.info.setdefault(_CACHE, {})
    if store.get(_CACHE) != snapshot or len(store) > MAX_VALUES:
        store.clear()
        store[_CACHE] = snapshot
    if key in store:
        value: T = store[key]
        return value
    value = compute()
    store[key] = value
    return value
