"""Paginated read models of the ledger for the Centre de maintenance (pages and JSON API).

The ledger's own methods load whole tables (fine for a command run once); a page must answer in
milliseconds with 10,000 deposits, 100,000 returns and 100,000 rates in the store. These
queries read one page at a time, in the order of an index (migration
``0102_web_read_indexes``), and never select the DSN bytes nor a return's content.
Rows are plain dicts ready for JSON and templates; never a secret (the ledger holds none).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, Select, and_, cast, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from dsnlink.errors import NotFound
from dsnlink.pipeline.model import PasRate
from dsnlink.pipeline.sql import pas_rate_from_row
from dsnlink.pipeline.states import LABELS, EnvoiState
from dsnlink.pipeline.tables import deposit_files, envois, pas_rates, return_files
from dsnlink.store import tables as t
from dsnlink.store.database import Database
from dsnlink.store.snapshot import cached, snapshot_key

#: Nature of the deposit's own answer (AEE or ARE).
DEPOSIT_ANSWER_NATURE = "10"
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    #: Envois per state (:func:`deposits` with ``counts=True``), read in the same transaction.
    counts: dict[str, int] | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
        }


def _paged(
    conn: Connection,
    query: Select[Any],
    page: int,
    per_page: int,
    *,
    count_key: Hashable,
    snapshot: Hashable | None = None,
) -> tuple[Any, int]:
    """A page of ``query`` and the number of its rows (kept under ``count_key``, which names
    the query and its filters, while the database does not change). ``snapshot``: the
    transaction's :func:`snapshot_key` if taken already (otherwise taken here, so this must
    then be the transaction's first read)."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    if snapshot is None:
        snapshot = snapshot_key(conn)
    total = cached(
        conn,
        snapshot,
        count_key,
        lambda: int(
            conn.execute(
                select(func.count()).select_from(query.order_by(None).subquery())
            ).scalar_one()
        ),
    )
    rows = conn.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- deposits --------------------------------------------------------------------------------

_answer = return_files.alias("answer")


def deposits(
    db: Database,
    *,
    states: Sequence[EnvoiState] | None = None,
    siret: str | None = None,
    month: str | None = None,
    idflux: str | None = None,
    file_id: str | None = None,
    ids: Sequence[str] | None = None,
    page: int = 1,
    per_page: int = 50,
    counts: bool = False,
) -> Page:
    """Envois newest first, with their file, employer and the AEE/ARE when it came (and, with
    ``counts``, the envois per state, in the same transaction).

    The page's ids are found first on the index alone (``created_at, id``); only those 50
    rows are then read and joined: a deep page costs an index walk, not a table scan. The
    number of matching envois and the counts per state are kept while the database does not
    change (:mod:`dsnlink.store.snapshot`).
    """
    c = envois.c
    where: list[ColumnElement[bool]] = []
    if states:
        where.append(c.state.in_([s.value for s in states]))
    for column, value in (
        (c.declared_siret, siret),
        (c.month, month),
        (c.idflux, idflux),
        (c.file_id, file_id),
    ):
        if value:
            where.append(column == value)
    if ids is not None:
        where.append(c.id.in_(list(ids)))
    per_page, page = _per(per_page), max(1, page)
    keys = (
        select(c.id)
        .where(*where)
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    count_key = (
        "envois",
        tuple(s.value for s in states or ()),
        siret,
        month,
        idflux,
        file_id,
        tuple(ids) if ids is not None else None,
    )
    by_state = None
    with db.read() as conn:
        snapshot = snapshot_key(conn)  # before the first read of the transaction
        total = cached(
            conn,
            snapshot,
            count_key,
            lambda: int(
                conn.execute(select(func.count()).select_from(envois).where(*where)).scalar_one()
            ),
        )
        wanted = list(conn.execute(keys).scalars())
        rows = conn.execute(_deposit_query().where(c.id.in_(wanted))).all() if wanted else []
        if counts:
            by_state = dict(cached(conn, snapshot, "envois_by_state", lambda: _by_state(conn)))
    order = {key: n for n, key in enumerate(wanted)}
    rows = sorted(rows, key=lambda r: order[r.id])
    return Page([_deposit_row(r) for r in rows], total, page, per_page, by_state)


@cache
def _deposit_query() -> Select[Any]:
    # Built once: statements are immutable (``.where`` returns a new one), and assembling
    # nineteen columns and three joins on every page costs more than running the query.
    c = envois.c
    return (
        select(
            c.id,
            c.declared_siret,
            c.month,
            c.nature,
            c.type,
            c.is_test,
            c.role,
            c.state,
            c.idflux,
            c.attempts,
            c.error_code,
            c.error_message,
            c.created_at,
            c.deposited_at,
            c.updated_at,
            deposit_files.c.name.label("file"),
            t.employers.c.name.label("employer"),
            _answer.c.kind.label("answer_kind"),
            _answer.c.anomalies.label("answer_anomalies"),
        )
        .join(deposit_files, deposit_files.c.id == c.file_id)
        .outerjoin(t.employers, t.employers.c.siret == c.declared_siret)
        .outerjoin(
            _answer,
            and_(
                _answer.c.idflux == c.idflux,
                _answer.c.nature == DEPOSIT_ANSWER_NATURE,
            ),
        )
    )


def _per(per_page: int) -> int:
    return max(1, min(per_page, MAX_PER_PAGE))


def _deposit_row(r: Any) -> dict[str, Any]:
    state = EnvoiState(r.state)
    return {
        "id": r.id,
        "file": r.file,
        "siret": r.declared_siret,
        "employer": r.employer,
        "month": r.month,
        "nature": r.nature,
        "type": r.type,
        "test": r.is_test,
        "role": r.role,
        "state": state.value,
        "state_label": LABELS[state],
        "idflux": r.idflux,
        "answer": r.answer_kind,  # AEE, ARE, or None while it has not come
        "answer_anomalies": r.answer_anomalies,
        "attempts": r.attempts,
        "error": r.error_code,
        "error_message": r.error_message,
        "created_at": _iso(r.created_at),
        "deposited_at": _iso(r.deposited_at),
        "updated_at": _iso(r.updated_at),
    }


def deposit_counts(db: Database) -> dict[str, int]:
    """Envois per state (the index on ``state`` answers it; kept while nothing changes)."""
    with db.read() as conn:
        return dict(cached(conn, snapshot_key(conn), "envois_by_state", lambda: _by_state(conn)))


def _by_state(conn: Connection) -> tuple[tuple[str, int], ...]:
    rows = conn.execute(select(envois.c.state, func.count()).group_by(envois.c.state))
    found = {state: int(n) for state, n in rows}
    return tuple((s.value, found[s.value]) for s in EnvoiState if found.get(s.value))


def file_of(db: Database, envoi_id: str) -> dict[str, Any]:
    """The received file an envoi came from, with the checker's findings."""
    with db.read() as conn:
        row = conn.execute(
            select(deposit_files)
            .join(envois, envois.c.file_id == deposit_files.c.id)
            .where(envois.c.id == envoi_id)
        ).first()
    if row is None:
        raise NotFound("Dépôt inconnu.", envoi_id=envoi_id)
    return {
        "id": row.id,
        "name": row.name,
        "size": row.size,
        "sha256": row.sha256,
        "received_at": _iso(row.received_at),
        "acting_login": row.acting_login,
        "blocking": row.blocking,
        "source": row.source,
        "findings": list(row.findings),
    }


# --- returns ---------------------------------------------------------------------------------

_RETURN_COLUMNS = [c for c in return_files.c if c.name not in {"content", "url"}]


def returns(
    db: Database,
    *,
    kind: str | None = None,
    idflux: str | None = None,
    siret: str | None = None,
    with_anomalies: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Stored returns newest first, with the envoi (and so the employer) they answer; keys
    first on the index, then the page's rows (as :func:`deposits`)."""
    r = return_files.c
    where: list[ColumnElement[bool]] = []
    if kind:
        where.append(r.kind == kind)
    if idflux:
        where.append(r.idflux == idflux)
    if siret:
        where.append(envois.c.declared_siret == siret)
    if with_anomalies:
        where.append(r.anomalies > 0)
    source: Any = return_files
    if siret:
        source = return_files.join(envois, envois.c.id == r.envoi_id)
    per_page, page = _per(per_page), max(1, page)
    keys = (
        select(r.idflux, r.nature, r.ops, r.published_at)
        .select_from(source)
        .where(*where)
        .order_by(r.published_at.desc(), r.idflux.desc(), r.nature.desc(), r.ops.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
        .subquery("page_keys")
    )
    # The page's keys from the index, then those rows only, by primary key.
    query = (
        select(
            *_RETURN_COLUMNS,
            func.length(r.content).label("size"),
            envois.c.declared_siret,
            envois.c.month,
        )
        .select_from(
            keys.join(
                return_files,
                and_(r.idflux == keys.c.idflux, r.nature == keys.c.nature, r.ops == keys.c.ops),
            )
        )
        .outerjoin(envois, envois.c.id == r.envoi_id)
        .order_by(
            keys.c.published_at.desc(),
            keys.c.idflux.desc(),
            keys.c.nature.desc(),
            keys.c.ops.desc(),
        )
    )
    count_key = ("return_files", kind, idflux, siret, with_anomalies)
    with db.read() as conn:
        # The exact count of 100,000 returns is the dearest read of the page: kept while the
        # database does not change.
        total = cached(
            conn,
            snapshot_key(conn),
            count_key,
            lambda: int(
                conn.execute(select(func.count()).select_from(source).where(*where)).scalar_one()
            ),
        )
        rows = conn.execute(query).all()
    return Page([return_row(x) for x in rows], total, page, per_page)


def return_row(x: Any) -> dict[str, Any]:
    return {
        "idflux": x.idflux,
        "nature": x.nature,
        "ops": x.ops,
        "return_id": x.return_id,
        "kind": x.kind,
        "status": x.status,
        "ok": x.ok,
        "anomalies": x.anomalies,
        "blocking": x.blocking,
        "published_at": _iso(x.published_at),
        "fetched_at": _iso(x.fetched_at),
        "envoi_id": x.envoi_id,
        "siret": getattr(x, "declared_siret", None),
        "month": getattr(x, "month", None),
        "size": int(x.size or 0),
    }


def return_content(
    db: Database, idflux: str, nature: str, ops: str
) -> tuple[dict[str, Any], bytes]:
    """One stored return: its row and its bytes (``NotFound`` if absent or not fetched)."""
    r = return_files.c
    with db.read() as conn:
        row = conn.execute(
            select(
                *_RETURN_COLUMNS,
                r.content,
                func.length(r.content).label("size"),
                envois.c.declared_siret,
                envois.c.month,
            )
            .outerjoin(envois, envois.c.id == r.envoi_id)
            .where(r.idflux == idflux, r.nature == nature, r.ops == ops)
        ).first()
    if row is None:
        raise NotFound("Retour inconnu.", idflux=idflux, nature=nature)
    if row.content is None:
        raise NotFound(
            "Ce retour n'a pas encore été téléchargé.",
            remedy="Relevez les retours, puis réessayez.",
            idflux=idflux,
            nature=nature,
        )
    return return_row(row), bytes(row.content)


# --- PAS rates -------------------------------------------------------------------------------


def employer_choices(db: Database) -> list[dict[str, str]]:
    """SIRET and name of every employer, by name (the employer choice of a page), in one
    query that builds no :class:`~dsnlink.store.records.Employer` record."""
    e = t.employers.c
    with db.read() as conn:
        rows = cached(
            conn,
            snapshot_key(conn),
            "employer_choices",
            lambda: tuple(
                (siret, name)
                for siret, name in conn.execute(select(e.siret, e.name).order_by(e.name, e.id))
            ),
        )
    return [{"siret": siret, "name": name} for siret, name in rows]


def _month_key(month: str) -> tuple[int, int]:
    mm, _, yyyy = month.partition("/")
    return (int(yyyy or 0), int(mm or 0)) if mm.isdigit() and yyyy.isdigit() else (0, 0)


def rate_months(db: Database, siret: str) -> list[dict[str, Any]]:
    """Months of one employer that have rates, latest first, with how many changed."""
    p = pas_rates.c
    changed = and_(
        p.previous_known.is_(True),
        or_(
            p.rate != p.previous_rate,
            and_(p.rate.is_(None), p.previous_rate.is_not(None)),
            and_(p.rate.is_not(None), p.previous_rate.is_(None)),
        ),
    )
    query = (
        select(p.month, func.count(), func.sum(cast(changed, Integer)))
        .where(p.employer_siret == siret)
        .group_by(p.month)
    )
    with db.read() as conn:
        rows = cached(
            conn,
            snapshot_key(conn),
            ("rate_months", siret),
            lambda: tuple(tuple(r) for r in conn.execute(query)),
        )
    months = [{"month": m, "count": int(n), "changed": int(ch or 0)} for m, n, ch in rows]
    return sorted(months, key=lambda x: _month_key(x["month"]), reverse=True)


@dataclass(frozen=True)
class RateTable:
    siret: str
    month: str
    rates: list[PasRate]
    total: int
    page: int
    per_page: int
    #: Employees of the deposited DSN the CRM gave no rate for (the default scale applies).
    without_rate: list[dict[str, Any]]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def rate_table(
    db: Database,
    siret: str,
    month: str,
    *,
    changes_only: bool = False,
    page: int = 1,
    per_page: int = 100,
) -> RateTable:
    """One employer's rates for one declared month, by employee (the latest CRM wins when the
    month was answered twice), and who in that month's DSN got no rate."""
    p = pas_rates.c
    query = select(pas_rates).where(p.employer_siret == siret, p.month == month)
    if changes_only:
        query = query.where(p.previous_known.is_(True)).where(
            or_(
                p.rate != p.previous_rate,
                and_(p.rate.is_(None), p.previous_rate.is_not(None)),
                and_(p.rate.is_not(None), p.previous_rate.is_(None)),
            )
        )
    query = query.order_by(p.nir, p.published_at.desc())
    with db.read() as conn:
        snapshot = snapshot_key(conn)  # before the first read of the transaction
        rows, total = _paged(
            conn,
            query,
            page,
            per_page,
            count_key=("pas_rates", siret, month, changes_only),
            snapshot=snapshot,
        )
        # The same for every page of the month: kept while the database does not change.
        without = cached(
            conn,
            snapshot,
            ("without_rate", siret, month),
            lambda: _month_without(conn, siret, month),
        )
    return RateTable(
        siret,
        month,
        [pas_rate_from_row(r) for r in rows],
        total,
        max(1, page),
        _per(per_page),
        list(without),
    )


def _month_without(conn: Connection, siret: str, month: str) -> list[dict[str, Any]]:
    p = pas_rates.c
    idfluxes = [
        x
        for (x,) in conn.execute(
            select(p.idflux).where(p.employer_siret == siret, p.month == month).distinct()
        )
    ]
    return _without_rate(conn, siret, idfluxes)


def _without_rate(conn: Connection, siret: str, idfluxes: list[str]) -> list[dict[str, Any]]:
    if not idfluxes:
        return []
    rated = {
        nir
        for (nir,) in conn.execute(
            select(pas_rates.c.nir).where(
                pas_rates.c.employer_siret == siret,
                pas_rates.c.idflux.in_(idfluxes),
                pas_rates.c.rate.is_not(None),
            )
        )
    }
    missing: dict[str, dict[str, Any]] = {}
    for (people,) in conn.execute(select(envois.c.employees).where(envois.c.idflux.in_(idfluxes))):
        for nir, matricule, name in people:
            if nir not in rated:
                missing[nir] = {"nir": nir, "matricule": matricule, "nom": name}
    return sorted(missing.values(), key=lambda x: (x["nom"] or "", x["nir"]))


def all_rates(db: Database, siret: str, month: str) -> list[PasRate]:
    """Every rate of one employer and month (the export), by employee."""
    p = pas_rates.c
    with db.read() as conn:
        rows = conn.execute(
            select(pas_rates)
            .where(p.employer_siret == siret, p.month == month)
            .order_by(p.nir, p.published_at.desc())
        )
        return [pas_rate_from_row(r) for r in rows]


# --- the journal -----------------------------------------------------------------------------


def journal(
    db: Database,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """The audit log newest first, filtered; ``action`` matches a prefix (``identity.``)."""
    log = t.audit_log.c
    query = select(t.audit_log).order_by(log.id.desc())
    if actor:
        query = query.where(func.lower(log.actor_login) == actor.lower())
    if action:
        query = query.where(log.action.startswith(action, autoescape=True))
    if object_type:
        query = query.where(log.object_type == object_type)
    if since is not None:
        query = query.where(log.at >= since)
    if until is not None:
        query = query.where(log.at < until)
    count_key = ("audit_log", actor and actor.lower(), action, object_type, since, until)
    with db.read() as conn:
        rows, total = _paged(conn, query, page, per_page, count_key=count_key)
    items = [
        {
            "id": r.id,
            "at": _iso(r.at),
            "actor": r.actor_login,
            "as_whom": r.as_whom,
            "action": r.action,
            "object_type": r.object_type,
            "object_id": r.object_id,
            "detail": r.detail if isinstance(r.detail, dict) else {},
        }
        for r in rows
    ]
    return Page(items, total, max(1, page), _per(per_page))


def journal_actions(db: Database) -> list[str]:
    """The distinct actions recorded (the filter's choices), from the index on ``action``."""
    with db.read() as conn:
        return list(
            cached(
                conn,
                snapshot_key(conn),
                "journal_actions",
                lambda: tuple(
                    sorted(a for (a,) in conn.execute(select(t.audit_log.c.action).distinct()) if a)
                ),
            )
        )


# --- deadlines -------------------------------------------------------------------------------


def deadline_board(
    db: Database, *, month: str, now: datetime, default_day: int
) -> list[dict[str, Any]]:
    """:func:`dsnlink.pipeline.deadlines.deadlines` for every employer in three queries (the
    employers, their policies, the month's envois) instead of two per employer; what they read
    is kept while the database does not change (the statuses depend on ``now``: computed each
    time)."""
    from dsnlink.pipeline.deadlines import deadline_status, due_date_for

    with db.read() as conn:
        employers, days, by_siret = cached(
            conn, snapshot_key(conn), ("deadline_board", month), lambda: _board_facts(conn, month)
        )
    board = []
    for siret, name, due_day in employers:
        due = due_date_for(month, days.get(siret), due_day, default_day)
        item = deadline_status(siret, name, month, due, now, by_siret.get(siret, []))
        board.append(
            {
                "siret": item.siret,
                "name": item.name,
                "month": item.month,
                "due": item.due.isoformat(),
                "status": item.status,
                "label": item.label,
                "deposited_at": _iso(item.deposited_at),
                "envoi_id": item.envoi_id,
            }
        )
    return board


def _board_facts(
    conn: Connection, month: str
) -> tuple[list[Any], dict[str, int | None], dict[str, list[Any]]]:
    """The employers, their deadline days and the month's monthly envois per SIRET."""
    from dsnlink.pipeline.model import Declaration, Envoi
    from dsnlink.pipeline.tables import employer_policies

    c = envois.c
    employers = list(
        conn.execute(
            select(t.employers.c.siret, t.employers.c.name, t.employers.c.due_day).order_by(
                t.employers.c.name, t.employers.c.siret
            )
        )
    )
    days = dict(
        conn.execute(select(employer_policies.c.siret, employer_policies.c.deadline_day)).all()
    )
    # Only what the status needs (state, deposit time, id): no DSN bytes, no employees.
    rows = conn.execute(
        select(c.id, c.declared_siret, c.state, c.deposited_at, c.created_at).where(
            c.month == month,
            c.nature == "01",
            c.is_test.is_(False),
            c.role != "test",
        )
    ).all()
    by_siret: dict[str, list[Any]] = {}
    for r in rows:
        envoi = Envoi(
            id=r.id,
            file_id="",
            seq=0,
            sha256="",
            declaration=Declaration(r.declared_siret, month, "01", "", "", False),
            state=EnvoiState(r.state),
            acting_login="",
            created_at=r.created_at,
            updated_at=r.created_at,
            deposited_at=r.deposited_at,
        )
        by_siret.setdefault(r.declared_siret, []).append(envoi)
    return employers, days, by_siret
