"""The web's paginated read models on PostgreSQL: the same checks as on SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dsnlink.store import open_database, upgrade
from dsnlink.store.database import Database
from tests.unit.pipeline import test_listings as on_sqlite
from tests.unit.pipeline.test_listings import *  # noqa: F403 - the same tests, re-collected

pytestmark = pytest.mark.pg


@pytest.fixture
def db(fresh_pg_url: str) -> Iterator[Database]:  # overrides the SQLite database
    database = open_database(fresh_pg_url)
    upgrade(database)
    yield database
    database.dispose()


def test_the_sqlite_tests_are_all_here() -> None:
    names = {n for n in dir(on_sqlite) if n.startswith("test_")}
    assert names <= set(globals())
