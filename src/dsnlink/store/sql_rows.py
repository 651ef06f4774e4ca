"""Helpers shared by the SQL repositories: reading rows back safely, translating conflicts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError

from dsnlink.errors import Conflict, CorruptRecord


@contextmanager
def reading(table: str, row_id: object) -> Iterator[None]:
    """A row whose values do not fit the model (edited by hand, damaged) is a CorruptRecord."""
    try:
        yield
    except (ValueError, TypeError, KeyError) as exc:
        raise CorruptRecord(table=table, row=str(row_id), error=type(exc).__name__) from exc


@contextmanager
def conflicts(message: str, **context: Any) -> Iterator[None]:
    """A uniqueness or reference violation becomes a Conflict with a French message."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(message, **context) from exc
