"""Browser sessions in the database: hashed ids, idle and absolute expiry, confirmation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.datastructures import Headers

from dsnlink.store import Database, open_database
from dsnlink.store.tables import metadata, users, web_sessions
from dsnlink.web.security import cross_site_reason
from dsnlink.web.sessions import SessionStore, id_hash

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'sessions.sqlite3'}")
    with database.write() as conn:
        metadata.create_all(conn)
        for n in [1, 2, 7, 99, 0, 3, 4]:
            conn.execute(
                users.insert().values(
                    id=n,
                    login=f"u{n}",
                    login_key=f"u{n}",
                    display_name=f"U{n}",
                    password_hash="x",
                    disabled=False,
                    builtin=False,
                    created_at=T0,
                    updated_at=T0,
                )
            )
    yield database
    database.dispose()


def store(db: Database) -> SessionStore:
    return SessionStore(db, idle_timeout=timedelta(minutes=30), confirm_window=timedelta(minutes=5))


def test_a_cookie_finds_its_session_and_a_forged_one_nothing(db: Database) -> None:
    sessions = store(db)
    session, cookie = sessions.open(7, T0)
    found = sessions.find(cookie, T0 + timedelta(minutes=1))
    assert found is not None and (found.id, found.user_id) == (session.id, 7)
    assert sessions.find(cookie[:-2] + "xx", T0) is None
    assert sessions.find("x" * 5000, T0) is None
    assert sessions.find(None, T0) is None
    assert sessions.find("", T0) is None


def test_only_a_hash_of_the_id_is_stored(db: Database) -> None:
    sessions = store(db)
    _s, cookie = sessions.open(7, T0)
    with db.read() as conn:
        rows = conn.execute(select(web_sessions)).all()
    assert [r.id_hash for r in rows] == [id_hash(cookie)]
    assert cookie not in repr(rows)
    path = db.sqlite_path
    assert path is not None
    db.dispose()  # the WAL checkpointed: the raw bytes of every file are searched
    blob = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())
    assert cookie.encode() not in blob
    assert id_hash(cookie).encode() in blob


def test_idle_sessions_end_and_are_purged(db: Database) -> None:
    sessions = store(db)
    _s, cookie = sessions.open(1, T0)
    assert sessions.find(cookie, T0 + timedelta(minutes=29)) is not None
    assert sessions.find(cookie, T0 + timedelta(minutes=60)) is None
    for n in range(5):
        sessions.open(n, T0)
    sessions.open(99, T0 + timedelta(hours=2))
    assert sessions.count() == 1


def test_being_active_keeps_a_session_alive(db: Database) -> None:
    sessions = store(db)
    _s, cookie = sessions.open(1, T0)
    for minutes in (20, 40, 60, 80):
        assert sessions.find(cookie, T0 + timedelta(minutes=minutes)) is not None


def test_an_active_session_still_ends_after_its_maximum_age(db: Database) -> None:
    sessions = store(db)
    _s, cookie = sessions.open(1, T0)
    at = T0
    while at < T0 + timedelta(hours=11, minutes=40):
        at += timedelta(minutes=20)
        assert sessions.find(cookie, at) is not None
    assert sessions.find(cookie, T0 + timedelta(hours=12, minutes=1)) is None


def test_closing_a_user_ends_all_their_sessions_only(db: Database) -> None:
    sessions = store(db)
    _a, first = sessions.open(1, T0)
    _b, second = sessions.open(1, T0)
    _c, other = sessions.open(2, T0)
    sessions.close_user(1)
    assert sessions.find(first, T0) is None and sessions.find(second, T0) is None
    assert sessions.find(other, T0) is not None


def test_confirmation_lasts_the_window_and_is_seen_by_another_store(db: Database) -> None:
    sessions = store(db)
    session, cookie = sessions.open(1, T0)
    assert not sessions.is_confirmed(session, T0)
    sessions.confirm(session, T0)
    assert sessions.is_confirmed(session, T0 + timedelta(minutes=4))
    assert not sessions.is_confirmed(session, T0 + timedelta(minutes=6))
    elsewhere = store(db).find(cookie, T0 + timedelta(minutes=4))
    assert elsewhere is not None
    assert store(db).is_confirmed(elsewhere, T0 + timedelta(minutes=4))


def test_cross_site_rules() -> None:
    def reason(method: str, **headers: str) -> str | None:
        raw = {k.replace("_", "-"): v for k, v in headers.items()}
        return cross_site_reason(method, Headers(raw), "http")

    host = {"host": "127.0.0.1:8000"}
    assert reason("GET", origin="http://evil.example", **host) is None
    assert reason("POST", **host) is None  # a script: no browser headers, no victim's cookie
    assert reason("POST", origin="http://127.0.0.1:8000", **host) is None
    assert reason("POST", sec_fetch_site="same-origin", **host) is None
    assert reason("POST", origin="http://127.0.0.1:8001", **host) == "origin"
    assert reason("POST", origin="null", **host) == "origin"
    assert reason("DELETE", sec_fetch_site="same-site", **host) == "sec-fetch-site=same-site"
    assert reason("PUT", sec_fetch_site="cross-site", origin="http://127.0.0.1:8000", **host)
