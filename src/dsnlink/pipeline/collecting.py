"""Collecting returns: by flow on a schedule after each deposit, and by declarant window with a
cursor per identity (returns of deposits made elsewhere are collected too).

Every return is downloaded once per version (the platform may overwrite a return: same flow,
nature and organisme, new id and url), kept in the ledger (the platform purges after about
three months), parsed, linked to its envoi; the CRM 94 becomes PAS rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime, timedelta

from dsnlink.errors import (
    CredentialError,
    NotFound,
    PortalError,
    ReturnParseError,
    StateConflict,
)
from dsnlink.logs import get_logger
from dsnlink.pipeline.alerts import raise_alert
from dsnlink.pipeline.context import Pipeline
from dsnlink.pipeline.faults import kill_point
from dsnlink.pipeline.model import Alert, Envoi, PasRate, StoredReturn
from dsnlink.pipeline.ports import IdentityRef, ListedReturn
from dsnlink.pipeline.rates import rates_from_crm
from dsnlink.pipeline.sending import credential_failure, stop_real_half
from dsnlink.pipeline.states import EnvoiState

S = EnvoiState
log = get_logger("dsnlink.pipeline.collecting")
ACTOR = "pipeline"
#: Statuses of a listed return whose file is not there yet.
_NOT_READY = {"EN COURS", "EN_COURS"}


def expected_natures(pipeline: Pipeline, envoi: Envoi) -> set[str]:
    natures = set(pipeline.config.expected_natures)
    decl = envoi.declaration
    if decl.is_real_monthly and decl.type not in {"02", "04", "05"}:
        natures.add(pipeline.config.crm_nature)
    return natures


def poll_flow(pipeline: Pipeline, envoi_id: str) -> Envoi:
    """One scheduled poll of a deposited envoi's returns."""
    ledger = pipeline.ledger
    with ledger.reading():  # the envoi and its identity: one read transaction
        envoi = ledger.get_envoi(envoi_id)
        if envoi.state is not S.RETURNS_PENDING or not envoi.idflux or envoi.identity_id is None:
            return envoi
        identity = pipeline.identities.get(envoi.identity_id, envoi.acting_login)
    if not identity.usable:
        return envoi
    # The returns of the flow are downloaded and read first, then kept in one write
    # transaction: one turn on the single writer per poll, not one per return.
    fetched: list[Fetched] = []
    try:
        listed = pipeline.portal.list_flow_returns(identity, envoi.idflux)
        for item in listed:
            one = _fetch_or_skip(pipeline, identity, item, envoi)
            if one is not None:
                fetched.append(one)
    except NotFound:
        listed = []
    except CredentialError as exc:
        _keep(pipeline, fetched)
        credential_failure(pipeline, identity, exc)
        return ledger.get_envoi(envoi.id)
    except PortalError as exc:
        log.warning("poll_failed", envoi_id=envoi.id, error=exc.code)
    _keep(pipeline, fetched)
    # Storing returns never writes the envoi; if another worker moved it meanwhile, the
    # compare-and-set of _settle notices and reads it again.
    return _settle(pipeline, envoi)


def _settle(pipeline: Pipeline, envoi: Envoi, *, count_poll: bool = True) -> Envoi:
    """Decide from the returns kept so far: complete, attention needed, or poll again."""
    ledger, now = pipeline.ledger, pipeline.clock.now()
    stored = {r.nature: r for r in ledger.returns(idflux=envoi.idflux)}
    cert = stored.get("11")
    if cert is not None and cert.ok is False:
        moved = _move(
            pipeline,
            envoi,
            S.ATTENTION_NEEDED,
            "anomalies bloquantes (BAN)",
            error_code="pipeline.blocking_anomalies",
        )
        decl = envoi.declaration
        raise_alert(
            pipeline,
            Alert(
                kind="blocking_anomalies",
                subject=f"Anomalies bloquantes : SIRET {decl.declared_siret}, mois {decl.month}",
                body=f"Le bilan d'anomalies signale {cert.blocking} anomalie(s) bloquante(s).",
                key=f"blocking:{envoi.id}",
                facts={"envoi_id": envoi.id, "idflux": envoi.idflux},
            ),
        )
        if envoi.role == "test" and envoi.pair_id:
            stop_real_half(pipeline, envoi.pair_id, "le dépôt de test a des anomalies bloquantes")
        return moved
    if cert is not None and envoi.role == "test" and envoi.pair_id:
        release_real_half(pipeline, envoi.pair_id)
    if expected_natures(pipeline, envoi) <= set(stored):
        return _move(pipeline, envoi, S.COMPLETE, "tous les retours attendus sont arrivés")
    if not count_poll:
        return envoi
    if envoi.polls + 1 >= pipeline.config.max_polls:
        moved = _move(
            pipeline,
            envoi,
            S.ATTENTION_NEEDED,
            "retours attendus non arrivés",
            error_code="pipeline.returns_missing",
        )
        missing = sorted(expected_natures(pipeline, envoi) - set(stored))
        decl = envoi.declaration
        raise_alert(
            pipeline,
            Alert(
                kind="crm_missing",
                subject=f"Retours manquants ({', '.join(missing)}) : SIRET {decl.declared_siret}",
                body=f"Les retours de nature {', '.join(missing)} ne sont pas arrivés.",
                key=f"missing:{envoi.id}",
                facts={"envoi_id": envoi.id, "missing": missing},
            ),
        )
        return moved
    schedule = pipeline.config.poll_schedule
    delay = schedule[min(envoi.polls, len(schedule) - 1)]
    try:
        return ledger.update(
            envoi.id,
            expect_version=envoi.version,
            polls=envoi.polls + 1,
            next_poll_at=now + delay,
        )
    except StateConflict:
        return ledger.get_envoi(envoi.id)


def release_real_half(pipeline: Pipeline, real_id: str) -> None:
    """The test's certificate is clean: the real file may go."""
    with suppress(StateConflict):  # already released, or stopped
        pipeline.ledger.transition(
            real_id,
            S.QUEUED,
            at=pipeline.clock.now(),
            actor=ACTOR,
            detail="dépôt de test conforme",
            next_poll_at=pipeline.clock.now(),
        )


#: a return downloaded and read, with its CRM's identifier and PAS rates when it is a CRM 94
Fetched = tuple[StoredReturn, tuple[str, Sequence[PasRate]] | None]


def store_return(
    pipeline: Pipeline, identity: IdentityRef, listed: ListedReturn, envoi: Envoi | None
) -> StoredReturn | None:
    """Download, parse and keep one listed return, unless this version is already kept."""
    if listed.status.upper() in _NOT_READY:
        return None
    current = _kept(pipeline, listed)
    if current is not None:
        return current
    fetched = _download(pipeline, identity, listed, envoi)
    _keep(pipeline, [fetched])
    return fetched[0]


def fetch_return(
    pipeline: Pipeline, identity: IdentityRef, listed: ListedReturn, envoi: Envoi | None
) -> Fetched | None:
    """Download and parse one listed return, to keep with :func:`_keep`; None when it is not
    ready or this version is already kept."""
    if listed.status.upper() in _NOT_READY or _kept(pipeline, listed) is not None:
        return None
    return _download(pipeline, identity, listed, envoi)


def _kept(pipeline: Pipeline, listed: ListedReturn) -> StoredReturn | None:
    current = pipeline.ledger.get_return(listed.idflux, listed.nature, listed.ops)
    if current is not None and current.return_id == listed.return_id and current.content:
        return current
    return None


def _download(
    pipeline: Pipeline, identity: IdentityRef, listed: ListedReturn, envoi: Envoi | None
) -> Fetched:
    content = pipeline.portal.download(identity, listed)
    kill_point(pipeline.config.kill_points, "after_download")
    parsed = pipeline.parser.parse(content)
    ret = StoredReturn(
        idflux=listed.idflux,
        nature=listed.nature,
        ops=listed.ops,
        return_id=listed.return_id,
        status=listed.status,
        published_at=listed.published_at,
        url=listed.url,
        identity_id=identity.id,
        envoi_id=envoi.id if envoi else None,
        content=content,
        kind=parsed.kind,
        ok=parsed.ok,
        anomalies=parsed.anomalies,
        blocking=parsed.blocking,
        fetched_at=pipeline.clock.now(),
    )
    crm = None
    if parsed.kind == "CRM94" and envoi is not None:
        crm = (parsed.crm_identifier or ret.return_id, rates_from_crm(pipeline, envoi, ret, parsed))
    return (ret, crm)


def _keep(pipeline: Pipeline, fetched: Sequence[Fetched]) -> None:
    """Each return with its CRM's rates, all in one transaction: a crash cannot leave a kept
    CRM (which is not downloaded again) without its rates."""
    if fetched:
        pipeline.ledger.upsert_returns(fetched)
        kill_point(pipeline.config.kill_points, "after_return_stored")


def _fetch_or_skip(
    pipeline: Pipeline, identity: IdentityRef, listed: ListedReturn, envoi: Envoi | None
) -> Fetched | None:
    """:func:`fetch_return`; one that cannot be fetched or read now is left for the next
    poll, without stopping the others (a truncated download, a 5xx)."""
    try:
        return fetch_return(pipeline, identity, listed, envoi)
    except CredentialError:
        raise
    except (PortalError, ReturnParseError) as exc:
        log.warning("return_not_kept", idflux=listed.idflux, nature=listed.nature, error=exc.code)
        return None


def _store_or_skip(
    pipeline: Pipeline, identity: IdentityRef, listed: ListedReturn, envoi: Envoi | None
) -> bool:
    """One return that cannot be fetched or read now is left for the next poll, without
    stopping the others (a truncated download, a 5xx). False when it was not kept."""
    try:
        store_return(pipeline, identity, listed, envoi)
    except CredentialError:
        raise
    except (PortalError, ReturnParseError) as exc:
        log.warning("return_not_kept", idflux=listed.idflux, nature=listed.nature, error=exc.code)
        return False
    return True


def sync_identity(
    pipeline: Pipeline, identity_id: str, acting_login: str, *, until: datetime | None = None
) -> int:
    """Walk the declarant's returns listing from the identity's cursor to now, on behalf of
    ``acting_login``. Returns the number of returns listed. The cursor only moves forward after
    everything was kept."""
    ledger = pipeline.ledger
    identity = pipeline.identities.get(identity_id, acting_login)
    if not identity.usable:
        return 0
    end = until or pipeline.clock.now()
    start = ledger.get_cursor(identity_id) or end - pipeline.config.first_sync_lookback
    if start >= end:
        return 0
    try:
        listed = pipeline.portal.list_returns_window(identity, start, end)
    except CredentialError as exc:
        credential_failure(pipeline, identity, exc)
        return 0
    touched: dict[str, Envoi] = {}
    kept = True
    for item in listed:
        owners = ledger.envois(idflux=item.idflux)
        envoi = owners[0] if owners else None
        kept = _store_or_skip(pipeline, identity, item, envoi) and kept
        if envoi is not None:
            touched[envoi.id] = envoi
    if kept:  # else the same window is walked again next time
        ledger.set_cursor(identity_id, end)
    for envoi in touched.values():
        envoi = ledger.get_envoi(envoi.id)
        if envoi.state is S.RETURNS_PENDING:
            _settle(pipeline, envoi, count_poll=False)
    return len(listed)


def _move(
    pipeline: Pipeline, envoi: Envoi, to: EnvoiState, detail: str, **changes: object
) -> Envoi:
    try:
        return pipeline.ledger.transition(
            envoi.id,
            to,
            at=pipeline.clock.now(),
            actor=ACTOR,
            detail=detail,
            then=None,
            next_poll_at=None,
            **changes,
        )
    except StateConflict:
        return pipeline.ledger.get_envoi(envoi.id)


def poll_delay(pipeline: Pipeline, polls: int) -> timedelta:
    schedule = pipeline.config.poll_schedule
    return schedule[min(polls, len(schedule) - 1)]
