"""The store: SQLAlchemy Core tables, repositories and migrations (SQLite and PostgreSQL).

Open a database with :func:`open_database`, check it with :func:`check_schema`, then work
through a :class:`SqlStore` (or a :class:`MemoryStore` in tests).
"""

from dsnlink.store.database import Database, open_database
from dsnlink.store.memory import MemoryStore
from dsnlink.store.protocols import Repositories, Store
from dsnlink.store.schema import check_schema, head_revision, upgrade
from dsnlink.store.sql import SqlSealedSecretStore, SqlStore

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
