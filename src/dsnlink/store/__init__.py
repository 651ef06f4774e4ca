"""The store: SQLAlchemy Core tables, repositories and migrations (SQLite and PostgreSQL).

Open a database with :func:`open_database`, check it with :func:`check_schema`, then work
through a :class:`SqlStore` (or a :class:`MemoryStore` in tests).

The names below are loaded on first use, so that importing :mod:`dsnlink.store.records`
(plain enums and records, used by the CLI's options) does not load SQLAlchemy and alembic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dsnlink.store.database import Database, open_database
    from dsnlink.store.memory import MemoryStore
    from dsnlink.store.protocols import Repositories, Store
    from dsnlink.store.schema import check_schema, head_revision, upgrade
    from dsnlink.store.sql import SqlSealedSecretStore, SqlStore

_WHERE = {
    "Database": "database",
    "open_database": "database",
    "MemoryStore": "memory",
    "Repositories": "protocols",
    "Store": "protocols",
    "check_schema": "schema",
    "head_revision": "schema",
    "upgrade": "schema",
    "SqlSealedSecretStore": "sql",
    "SqlStore": "sql",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'dsnlink.store' has no attribute {name!r}")
    return getattr(importlib.import_module(f"dsnlink.store.{module}"), name)


__all__ = [
    "Database",
    "MemoryStore",
    "Repositories",
    "SqlSealedSecretStore",
    "SqlStore",
    "Store",
    "check_schema",
    "head_revision",
    "open_database",
    "upgrade",
]
