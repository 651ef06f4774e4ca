"""Deadlines: per employer, the due date of its monthly DSN (the 5th or the 15th of the next
month) and where that DSN stands; alerts when a due date is near and nothing was deposited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dsnlink.pipeline.alerts import raise_alert
from dsnlink.pipeline.context import Pipeline
from dsnlink.pipeline.model import Alert, Envoi
from dsnlink.pipeline.states import LABELS, EnvoiState

S = EnvoiState
PARIS = ZoneInfo("Europe/Paris")
#: States that count as "deposited" for a deadline.
_DEPOSITED = {S.DEPOSITED, S.RETURNS_PENDING, S.COMPLETE}
_IN_PROGRESS = {S.RECEIVED, S.CHECKED, S.QUEUED, S.SENDING, S.FATE_UNKNOWN, S.HELD}


@dataclass(frozen=True)
class Deadline:
    siret: str
    name: str
    month: str  # "MM/YYYY"
    due: date
    status: str  # deposited, late, in_progress, missing, overdue, attention
    label: str
    deposited_at: datetime | None = None
    envoi_id: str | None = None


def due_date(month: str, day: int) -> date:
    """Noon of the due day is the platform's limit; the day is what people plan with."""
    mm, yyyy = (int(p) for p in month.split("/"))
    year, nxt = (yyyy + 1, 1) if mm == 12 else (yyyy, mm + 1)
    return date(year, nxt, day)


def due_date_for(month: str, *days: int | None) -> date:
    """The due date of ``month`` with the first day set among ``days`` (most specific first:
    the employer's policy, the employer's record, the installation's default)."""
    return due_date(month, next(d for d in days if d))


def deadline_limit(due: date) -> datetime:
    """The platform's limit for a due date: noon, Paris time."""
    return datetime.combine(due, time(12, 0), PARIS)


def previous_month(today: date) -> str:
    first = today.replace(day=1) - timedelta(days=1)
    return f"{first.month:02d}/{first.year}"


def deadlines(pipeline: Pipeline, *, month: str | None = None) -> list[Deadline]:
    now = pipeline.clock.now()
    today = now.astimezone(PARIS).date()
    month = month or previous_month(today)
    found: list[Deadline] = []
    for employer in pipeline.identities.employers():
        policy = pipeline.ledger.policy(employer.siret)
        due = due_date_for(
            month, policy.deadline_day, employer.due_day, pipeline.config.deadline_day
        )
        envois = [
            e
            for e in pipeline.ledger.envois(siret=employer.siret, month=month)
            if e.declaration.is_real_monthly and e.role != "test"
        ]
        found.append(deadline_status(employer.siret, employer.name, month, due, now, envois))
    return found


def deadline_status(
    siret: str,
    name: str,
    month: str,
    due: date,
    now: datetime,
    envois: list[Envoi],
) -> Deadline:
    """Where the DSN of ``month`` of one employer stands at ``now``, from its real monthly
    envois of that month (test deposits left out by the caller)."""
    limit = deadline_limit(due)
    deposited = sorted(
        (e for e in envois if e.state in _DEPOSITED and e.deposited_at),
        key=lambda e: e.deposited_at or now,
    )
    if deposited:
        first = deposited[0]
        at = first.deposited_at
        late = at is not None and at > limit
        return Deadline(
            siret,
            name,
            month,
            due,
            "late" if late else "deposited",
            ("déposée en retard" if late else "déposée") + f" ({LABELS[first.state]})",
            at,
            first.id,
        )
    if any(e.state is S.ATTENTION_NEEDED for e in envois):
        envoi = next(e for e in envois if e.state is S.ATTENTION_NEEDED)
        return Deadline(siret, name, month, due, "attention", "à examiner", None, envoi.id)
    if any(e.state in _IN_PROGRESS for e in envois):
        envoi = next(e for e in envois if e.state in _IN_PROGRESS)
        return Deadline(siret, name, month, due, "in_progress", LABELS[envoi.state], None, envoi.id)
    if now > limit:
        return Deadline(siret, name, month, due, "overdue", "non déposée, échéance dépassée")
    return Deadline(siret, name, month, due, "missing", "non déposée")


def alert_deadlines(pipeline: Pipeline, *, month: str | None = None) -> int:
    """Alert for each employer whose due date is near (or past) with nothing deposited."""
    now = pipeline.clock.now()
    sent = 0
    for item in deadlines(pipeline, month=month):
        if item.status not in {"missing", "overdue"}:
            continue
        if deadline_limit(item.due) - now > pipeline.config.deadline_warning:
            continue
        sent += raise_alert(
            pipeline,
            Alert(
                kind="deadline_near",
                subject=f"DSN de {item.month} non déposée : {item.name} ({item.siret})",
                body=f"Échéance le {item.due:%d/%m/%Y} à midi ; aucune DSN réelle déposée.",
                key=f"deadline:{item.siret}:{item.month}:{item.status}",
                facts={"siret": item.siret, "month": item.month, "due": item.due.isoformat()},
            ),
        )
    return sent
