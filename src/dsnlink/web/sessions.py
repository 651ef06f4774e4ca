"""Browser sessions: a random id in an HttpOnly cookie, the facts in the installation's database.

Every ``dsnlink serve`` process over the same database sees the same sessions: a user logged
in through one is recognised by the others, a logout or a disabled account ends the session
everywhere, and a restart logs nobody out. The table holds only a SHA-256 of the id (never
the id itself), so reading the database (a backup, a read-only account) does not let anyone
log in. The id is 256 random bits: a forged or guessed cookie matches no row, which is why it
needs no signature (a signing key would have to be shared by every process). A new id is
issued at every login (no session fixation) and deleted at logout; expired rows are purged
lazily, at the next login.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.engine import Connection

from dsnlink.store.database import Database
from dsnlink.store.snapshot import cached, snapshot_key
from dsnlink.store.tables import web_sessions

COOKIE_NAME = "dsnlink_session"
#: However active, a session ends this long after login: a forgotten open browser on a shared
#: workstation does not stay logged in for days.
MAX_SESSION_AGE = timedelta(hours=12)
#: ``last_seen_at`` is rewritten at most this often: one write per request would serialise
#: every page behind the database's writer for an idle expiry measured in minutes.
TOUCH_EVERY = timedelta(seconds=60)
#: A cookie longer than this is not one of ours: refused before hashing or looking it up.
_MAX_COOKIE = 128
_WRITE_LOCK = "web_sessions"


@dataclass
class Session:
    #: The id as the browser sent it; never written anywhere but the cookie.
    id: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    #: Until when sensitive edits (Net-entreprises credentials) are allowed without retyping.
    confirmed_until: datetime | None = None


def id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def plausible(cookie: str | None) -> bool:
    """Whether ``cookie`` may be one of ours (worth hashing and looking up)."""
    return bool(cookie) and len(cookie or "") <= _MAX_COOKIE


_BY_HASH = select(web_sessions).where(web_sessions.c.id_hash == bindparam("key"))


class SessionStore:
    def __init__(
        self,
        db: Database,
        *,
        idle_timeout: timedelta,
        confirm_window: timedelta,
    ) -> None:
        self._db = db
        self.idle_timeout = idle_timeout
        self.confirm_window = confirm_window
        self._touch_every = min(TOUCH_EVERY, idle_timeout / 10)

    def open(self, user_id: int, now: datetime) -> tuple[Session, str]:
        """A brand-new session for ``user_id`` and its cookie value."""
        session = Session(secrets.token_urlsafe(32), user_id, now, now)
        with self._db.write(_WRITE_LOCK) as conn:
            # Expired sessions are dropped here, so the table does not grow with them.
            conn.execute(
                delete(web_sessions).where(
                    or_(
                        web_sessions.c.expires_at <= now,
                        web_sessions.c.last_seen_at < now - self.idle_timeout,
                    )
                )
            )
            conn.execute(
                web_sessions.insert().values(
                    id_hash=id_hash(session.id),
                    user_id=user_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + MAX_SESSION_AGE,
                    confirmed_until=None,
                )
            )
        return session, session.id

    def find(self, cookie: str | None, now: datetime) -> Session | None:
        if not plausible(cookie):
            return None
        with self._db.read() as conn:
            row = self.read(conn, snapshot_key(conn), cookie)
        return self.settle(cookie, row, now)

    def read(self, conn: Connection, snapshot: Hashable | None, cookie: str | None) -> Any:
        """The session row of ``cookie`` (None: none), read in the caller's transaction, so that
        one transaction finds the session and its user (see :mod:`dsnlink.store.snapshot`)."""
        if not plausible(cookie):
            return None
        assert cookie is not None
        key = id_hash(cookie)
        return cached(
            conn,
            snapshot,
            ("web_session", key),
            lambda: conn.execute(_BY_HASH, {"key": key}).one_or_none(),
        )

    def writes(self, cookie: str | None, row: Any, now: datetime) -> bool:
        """Whether :meth:`settle` of this row at ``now`` writes to the database."""
        if row is None or cookie is None:
            return False
        seen: datetime = row.last_seen_at
        expires: datetime = row.expires_at
        return now - seen > self.idle_timeout or now >= expires or now - seen >= self._touch_every

    def settle(self, cookie: str | None, row: Any, now: datetime) -> Session | None:
        """The :class:`Session` of a row from :meth:`read`, after the transaction: an expired
        one is deleted (None), an active one's ``last_seen_at`` moved on now and then."""
        if row is None or cookie is None:
            return None
        key = id_hash(cookie)
        idle = now - row.last_seen_at > self.idle_timeout
        if idle or now >= row.expires_at:
            self._delete(key)
            return None
        session = Session(cookie, row.user_id, row.created_at, row.last_seen_at)
        session.confirmed_until = row.confirmed_until
        if now - row.last_seen_at >= self._touch_every:
            with self._db.write(_WRITE_LOCK) as conn:
                conn.execute(
                    update(web_sessions)
                    .where(web_sessions.c.id_hash == key)
                    .values(last_seen_at=now)
                )
            session.last_seen_at = now
        return session

    def count(self) -> int:
        """Rows in the table, expired ones not yet purged included."""
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(web_sessions)).scalar_one())

    def close(self, session_id: str) -> None:
        self._delete(id_hash(session_id))

    def close_user(self, user_id: int) -> None:
        """End every session of a user (disabled, deleted, password changed), in every process."""
        with self._db.write(_WRITE_LOCK) as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))

    def confirm(self, session: Session, now: datetime) -> None:
        session.confirmed_until = now + self.confirm_window
        with self._db.write(_WRITE_LOCK) as conn:
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.id_hash == id_hash(session.id))
                .values(confirmed_until=session.confirmed_until)
            )

    def is_confirmed(self, session: Session, now: datetime) -> bool:
        return session.confirmed_until is not None and now < session.confirmed_until

    def _delete(self, key: str) -> None:
        with self._db.write(_WRITE_LOCK) as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.id_hash == key))
