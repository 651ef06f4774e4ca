"""Alembic environment: always given an open connection by dsnlink.store.schema."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from dsnlink.store.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("dsnlink migrations run through dsnlink.store.schema, with a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters tables by copying them: later migrations may need it.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
