"""Per-employer choices of the pipeline: the due day of its monthly DSN and whether its DSN
are deposited as a test first. Read for the Employeurs page; changed by a person holding the
``configuration`` right (``employers.manage``), with an audit entry in the same transaction.

The due day chosen here overrides the one given when the employer was added; the deadlines
and the pages show the one in force (:func:`due_day_in_force`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from dsnlink.accounts.base import authorise, record_audit
from dsnlink.accounts.rights import Operation
from dsnlink.errors import InvalidInput, NotFound
from dsnlink.pipeline.model import EmployerPolicy
from dsnlink.pipeline.sql import write_policy
from dsnlink.pipeline.tables import employer_policies
from dsnlink.store.database import Database
from dsnlink.store.records import User
from dsnlink.store.sql import SqlRepositories, SqlStore

#: The due days of a monthly DSN (the 5th for employers of 50 employees or more).
DUE_DAYS = (5, 15)


def allowed_due_days(default_day: int) -> tuple[int, ...]:
    """5, 15, and the installation's ``DSNLINK_DEADLINE_DAY`` when it is another day."""
    return DUE_DAYS if default_day in DUE_DAYS else (*DUE_DAYS, default_day)


def check_due_day(day: int, default_day: int) -> int:
    allowed = allowed_due_days(default_day)
    if day not in allowed:
        extra = f" (ou le {default_day}, réglage de l'installation)" if len(allowed) > 2 else ""
        raise InvalidInput(
            f"L'échéance de la DSN est le 5 ou le 15 du mois{extra} : « {day} » n'en est pas une.",
            remedy="Choisissez l'un des jours proposés.",
            field="due_day",
            value=day,
        )
    return day


def policies(db: Database) -> dict[str, EmployerPolicy]:
    """SIRET -> policy, for every employer that has one (the others have the defaults)."""
    c = employer_policies.c
    with db.read() as conn:
        return {
            siret: EmployerPolicy(siret, day, bool(flag))
            for siret, day, flag in conn.execute(select(c.siret, c.deadline_day, c.test_first))
        }


def due_day_in_force(policy: EmployerPolicy | None, employer_day: int, default_day: int) -> int:
    """The due day the deadlines use: the policy's, else the employer's, else the default."""
    return (policy.deadline_day if policy else None) or employer_day or default_day


def set_policy(
    store: SqlStore,
    actor: User,
    siret: str,
    *,
    due_day: int,
    test_first: bool,
    default_day: int,
    now: datetime,
) -> EmployerPolicy:
    """Set an employer's due day and "test first" option, as ``actor``; audited."""
    check_due_day(due_day, default_day)
    policy = EmployerPolicy(siret, due_day, test_first)
    with store.db.write() as conn:
        r = SqlRepositories(conn)
        fresh = authorise(r, actor, Operation.EMPLOYERS_MANAGE, None)
        employer = r.employers.by_siret(siret)
        if employer is None:
            raise NotFound(f"Aucun employeur de SIRET {siret}.", siret=siret)
        write_policy(conn, policy)
        record_audit(
            r,
            fresh,
            "employer.policy",
            "employer",
            str(employer.id),
            at=now,
            siret=siret,
            due_day=due_day,
            test_first=test_first,
        )
    return policy
