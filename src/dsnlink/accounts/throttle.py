"""Login throttling: a growing wait after repeated failures, persisted in the database.

Failures are counted per login as typed (case-folded), whether the account exists or not,
so throttling neither reveals which logins exist nor resets when the process restarts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dsnlink.errors import LoginThrottled
from dsnlink.store.records import LoginFailures

#: Failures allowed before any wait (typing mistakes happen).
FREE_FAILURES = 3
#: The wait doubles with each further failure, up to this.
MAX_DELAY = timedelta(minutes=15)


def delay_after(failures: int) -> timedelta:
    """How long to wait after ``failures`` consecutive failures."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    exponent = min(failures - FREE_FAILURES, 20)
    return min(timedelta(seconds=2**exponent), MAX_DELAY)


def check_not_throttled(record: LoginFailures | None, now: datetime) -> None:
    if record is None:
        return
    retry_at = record.last_failure_at + delay_after(record.failures)
    if now < retry_at:
        wait = int((retry_at - now).total_seconds()) + 1
        raise LoginThrottled(
            f"Trop d'essais de connexion infructueux : réessayez dans {wait} secondes.",
            retry_after_seconds=wait,
        )
