"""Browser sessions: a random id, signed in an HttpOnly cookie, the facts kept in memory.

The cookie holds only the session id, signed with a key drawn at start-up (itsdangerous), so a
forged or stale cookie is refused before any lookup. The session itself (user id, when the
user last confirmed their own password) stays in this process: ``dsnlink serve`` is one
process, and a restart logs everybody out, which is the safe direction. A new id is issued at
every login (no session fixation) and forgotten at logout.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE_NAME = "dsnlink_session"
#: However active, a session ends this long after login: a forgotten open browser on a shared
#: workstation does not stay logged in for days.
MAX_SESSION_AGE = timedelta(hours=12)


@dataclass
class Session:
    id: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    #: Until when sensitive edits (Net-entreprises credentials) are allowed without retyping.
    confirmed_until: datetime | None = None


class SessionStore:
    def __init__(
        self,
        *,
        idle_timeout: timedelta,
        confirm_window: timedelta,
        secret_key: bytes | None = None,
    ) -> None:
        self._signer = URLSafeTimedSerializer(
            secret_key or secrets.token_bytes(32), salt="dsnlink.session"
        )
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.idle_timeout = idle_timeout
        self.confirm_window = confirm_window

    def open(self, user_id: int, now: datetime) -> tuple[Session, str]:
        """A brand-new session for ``user_id`` and its signed cookie value."""
        session = Session(secrets.token_urlsafe(32), user_id, now, now)
        with self._lock:
            # Sessions left idle are dropped here too, so memory does not grow with them.
            for sid in [
                s.id for s in self._sessions.values() if now - s.last_seen_at > self.idle_timeout
            ]:
                del self._sessions[sid]
            self._sessions[session.id] = session
        return session, self._signer.dumps(session.id)

    def find(self, cookie: str | None, now: datetime) -> Session | None:
        if not cookie:
            return None
        try:
            sid = self._signer.loads(cookie, max_age=int(MAX_SESSION_AGE.total_seconds()))
        except BadSignature:
            return None
        if not isinstance(sid, str):
            return None
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            idle = now - session.last_seen_at > self.idle_timeout
            if idle or now - session.created_at > MAX_SESSION_AGE:
                del self._sessions[sid]
                return None
            session.last_seen_at = now
            return session

    def __len__(self) -> int:
        return len(self._sessions)

    def close(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def close_user(self, user_id: int) -> None:
        """Forget every session of a user (disabled, deleted, password changed)."""
        with self._lock:
            for sid in [s.id for s in self._sessions.values() if s.user_id == user_id]:
                del self._sessions[sid]

    def confirm(self, session: Session, now: datetime) -> None:
        session.confirmed_until = now + self.confirm_window

    def is_confirmed(self, session: Session, now: datetime) -> bool:
        return session.confirmed_until is not None and now < session.confirmed_until
