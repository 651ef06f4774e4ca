"""The simulator's virtual clock: real time plus an offset, or frozen at an instant.

Tests move it forward ("3 days later") to make scheduled returns appear, tokens expire and
returns get purged, without waiting. Timestamps of the protocol are Paris local time
(``yyyyMMddHHmmss``); the clock itself works in UTC.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dsnlink.errors import InvalidInput

PARIS = ZoneInfo("Europe/Paris")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|min|s)", re.IGNORECASE)
_UNITS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0}


def parse_duration(text: str) -> timedelta:
    """``"3d"``, ``"90m"``, ``"1h30m"``, ``"45s"``, ``"2w"`` -> a timedelta."""
    cleaned = text.strip().replace(" ", "")
    parts = _DURATION.findall(cleaned)
    if not parts or "".join(a + b for a, b in parts).lower() != cleaned.lower():
        raise InvalidInput(
            f"Durée illisible : « {text} ».",
            remedy="Écrivez par exemple 3d, 2h, 90m, 45s ou 1h30m.",
            value=text,
        )
    seconds = sum(float(n) * _UNITS[u.lower()] for n, u in parts)
    return timedelta(seconds=seconds)


class VirtualClock:
    """Now = real now + offset, unless frozen. Thread-safe; changes call ``on_change``."""

    def __init__(
        self,
        *,
        offset: timedelta = timedelta(0),
        frozen_at: datetime | None = None,
        real_now: Callable[[], datetime] | None = None,
    ) -> None:
        self._real_now = real_now or (lambda: datetime.now(UTC))
        self._offset = offset
        self._frozen_at = frozen_at
        self._lock = threading.Lock()
        self.on_change: Callable[[VirtualClock], None] | None = None

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return self._real_now() + self._offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    @property
    def frozen_at(self) -> datetime | None:
        return self._frozen_at

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise InvalidInput("Le simulateur ne remonte pas le temps.", delta=str(delta))
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += delta
            else:
                self._offset += delta
        self._changed()
        return self.now()

    def set(self, instant: datetime) -> datetime:
        """Jump to ``instant`` (keeps flowing unless frozen)."""
        instant = _aware(instant)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = instant
            else:
                self._offset = instant - self._real_now()
        self._changed()
        return self.now()

    def freeze(self, at: datetime | None = None) -> datetime:
        with self._lock:
            self._frozen_at = _aware(at) if at is not None else self._real_now() + self._offset
        self._changed()
        return self.now()

    def resume(self) -> datetime:
        """Let time flow again from the frozen instant."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - self._real_now()
                self._frozen_at = None
        self._changed()
        return self.now()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def to_paris_stamp(instant: datetime) -> str:
    """``yyyyMMddHHmmss`` in Paris time, the protocol's timestamp form."""
    return instant.astimezone(PARIS).strftime("%Y%m%d%H%M%S")


def from_paris_stamp(stamp: str) -> datetime:
    """Parse ``yyyyMMddHHmmss`` (Paris time); ValueError when malformed."""
    if len(stamp) != 14 or not (stamp.isascii() and stamp.isdigit()):
        raise ValueError(stamp)
    naive = datetime.strptime(stamp, "%Y%m%d%H%M%S")
    return naive.replace(tzinfo=PARIS).astimezone(UTC)


def paris_date_time(instant: datetime) -> tuple[str, str]:
    """(``YYYY-MM-DD``, ``HH:MM:SS``) in Paris time, as in the AEE."""
    local = instant.astimezone(PARIS)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")
