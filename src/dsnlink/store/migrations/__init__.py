"""Alembic migrations of dsnlink, shipped in the package and run by :mod:`dsnlink.store.schema`.

Keep the chain linear: a new migration's ``down_revision`` is the current head.
"""
