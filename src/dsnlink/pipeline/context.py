"""What every pipeline step is given: the ports and the tunables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from dsnlink.pipeline.ports import (
    AlertSink,
    Checker,
    Clock,
    Identities,
    Ledger,
    Portal,
    ReturnParser,
)

if TYPE_CHECKING:
    from dsnlink.settings import Settings

#: Delays between two polls of a flow's returns: at once, minutes, hours, then daily.
DEFAULT_POLL_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(days=1),
)


@dataclass(frozen=True)
class PipelineConfig:
    poll_schedule: tuple[timedelta, ...] = DEFAULT_POLL_SCHEDULE
    #: Polls of one flow before it is declared "attention needed" (daily polls after the
    #: schedule: about 10 days, past the CRM 94's expected date).
    max_polls: int = 15
    #: How far before the POST the deposit listing is read to reconcile a fate-unknown deposit.
    reconcile_lookback: timedelta = timedelta(hours=1)
    #: Reconciliation rounds that cannot tell which flow is ours before asking a person.
    max_reconcile_rounds: int = 5
    #: A deposit the portal answered with an error (5xx...) is sent again after this delay...
    retry_delay: timedelta = timedelta(minutes=1)
    #: ...at most this many times.
    max_attempts: int = 5
    #: Window of the first declarant-wide returns sync of an identity.
    first_sync_lookback: timedelta = timedelta(days=3)
    #: Default due day of a monthly DSN (5 or 15 of the next month), per employer overridable.
    deadline_day: int = 15
    #: An alert is raised when a due date is this close and nothing is deposited.
    deadline_warning: timedelta = timedelta(days=3)
    #: Returns expected before a deposit is complete (the CRM 94 only for real monthly DSN).
    expected_natures: tuple[str, ...] = ("10", "11")
    crm_nature: str = "94"
    kill_points: frozenset[str] = field(default_factory=frozenset)


@dataclass
class Pipeline:
    """The ports bundled; every step function takes one."""

    ledger: Ledger
    portal: Portal
    identities: Identities
    checker: Checker
    parser: ReturnParser
    clock: Clock
    alerts: AlertSink
    config: PipelineConfig = field(default_factory=PipelineConfig)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_schedule(text: str) -> tuple[timedelta, ...]:
    """``"5m,30m,2h,1d"`` → delays. Raises ``InvalidInput`` on anything else."""
    from dsnlink.errors import InvalidInput

    delays = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        number, unit = part[:-1], part[-1:].lower()
        if unit not in _UNITS or not (number.isascii() and number.isdigit()):
            raise InvalidInput(
                f"Délai de relève incompréhensible : « {part} ».",
                remedy="Écrivez par exemple 5m,30m,2h,6h,1d (s, m, h, d).",
            )
        delays.append(timedelta(seconds=int(number) * _UNITS[unit]))
    if not delays:
        raise InvalidInput("Le calendrier de relève des retours est vide.")
    return tuple(delays)


def config_from_settings(settings: Settings) -> PipelineConfig:
    from dsnlink.pipeline.faults import parse_kill_points

    return PipelineConfig(
        poll_schedule=parse_schedule(settings.pipeline_poll_schedule),
        max_polls=settings.pipeline_max_polls,
        deadline_day=settings.deadline_day,
        kill_points=parse_kill_points(settings.pipeline_kill_points),
    )
