"""Scheduled backups: when (daily, weekly, monthly at a time), where, how many kept; the step
the runner calls to take the backup that is due, and the alerts when it fails or is overdue.

The schedule lives in the ``settings`` table (scope ``installation``, key ``backup.schedule``),
the outcome of the last runs under ``backup.state``. Times are wall-clock times in Paris (the
payroll's time), so a 02:00 backup stays at 02:00 across daylight-saving changes.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dsnlink.accounts.base import authorise, record_audit
from dsnlink.accounts.rights import Operation
from dsnlink.errors import DsnlinkError, InvalidInput
from dsnlink.logs import get_logger
from dsnlink.maintenance.backup import (
    STATE_KEY,
    STATE_SCOPE,
    read_setting,
    record_state,
    take_backup,
)
from dsnlink.maintenance.retention import apply_retention
from dsnlink.maintenance.target import check_target
from dsnlink.pipeline.alerts import raise_alert
from dsnlink.pipeline.context import Pipeline
from dsnlink.pipeline.model import Alert
from dsnlink.settings import Settings
from dsnlink.store import Database, SqlStore
from dsnlink.store.records import User

log = get_logger("dsnlink.maintenance.schedule")

SCHEDULE_KEY = "backup.schedule"
PARIS = ZoneInfo("Europe/Paris")
FREQUENCIES = ("daily", "weekly", "monthly")
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
DEFAULT_KEEP = 5
#: After a failed run, the next attempt waits this long (the alert is sent once per slot).
RETRY_AFTER = timedelta(minutes=15)
#: A slot still without a good backup this long after its time is overdue: second alert.
OVERDUE_AFTER = timedelta(hours=2)


@dataclass(frozen=True)
class Schedule:
    frequency: str
    at: time
    target: Path
    keep: int = DEFAULT_KEEP
    weekday: int = 0  # weekly: 0 = lundi
    day: int = 1  # monthly: 1..28
    enabled: bool = True
    since: datetime | None = None  # slots before this were not due (schedule set later)

    def to_dict(self) -> dict[str, Any]:
        return {
            "frequency": self.frequency,
            "at": self.at.strftime("%H:%M"),
            "target": str(self.target),
            "keep": self.keep,
            "weekday": WEEKDAYS[self.weekday],
            "day": self.day,
            "enabled": self.enabled,
            "since": self.since.isoformat() if self.since else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schedule:
        since = data.get("since")
        return parse_schedule(
            frequency=str(data["frequency"]),
            at=str(data["at"]),
            target=Path(str(data["target"])),
            keep=int(data.get("keep", DEFAULT_KEEP)),
            weekday=str(data.get("weekday", WEEKDAYS[0])),
            day=int(data.get("day", 1)),
            enabled=bool(data.get("enabled", True)),
            since=datetime.fromisoformat(since) if since else None,
        )

    def describe(self) -> str:
        when = f"à {self.at:%H:%M} (heure de Paris)"
        if self.frequency == "daily":
            text = f"tous les jours {when}"
        elif self.frequency == "weekly":
            text = f"chaque {WEEKDAYS[self.weekday]} {when}"
        else:
            text = f"le {self.day} de chaque mois {when}"
        return f"{text}, dans {self.target}, {self.keep} gardée(s)"

    def last_slot(self, now: datetime) -> datetime:
        """The latest scheduled instant at or before ``now`` (aware, UTC)."""
        local = now.astimezone(PARIS)
        day = local.date()
        for _ in range(400):
            if self._runs_on(day):
                slot = datetime.combine(day, self.at, PARIS)
                if slot <= local:
                    return slot.astimezone(UTC)
            day -= timedelta(days=1)
        raise AssertionError("no slot in 400 days")  # pragma: no cover

    def next_slot(self, now: datetime) -> datetime:
        local = now.astimezone(PARIS)
        day = local.date()
        for _ in range(400):
            if self._runs_on(day):
                slot = datetime.combine(day, self.at, PARIS)
                if slot > local:
                    return slot.astimezone(UTC)
            day += timedelta(days=1)
        raise AssertionError("no slot in 400 days")  # pragma: no cover

    def _runs_on(self, day: date) -> bool:
        if self.frequency == "daily":
            return True
        if self.frequency == "weekly":
            return day.weekday() == self.weekday
        return day.day == min(self.day, calendar.monthrange(day.year, day.month)[1])


def parse_schedule(
    *,
    frequency: str,
    at: str,
    target: Path,
    keep: int = DEFAULT_KEEP,
    weekday: str = WEEKDAYS[0],
    day: int = 1,
    enabled: bool = True,
    since: datetime | None = None,
) -> Schedule:
    if frequency not in FREQUENCIES:
        raise InvalidInput(
            f"Fréquence inconnue : {frequency}.",
            remedy="Choisissez daily (chaque jour), weekly (chaque semaine) ou monthly (chaque "
            "mois).",
            field="frequency",
        )
    try:
        hh, mm = (int(p) for p in at.split(":"))
        when = time(hh, mm)
    except ValueError as exc:
        raise InvalidInput(
            f"Heure incorrecte : {at}.", remedy="Écrivez-la HH:MM, par exemple 02:30.", field="at"
        ) from exc
    if weekday.lower() not in WEEKDAYS:
        raise InvalidInput(
            f"Jour de la semaine inconnu : {weekday}.",
            remedy="Écrivez-le en toutes lettres : " + ", ".join(WEEKDAYS) + ".",
            field="weekday",
        )
    if not 1 <= day <= 28:
        raise InvalidInput(
            "Le jour du mois doit être compris entre 1 et 28 (il existe dans tous les mois).",
            field="day",
        )
    if keep < 1:
        raise InvalidInput("Il faut garder au moins une sauvegarde (--keep 1 ou plus).")
    return Schedule(
        frequency=frequency,
        at=when,
        target=target,
        keep=keep,
        weekday=WEEKDAYS.index(weekday.lower()),
        day=day,
        enabled=enabled,
        since=since,
    )


def load_schedule(db: Database) -> Schedule | None:
    data = read_setting(db, SCHEDULE_KEY)
    return Schedule.from_dict(data) if isinstance(data, dict) else None


def save_schedule(
    store: SqlStore,
    schedule: Schedule,
    *,
    now: datetime | None = None,
    actor: User | None = None,
) -> Schedule:
    """Check the target folder, then save. The first slot due is the next one from now.

    With ``actor`` (a person, from the CLI or the web), their ``backup.schedule`` right is
    checked and the change audited in the same transaction."""
    if actor is not None:
        # Refused before the folder is looked at: its state is none of a refused caller's business.
        with store.read() as r:
            authorise(r, actor, Operation.BACKUP_SCHEDULE, None)
    target = schedule.target.expanduser().resolve()
    check_target(target)
    at = now or datetime.now(UTC)
    saved = Schedule(
        frequency=schedule.frequency,
        at=schedule.at,
        target=target,
        keep=schedule.keep,
        weekday=schedule.weekday,
        day=schedule.day,
        enabled=schedule.enabled,
        since=at,
    )
    with store.write() as r:
        if actor is not None:
            fresh = authorise(r, actor, Operation.BACKUP_SCHEDULE, None)
            record_audit(
                r,
                fresh,
                "backup.schedule",
                "backup",
                at=at,
                schedule=saved.describe(),
                enabled=saved.enabled,
            )
        r.settings.put(STATE_SCOPE, SCHEDULE_KEY, saved.to_dict(), at)
    return saved


def backup_state(db: Database) -> dict[str, Any]:
    state = read_setting(db, STATE_KEY)
    return state if isinstance(state, dict) else {}


def _when(entry: Any) -> datetime | None:
    if isinstance(entry, dict) and entry.get("at"):
        return datetime.fromisoformat(str(entry["at"]))
    return None


@dataclass(frozen=True)
class StepOutcome:
    status: str  # none, busy, done, waiting, backed_up, failed
    slot: datetime | None = None
    file: str | None = None
    error: str | None = None


def run_due(
    settings: Settings, db: Database, pipeline: Pipeline, *, now: datetime | None = None
) -> StepOutcome:
    """Take the scheduled backup if one is due; alert when it fails or is overdue."""
    schedule = load_schedule(db)
    if schedule is None or not schedule.enabled:
        return StepOutcome("none")
    now = now or datetime.now(UTC)
    slot = schedule.last_slot(now)
    if schedule.since is not None and slot < schedule.since:
        return StepOutcome("none")
    state = backup_state(db)
    last_good = _when(state.get("last_good"))
    if last_good is not None and last_good >= slot:
        return StepOutcome("done", slot)
    last_failure = _when(state.get("last_failure"))
    if last_failure is not None and last_failure >= slot and now - last_failure < RETRY_AFTER:
        _alert_if_overdue(pipeline, schedule, slot, now, last_good)
        return StepOutcome("waiting", slot)
    try:
        result = take_backup(settings, schedule.target, now=now)
        apply_retention(schedule.target, schedule.keep)
    except Exception as exc:  # noqa: BLE001 - every failure must be seen: recorded and alerted
        message, remedy = _describe(exc)
        log.error("backup_failed", error=getattr(exc, "code", type(exc).__name__))
        record_state(
            db,
            {"last_failure": {"at": now.isoformat(), "message": message, "remedy": remedy}},
        )
        raise_alert(
            pipeline,
            Alert(
                kind="backup_failed",
                subject="La sauvegarde programmée a échoué",
                body=f"{message}\n\nQue faire : {remedy}\n\nSauvegarde prévue : "
                f"{slot.astimezone(PARIS):%d/%m/%Y %H:%M} ({schedule.describe()}).",
                key=f"backup_failed:{slot.isoformat()}",
                facts={"target": str(schedule.target), "slot": slot.isoformat()},
            ),
        )
        _alert_if_overdue(pipeline, schedule, slot, now, last_good)
        return StepOutcome("failed", slot, error=message)
    return StepOutcome("backed_up", slot, file=str(result.path))


def _describe(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, DsnlinkError):
        return exc.message, exc.remedy or ""
    if isinstance(exc, OSError):
        return (
            f"Erreur d'écriture de la sauvegarde : {exc.strerror or type(exc).__name__}.",
            "Vérifiez le disque et le dossier de sauvegarde.",
        )
    return (
        f"Erreur inattendue pendant la sauvegarde ({type(exc).__name__}).",
        "Lancez « dsnlink backup » à la main pour voir le détail, et signalez le problème.",
    )


def _alert_if_overdue(
    pipeline: Pipeline,
    schedule: Schedule,
    slot: datetime,
    now: datetime,
    last_good: datetime | None,
) -> None:
    if now - slot < OVERDUE_AFTER:
        return
    since = (
        f"la dernière bonne sauvegarde date du {last_good.astimezone(PARIS):%d/%m/%Y %H:%M}"
        if last_good
        else "aucune bonne sauvegarde n'a encore été faite"
    )
    raise_alert(
        pipeline,
        Alert(
            kind="backup_overdue",
            subject="Sauvegarde en retard",
            body=f"La sauvegarde prévue le {slot.astimezone(PARIS):%d/%m/%Y à %H:%M} n'est "
            f"toujours pas faite ; {since}.\n\nQue faire : lancez « dsnlink doctor » puis "
            "« dsnlink backup » pour voir ce qui bloque.",
            key=f"backup_overdue:{slot.isoformat()}",
            facts={"target": str(schedule.target), "slot": slot.isoformat()},
        ),
    )


def overdue(schedule: Schedule, state: dict[str, Any], now: datetime) -> datetime | None:
    """The slot that is overdue (no good backup since, past the grace delay), if any."""
    slot = schedule.last_slot(now)
    if schedule.since is not None and slot < schedule.since:
        return None
    last_good = _when(state.get("last_good"))
    if (last_good is None or last_good < slot) and now - slot >= OVERDUE_AFTER:
        return slot
    return None


#: The installation-wide lock held while a scheduled backup is decided and taken.
BACKUP_LOCK = "backup.scheduled"


class BackupStep:
    """The periodic step of the runner and of the réseau workers: the scheduled backup, when
    due. Whoever runs it (a runner, a worker on any workstation) holds ``BACKUP_LOCK`` while
    it reads the state and takes the backup, so a slot is taken once: the second one to come
    either finds the lock held (``busy``) or, after it, the slot's good backup (``done``)."""

    def __init__(self, settings: Settings, db: Database, pipeline: Pipeline) -> None:
        self.settings, self.db, self.pipeline = settings, db, pipeline

    def run(self, *, now: datetime | None = None) -> StepOutcome:
        with self.db.try_lock(BACKUP_LOCK) as got:
            if not got:
                return StepOutcome("busy")
            outcome = run_due(self.settings, self.db, self.pipeline, now=now)
        if outcome.status in {"backed_up", "failed"}:
            log.info("scheduled_backup", status=outcome.status, file=outcome.file)
        return outcome

    def __call__(self) -> None:
        self.run()
