"""The ledger on SQLite or PostgreSQL (SQLAlchemy Core), passing the same contract tests as
:class:`dsnlink.pipeline.memory.MemoryLedger`.

Transitions are one event row inserted from the envoi's row ``WHERE id = :id AND state IN
(allowed)`` plus one ``UPDATE … RETURNING`` of the envoi, in one write transaction: the
compare-and-set that lets any number of workers, threads or machines, race for an envoi and
only one win.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Insert,
    Integer,
    Row,
    Select,
    Update,
    and_,
    bindparam,
    false,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from dsnlink.errors import Conflict, NotFound, StateConflict
from dsnlink.pipeline.memory import check_changes, check_then
from dsnlink.pipeline.model import (
    Declaration,
    Employee,
    EmployerPolicy,
    Envoi,
    Event,
    Finding,
    PasRate,
    ReceivedFile,
    StoredReturn,
)
from dsnlink.pipeline.states import ALLOWED, EnvoiState, intake_path
from dsnlink.pipeline.tables import (
    alerts_sent,
    deposit_files,
    employer_policies,
    envoi_events,
    envois,
    pas_rates,
    return_cursors,
    return_files,
)
from dsnlink.store.database import Database

_ENVOI_COLUMNS = [c for c in envois.c if c.name != "data"]

# Statements of the busy paths, built once: building a statement and its cache key costs more
# CPU than SQLite takes to run it, and write transactions are serialised. Column values are
# given at execution (an UPDATE's SET clause lists the columns its parameters name).
_ENVOI_BY_ID = select(*_ENVOI_COLUMNS).where(envois.c.id == bindparam("eid"))
_ENVOI_DATA = select(envois.c.data).where(envois.c.id == bindparam("eid"))
_ENVOI_STATE = select(envois.c.state).where(envois.c.id == bindparam("eid"))
#: compare-and-set on the version
_UPDATE = (
    update(envois)
    .where(envois.c.id == bindparam("eid"), envois.c.version == bindparam("expect"))
    .values(version=envois.c.version + 1)
    .returning(*_ENVOI_COLUMNS)
)
_ADD_EVENT = insert(envoi_events)
_ADD_FILE = insert(deposit_files)
_ADD_ENVOI = insert(envois)
_FILE_BY_SHA = select(deposit_files).where(deposit_files.c.sha256 == bindparam("sha"))
_POLICY = select(employer_policies).where(employer_policies.c.siret == bindparam("siret"))
_RETURN_KEY = (
    return_files.c.idflux == bindparam("k_idflux"),
    return_files.c.nature == bindparam("k_nature"),
    return_files.c.ops == bindparam("k_ops"),
)
_RETURN_BY_KEY = select(return_files).where(*_RETURN_KEY)
_ADD_RETURN = insert(return_files)
_UPDATE_RETURN = update(return_files).where(*_RETURN_KEY)
_DELETE_RATES = pas_rates.delete().where(pas_rates.c.crm_key == bindparam("k_crm"))
_ADD_RATES = insert(pas_rates)
_RETURNS_OF_FLOW = (
    select(return_files)
    .where(return_files.c.idflux == bindparam("k_idflux"))
    .order_by(return_files.c.idflux, return_files.c.nature, return_files.c.ops)
)


class SqlLedger:
    def __init__(self, db: Database) -> None:
        self.db = db

    def reading(self) -> AbstractContextManager[None]:
        return self.db.reading()

    # files and envois

    def add_file(self, file: ReceivedFile, rows: Sequence[tuple[Envoi, bytes]]) -> None:
        # Every row is built before taking the single writer.
        file_row = _file_values(file)
        envoi_rows = [_envoi_values(e) | {"data": d} for e, d in rows]
        event_rows = [
            {
                "envoi_id": e.id,
                "at": e.created_at,
                "from_state": before.value if before else None,
                "to_state": after.value,
                "actor": e.acting_login,
                "detail": "",
            }
            for e, _ in rows
            for before, after in intake_path(e.state)
        ]
        try:
            with self.db.write(f"file:{file.sha256}") as conn:
                conn.execute(_ADD_FILE, file_row)
                if envoi_rows:
                    conn.execute(_ADD_ENVOI, envoi_rows)
                    conn.execute(_ADD_EVENT, event_rows)
        except Conflict:
            raise
        except Exception as exc:
            if _is_integrity(exc):
                raise Conflict("Ce fichier a déjà été reçu.", sha256=file.sha256) from exc
            raise

    def file_by_sha(self, sha256: str) -> ReceivedFile | None:
        with self.db.read() as conn:
            row = conn.execute(_FILE_BY_SHA, {"sha": sha256}).first()
        return _file(row) if row else None

    def get_file(self, file_id: str) -> ReceivedFile:
        with self.db.read() as conn:
            row = conn.execute(select(deposit_files).where(deposit_files.c.id == file_id)).first()
        if row is None:
            raise NotFound("Fichier inconnu.", file_id=file_id)
        return _file(row)

    def get_envoi(self, envoi_id: str) -> Envoi:
        with self.db.read() as conn:
            row = conn.execute(_ENVOI_BY_ID, {"eid": envoi_id}).first()
        if row is None:
            raise NotFound("Dépôt inconnu.", envoi_id=envoi_id)
        return _envoi(row)

    def envoi_bytes(self, envoi_id: str) -> bytes:
        with self.db.read() as conn:
            data = conn.execute(_ENVOI_DATA, {"eid": envoi_id}).scalar()
        if data is None:
            raise NotFound("Dépôt inconnu.", envoi_id=envoi_id)
        return bytes(data)

    def envois(
        self,
        *,
        states: Sequence[EnvoiState] | None = None,
        file_id: str | None = None,
        identity_id: str | None = None,
        siret: str | None = None,
        month: str | None = None,
        idflux: str | None = None,
        due_before: datetime | None = None,
        unscheduled: bool = False,
        limit: int | None = None,
    ) -> list[Envoi]:
        filters = {
            "file_id": file_id,
            "identity_id": identity_id,
            "declared_siret": siret,
            "month": month,
            "idflux": idflux,
        }
        params: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
        if states is not None:
            params["states"] = [s.value for s in states]
        if due_before is not None:
            params["due_before"] = due_before
        if limit is not None:
            params["limit"] = limit
        query = _envois_query(frozenset(params), unscheduled)
        with self.db.read() as conn:
            return [_envoi(r) for r in conn.execute(query, params)]

    def transition(
        self,
        envoi_id: str,
        to: EnvoiState,
        *,
        at: datetime,
        actor: str,
        detail: str = "",
        then: EnvoiState | None = None,
        **changes: object,
    ) -> Envoi:
        check_changes(changes)
        check_then(to, then)
        add_event, move = _transition_statements(to)
        with self.db.write(f"envoi:{envoi_id}") as conn:
            # The event first: written only from an allowed state (the compare-and-set),
            # then the row, in the same transaction.
            written = conn.execute(
                add_event,
                {
                    "eid": envoi_id,
                    "at": at,
                    "to_state": to.value,
                    "actor": actor,
                    "detail": detail,
                },
            )
            if written.first() is None:  # rowcount is not reliable for INSERT … SELECT
                current = conn.execute(_ENVOI_STATE, {"eid": envoi_id}).scalar()
                if current is None:
                    raise NotFound("Dépôt inconnu.", envoi_id=envoi_id)
                raise StateConflict(envoi_id=envoi_id, state=current, wanted=to.value)
            if then is not None:
                conn.execute(
                    _ADD_EVENT,
                    {
                        "envoi_id": envoi_id,
                        "at": at,
                        "from_state": to.value,
                        "to_state": then.value,
                        "actor": actor,
                        "detail": "",
                    },
                )
            final = (then or to).value
            params = {"eid": envoi_id, "state": final, "updated_at": at}
            row = conn.execute(move, params | changes).one()
        return _envoi(row)

    def update(self, envoi_id: str, *, expect_version: int, **changes: object) -> Envoi:
        check_changes(changes)
        with self.db.write(f"envoi:{envoi_id}") as conn:
            params = {"eid": envoi_id, "expect": expect_version}
            row = conn.execute(_UPDATE, params | changes).first()
            if row is None:
                raise StateConflict(envoi_id=envoi_id)
        return _envoi(row)

    def events(self, envoi_id: str) -> list[Event]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(envoi_events)
                .where(envoi_events.c.envoi_id == envoi_id)
                .order_by(envoi_events.c.id)
            )
            return [
                Event(
                    r.envoi_id,
                    r.at,
                    EnvoiState(r.from_state) if r.from_state else None,
                    EnvoiState(r.to_state),
                    r.actor,
                    r.detail,
                )
                for r in rows
            ]

    # returns and rates

    def upsert_return(
        self, ret: StoredReturn, rates: tuple[str, Sequence[PasRate]] | None = None
    ) -> bool:
        return self.upsert_returns([(ret, rates)]) == 1

    def upsert_returns(
        self, items: Sequence[tuple[StoredReturn, tuple[str, Sequence[PasRate]] | None]]
    ) -> int:
        # Every row is built before taking the single writer.
        prepared = [
            (
                ret,
                _return_values(ret),
                {"k_idflux": ret.idflux, "k_nature": ret.nature, "k_ops": ret.ops},
                _rate_rows(ret.idflux, *rates) if rates is not None else None,
            )
            for ret, rates in items
        ]
        if not prepared:
            return 0
        changed = 0
        with self.db.write(f"return:{prepared[0][0].idflux}") as conn:
            for ret, values, key, crm in prepared:
                if crm is not None:
                    _replace_rates(conn, *crm)
                row = conn.execute(_RETURN_BY_KEY, key).first()
                if row is not None and _return(row) == ret:
                    continue
                if row is None:
                    conn.execute(_ADD_RETURN, values)
                else:
                    conn.execute(_UPDATE_RETURN, key | values)
                changed += 1
        return changed

    def get_return(self, idflux: str, nature: str, ops: str) -> StoredReturn | None:
        with self.db.read() as conn:
            key = {"k_idflux": idflux, "k_nature": nature, "k_ops": ops}
            row = conn.execute(_RETURN_BY_KEY, key).first()
        return _return(row) if row else None

    def returns(
        self, *, idflux: str | None = None, envoi_id: str | None = None
    ) -> list[StoredReturn]:
        if idflux is not None and envoi_id is None:
            with self.db.read() as conn:
                return [_return(r) for r in conn.execute(_RETURNS_OF_FLOW, {"k_idflux": idflux})]
        query = select(return_files)
        if idflux is not None:
            query = query.where(return_files.c.idflux == idflux)
        if envoi_id is not None:
            query = query.where(return_files.c.envoi_id == envoi_id)
        query = query.order_by(return_files.c.idflux, return_files.c.nature, return_files.c.ops)
        with self.db.read() as conn:
            return [_return(r) for r in conn.execute(query)]

    def save_rates(self, idflux: str, crm_identifier: str, rates: Sequence[PasRate]) -> None:
        crm_key, rows = _rate_rows(idflux, crm_identifier, rates)
        with self.db.write(f"rates:{crm_key}") as conn:
            _replace_rates(conn, crm_key, rows)

    def rates(self, *, siret: str | None = None, month: str | None = None) -> list[PasRate]:
        query = select(pas_rates)
        if siret is not None:
            query = query.where(pas_rates.c.employer_siret == siret)
        if month is not None:
            query = query.where(pas_rates.c.month == month)
        query = query.order_by(
            pas_rates.c.employer_siret, pas_rates.c.published_at, pas_rates.c.nir
        )
        with self.db.read() as conn:
            return [pas_rate_from_row(r) for r in conn.execute(query)]

    # cursors, alerts, policies

    def get_cursor(self, identity_id: str) -> datetime | None:
        with self.db.read() as conn:
            value = conn.execute(
                select(return_cursors.c.at).where(return_cursors.c.identity_id == identity_id)
            ).scalar()
        return value

    def set_cursor(self, identity_id: str, at: datetime) -> None:
        with self.db.write(f"cursor:{identity_id}") as conn:
            done = conn.execute(
                update(return_cursors)
                .where(return_cursors.c.identity_id == identity_id)
                .values(at=at)
            )
            if done.rowcount == 0:
                conn.execute(insert(return_cursors).values(identity_id=identity_id, at=at))

    def claim_alert(self, key: str, at: datetime) -> bool:
        try:
            with self.db.write(f"alert:{key}") as conn:
                if conn.execute(select(alerts_sent.c.key).where(alerts_sent.c.key == key)).first():
                    return False
                conn.execute(insert(alerts_sent).values(key=key, at=at))
        except Exception as exc:
            if _is_integrity(exc):
                return False
            raise
        return True

    def policy(self, siret: str) -> EmployerPolicy:
        with self.db.read() as conn:
            row = conn.execute(_POLICY, {"siret": siret}).first()
        if row is None:
            return EmployerPolicy(siret)
        return EmployerPolicy(row.siret, row.deadline_day, row.test_first)

    def set_policy(self, policy: EmployerPolicy) -> None:
        with self.db.write(f"policy:{policy.siret}") as conn:
            write_policy(conn, policy)


def write_policy(conn: Connection, policy: EmployerPolicy) -> None:
    """Insert or replace the policy of one employer, in the caller's transaction (so that a
    change made by a person is written with its audit entry, or not at all)."""
    values = {"deadline_day": policy.deadline_day, "test_first": policy.test_first}
    done = conn.execute(
        update(employer_policies).where(employer_policies.c.siret == policy.siret).values(**values)
    )
    if done.rowcount == 0:
        conn.execute(insert(employer_policies).values(siret=policy.siret, **values))


@functools.cache
def _envois_query(filters: frozenset[str], unscheduled: bool) -> Select[Any]:
    """The listing of envois for one combination of filters, built once (the runner, intake
    and reconciliation list envois on every round, file and deposit)."""
    c = envois.c
    query = select(*_ENVOI_COLUMNS)
    if "states" in filters:
        query = query.where(c.state.in_(bindparam("states", expanding=True)))
    for name in ("file_id", "identity_id", "declared_siret", "month", "idflux"):
        if name in filters:
            query = query.where(c[name] == bindparam(name))
    if "due_before" in filters:
        due = bindparam("due_before", type_=c.next_poll_at.type)
        query = query.where(and_(c.next_poll_at.is_not(None), c.next_poll_at <= due))
    if unscheduled:
        query = query.where(c.next_poll_at.is_(None))
    query = query.order_by(c.created_at, c.file_id, c.seq)
    if "limit" in filters:
        query = query.limit(bindparam("limit", type_=Integer()))
    return query


@functools.cache
def _transition_statements(to: EnvoiState) -> tuple[Insert, Update]:
    """The two statements of a move to ``to``, built once per target state, the states it may
    come from written in (an expanding parameter would render the SQL again on every call).

    The event first: inserted from the envoi's row only if its state allows the move (the
    compare-and-set), its from_state read in the same statement; then the row, its new
    version coming back in the same statement."""
    allowed = sorted(s.value for s in ALLOWED.get(to, frozenset()))
    where = (
        envois.c.id == bindparam("eid"),
        envois.c.state.in_([literal(v) for v in allowed]) if allowed else false(),
    )
    event = (
        insert(envoi_events)
        .from_select(
            ["envoi_id", "at", "from_state", "to_state", "actor", "detail"],
            select(
                envois.c.id,
                bindparam("at", type_=envoi_events.c.at.type),
                envois.c.state,
                bindparam("to_state", type_=envoi_events.c.to_state.type),
                bindparam("actor", type_=envoi_events.c.actor.type),
                bindparam("detail", type_=envoi_events.c.detail.type),
            ).where(*where),
        )
        .returning(envoi_events.c.id)
    )
    row = (
        update(envois).where(*where).values(version=envois.c.version + 1).returning(*_ENVOI_COLUMNS)
    )
    return event, row


def _is_integrity(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, IntegrityError):
            return True
        seen = seen.__cause__
    return False


# --- rows <-> records -----------------------------------------------------------------------


def _file_values(file: ReceivedFile) -> dict[str, Any]:
    return {
        "id": file.id,
        "sha256": file.sha256,
        "name": file.name,
        "size": file.size,
        "received_at": file.received_at,
        "acting_login": file.acting_login,
        "blocking": file.blocking,
        "findings": [
            {
                "code": f.code,
                "severity": f.severity,
                "message": f.message,
                "line": f.line,
                "rubrique": f.rubrique,
            }
            for f in file.findings
        ],
        "source": file.source,
    }


def _file(row: Row[Any]) -> ReceivedFile:
    return ReceivedFile(
        id=row.id,
        sha256=row.sha256,
        name=row.name,
        size=row.size,
        received_at=row.received_at,
        acting_login=row.acting_login,
        blocking=row.blocking,
        findings=tuple(Finding(**f) for f in row.findings),
        source=row.source,
    )


def _envoi_values(e: Envoi) -> dict[str, Any]:
    d = e.declaration
    return {
        "id": e.id,
        "file_id": e.file_id,
        "seq": e.seq,
        "sha256": e.sha256,
        "declared_siret": d.declared_siret,
        "month": d.month,
        "nature": d.nature,
        "type": d.type,
        "fraction": d.fraction,
        "is_test": d.is_test,
        "employees": [[p.nir, p.matricule, p.name] for p in d.employees],
        "state": e.state.value,
        "acting_login": e.acting_login,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
        "identity_id": e.identity_id,
        "role": e.role,
        "pair_id": e.pair_id,
        "forced": e.forced,
        "idflux": e.idflux,
        "attempts": e.attempts,
        "sending_at": e.sending_at,
        "deposited_at": e.deposited_at,
        "next_poll_at": e.next_poll_at,
        "polls": e.polls,
        "error_code": e.error_code,
        "error_message": e.error_message,
        "version": e.version,
    }


def _envoi(row: Row[Any]) -> Envoi:
    return Envoi(
        id=row.id,
        file_id=row.file_id,
        seq=row.seq,
        sha256=row.sha256,
        declaration=Declaration(
            row.declared_siret,
            row.month,
            row.nature,
            row.type,
            row.fraction,
            row.is_test,
            tuple(Employee(*p) for p in row.employees),
        ),
        state=EnvoiState(row.state),
        acting_login=row.acting_login,
        created_at=row.created_at,
        updated_at=row.updated_at,
        identity_id=row.identity_id,
        role=row.role,
        pair_id=row.pair_id,
        forced=row.forced,
        idflux=row.idflux,
        attempts=row.attempts,
        sending_at=row.sending_at,
        deposited_at=row.deposited_at,
        next_poll_at=row.next_poll_at,
        polls=row.polls,
        error_code=row.error_code,
        error_message=row.error_message,
        version=row.version,
    )


def _return_values(r: StoredReturn) -> dict[str, Any]:
    return {
        "idflux": r.idflux,
        "nature": r.nature,
        "ops": r.ops,
        "return_id": r.return_id,
        "status": r.status,
        "published_at": r.published_at,
        "url": r.url,
        "identity_id": r.identity_id,
        "envoi_id": r.envoi_id,
        "content": r.content,
        "kind": r.kind,
        "ok": r.ok,
        "anomalies": r.anomalies,
        "blocking": r.blocking,
        "fetched_at": r.fetched_at,
    }


def _return(row: Row[Any]) -> StoredReturn:
    values = dict(row._mapping)
    if values["content"] is not None:
        values["content"] = bytes(values["content"])
    return StoredReturn(**values)


def _rate_values(r: PasRate) -> dict[str, Any]:
    return {
        "employer_siret": r.employer_siret,
        "month": r.month,
        "nir": r.nir,
        "crm_identifier": r.crm_identifier,
        "idflux": r.idflux,
        "published_at": r.published_at,
        "valid_until": r.valid_until,
        "rate": r.rate,
        "matricule": r.matricule,
        "name": r.name,
        "previous_rate": r.previous_rate,
        "previous_known": r.previous_known,
    }


def _rate_rows(
    idflux: str, crm_identifier: str, rates: Sequence[PasRate]
) -> tuple[str, list[dict[str, Any]]]:
    crm_key = f"{idflux}/{crm_identifier}"
    return crm_key, [{"crm_key": crm_key, **_rate_values(r)} for r in rates]


def _replace_rates(conn: Connection, crm_key: str, rows: list[dict[str, Any]]) -> None:
    conn.execute(_DELETE_RATES, {"k_crm": crm_key})
    if rows:
        conn.execute(_ADD_RATES, rows)


def pas_rate_from_row(row: Row[Any]) -> PasRate:
    """A row of ``pas_rates`` as a :class:`PasRate` (rates to the cent, as published)."""

    def dec(value: Any) -> Decimal | None:
        return None if value is None else Decimal(value).quantize(Decimal("0.01"))

    return PasRate(
        employer_siret=row.employer_siret,
        month=row.month,
        nir=row.nir,
        crm_identifier=row.crm_identifier,
        idflux=row.idflux,
        published_at=row.published_at,
        valid_until=row.valid_until,
        rate=dec(row.rate),
        matricule=row.matricule,
        name=row.name,
        previous_rate=dec(row.previous_rate),
        previous_known=row.previous_known,
    )
