"""Browser sessions: signed ids, idle expiry, rotation, the confirmation window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.datastructures import Headers

from dsnlink.web.security import cross_site_reason
from dsnlink.web.sessions import SessionStore

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def store() -> SessionStore:
    return SessionStore(idle_timeout=timedelta(minutes=30), confirm_window=timedelta(minutes=5))


def test_a_cookie_finds_its_session_and_a_forged_one_nothing() -> None:
    sessions = store()
    session, cookie = sessions.open(7, T0)
    assert sessions.find(cookie, T0 + timedelta(minutes=1)) is session
    assert sessions.find(session.id, T0) is None  # the bare id, unsigned
    assert sessions.find(cookie[:-2] + "xx", T0) is None
    other_key = SessionStore(idle_timeout=timedelta(minutes=30), confirm_window=timedelta(0))
    _s, foreign = other_key.open(7, T0)
    assert sessions.find(foreign, T0) is None
    assert sessions.find(None, T0) is None


def test_idle_sessions_end_and_are_purged() -> None:
    sessions = store()
    _s, cookie = sessions.open(1, T0)
    assert sessions.find(cookie, T0 + timedelta(minutes=29)) is not None
    assert sessions.find(cookie, T0 + timedelta(minutes=60)) is None
    for n in range(5):
        sessions.open(n, T0)
    sessions.open(99, T0 + timedelta(hours=2))
    assert len(sessions) == 1


def test_an_active_session_still_ends_after_its_maximum_age() -> None:
    sessions = store()
    _s, cookie = sessions.open(1, T0)
    at = T0
    while at < T0 + timedelta(hours=11, minutes=40):
        at += timedelta(minutes=20)
        assert sessions.find(cookie, at) is not None
    assert sessions.find(cookie, T0 + timedelta(hours=12, minutes=1)) is None


def test_closing_a_user_ends_all_their_sessions_only() -> None:
    sessions = store()
    _a, first = sessions.open(1, T0)
    _b, second = sessions.open(1, T0)
    _c, other = sessions.open(2, T0)
    sessions.close_user(1)
    assert sessions.find(first, T0) is None and sessions.find(second, T0) is None
    assert sessions.find(other, T0) is not None


def test_confirmation_lasts_the_window() -> None:
    sessions = store()
    session, _cookie = sessions.open(1, T0)
    assert not sessions.is_confirmed(session, T0)
    sessions.confirm(session, T0)
    assert sessions.is_confirmed(session, T0 + timedelta(minutes=4))
    assert not sessions.is_confirmed(session, T0 + timedelta(minutes=6))


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
