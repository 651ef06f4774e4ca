"""Sending an envoi, and finding out what happened to one whose fate is unknown.

The rules that keep a deposit from ever being made twice:

- ``queued → sending`` is committed *before* the POST; only the worker whose compare-and-set
  won may send.
- A POST without an answer (timeout, reset, crash of this process) leaves the envoi in
  ``fate_unknown`` (or ``sending``, which recovery turns into ``fate_unknown``). It is only
  queued again when the deposit listing, read *after* the POST, shows no flow we cannot account
  for; when the listing shows one, it is adopted, never sent again.
- A credential failure is never retried: the identity is marked failing, the envoi and every
  other queued envoi of that identity are held, its owner is alerted.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from dsnlink.errors import (
    ConnectError,
    CredentialError,
    DnsError,
    NotFound,
    PortalError,
    ProxyError,
    RateLimited,
    ReturnParseError,
    ServiceUnavailable,
    StateConflict,
    TlsError,
)
from dsnlink.logs import get_logger
from dsnlink.pipeline.alerts import raise_alert
from dsnlink.pipeline.context import Pipeline
from dsnlink.pipeline.faults import kill_point
from dsnlink.pipeline.model import Alert, Envoi, StoredReturn
from dsnlink.pipeline.ports import IdentityRef, ListedDeposit
from dsnlink.pipeline.states import EnvoiState

S = EnvoiState
log = get_logger("dsnlink.pipeline.sending")
#: Failures that happen before any byte of the deposit could reach the platform.
_NEVER_CONNECTED = (ConnectError, DnsError, TlsError, ProxyError)
ACTOR = "pipeline"


def send(pipeline: Pipeline, envoi_id: str) -> Envoi:
    """Deposit one queued envoi. Returns it in its new state (unchanged if not queued)."""
    ledger, points = pipeline.ledger, pipeline.config.kill_points
    with ledger.reading():  # the envoi and its identity: one read transaction
        envoi = ledger.get_envoi(envoi_id)
        if envoi.state is not S.QUEUED or envoi.identity_id is None:
            return envoi
        identity = pipeline.identities.get(envoi.identity_id, envoi.acting_login)
    if not identity.usable:
        return _hold(pipeline, envoi, "identité en échec : envoi suspendu")
    now = pipeline.clock.now()
    try:
        envoi = ledger.transition(
            envoi.id,
            S.SENDING,
            at=now,
            actor=ACTOR,
            attempts=envoi.attempts + 1,
            sending_at=now,
        )
    except StateConflict:
        return ledger.get_envoi(envoi_id)  # another worker claimed it
    kill_point(points, "after_claim")
    data = ledger.envoi_bytes(envoi.id)
    kill_point(points, "before_post")
    try:
        outcome = pipeline.portal.deposit(identity, data)
    except CredentialError as exc:
        # The authentication failed, so nothing was posted: holding this envoi is safe.
        _hold(pipeline, envoi, f"identifiants refusés ({exc.code})", code=exc.code)
        credential_failure(pipeline, identity, exc)
        return ledger.get_envoi(envoi.id)
    except _NEVER_CONNECTED as exc:
        return _answered_error(pipeline, envoi, exc)
    except PortalError as exc:
        # No answer, or one that cannot be used (5xx, garbled, a timeout): the platform may
        # have registered the deposit, only the listing can tell.
        log.warning("deposit_fate_unknown", envoi_id=envoi.id, error=exc.code)
        return ledger.transition(
            envoi.id,
            S.FATE_UNKNOWN,
            at=pipeline.clock.now(),
            actor=ACTOR,
            detail=f"pas de réponse exploitable au dépôt ({exc.code}) : vérification par la "
            "liste des dépôts",
            error_code=exc.code,
            next_poll_at=pipeline.clock.now(),
        )
    kill_point(points, "after_post")
    pipeline.identities.mark_ok(identity)
    now = pipeline.clock.now()
    if not outcome.accepted:
        rejected = ledger.transition(
            envoi.id,
            S.REJECTED,
            at=now,
            actor=ACTOR,
            detail="avis de rejet (ARE)",
            idflux=outcome.idflux,
            error_code="portal.are",
            error_message="; ".join(outcome.anomalies)[:1000] or None,
        )
        if outcome.idflux and outcome.document:
            ledger.upsert_return(
                StoredReturn(
                    idflux=outcome.idflux,
                    nature="10",
                    ops="",
                    return_id="deposit",
                    status="KO",
                    published_at=outcome.received_at or now,
                    url="",
                    identity_id=identity.id,
                    envoi_id=envoi.id,
                    content=outcome.document,
                    kind="ARE",
                    ok=False,
                    anomalies=len(outcome.anomalies),
                    blocking=len(outcome.anomalies),
                    fetched_at=now,
                )
            )
        _after_rejection(pipeline, rejected, "Dépôt rejeté (ARE)", "; ".join(outcome.anomalies))
        return rejected
    return mark_deposited(pipeline, envoi, outcome.idflux or "", "accusé de réception (AEE)")


def mark_deposited(pipeline: Pipeline, envoi: Envoi, idflux: str, detail: str) -> Envoi:
    """deposited, then returns_pending, in one transaction (two events): a write less per
    deposit. ``advance_deposited`` still moves envois an older version left in deposited."""
    ledger, now = pipeline.ledger, pipeline.clock.now()
    envoi = ledger.transition(
        envoi.id,
        S.DEPOSITED,
        at=now,
        actor=ACTOR,
        detail=detail,
        then=S.RETURNS_PENDING,
        idflux=idflux,
        deposited_at=now,
        error_code=None,
        error_message=None,
        next_poll_at=now,
        polls=0,
    )
    kill_point(pipeline.config.kill_points, "after_deposited")
    return envoi


def advance_deposited(pipeline: Pipeline, envoi_id: str) -> Envoi:
    """deposited → returns_pending for envois a crash left in between."""
    envoi = pipeline.ledger.get_envoi(envoi_id)
    if envoi.state is S.DEPOSITED:
        now = pipeline.clock.now()
        envoi = pipeline.ledger.transition(
            envoi.id, S.RETURNS_PENDING, at=now, actor=ACTOR, next_poll_at=now, polls=0
        )
    return envoi


def credential_failure(pipeline: Pipeline, identity: IdentityRef, exc: CredentialError) -> None:
    """Mark the identity failing, hold all its queued envois, alert its owner. Once."""
    first = pipeline.identities.mark_failing(identity, exc.code)
    # Only queued ones: a ``sending`` envoi of another worker may be posting with a token
    # obtained before; it finds the identity failing on its next authentication anyway.
    for envoi in pipeline.ledger.envois(states=[S.QUEUED], identity_id=identity.id):
        _hold(pipeline, envoi, f"identifiants refusés ({exc.code})", code=exc.code)
    if not first:
        return  # another worker saw the same failure and alerted
    now = pipeline.clock.now()
    raise_alert(
        pipeline,
        Alert(
            kind="credential_failure",
            subject=f"Identifiants Net-entreprises refusés (SIRET {identity.siret})",
            body=(
                f"{exc.message}\n\nQue faire : {exc.remedy or ''}\n\n"
                "Les dépôts de ce déclarant sont suspendus ; ils repartiront quand "
                "l'identité aura été corrigée."
            ),
            key=f"credential_failure:{identity.id}:{now.isoformat()}",
            recipients=(identity.owner_email,) if identity.owner_email else (),
            facts={"identity_id": identity.id, "code": exc.code, "siret": identity.siret},
        ),
    )


def release_held(pipeline: Pipeline, envoi_id: str) -> Envoi:
    """held → queued once a person has fixed the identity (it is usable again)."""
    envoi = pipeline.ledger.get_envoi(envoi_id)
    if envoi.state is not S.HELD or envoi.identity_id is None:
        return envoi
    if not pipeline.identities.get(envoi.identity_id, envoi.acting_login).usable:
        return envoi
    now = pipeline.clock.now()
    return pipeline.ledger.transition(
        envoi.id, S.QUEUED, at=now, actor=ACTOR, detail="identité corrigée", next_poll_at=now
    )


def recover_sending(pipeline: Pipeline, envoi_id: str) -> Envoi:
    """A ``sending`` envoi whose worker died: its POST may have gone. Reconcile it."""
    envoi = pipeline.ledger.get_envoi(envoi_id)
    if envoi.state is not S.SENDING:
        return envoi
    now = pipeline.clock.now()
    return pipeline.ledger.transition(
        envoi.id,
        S.FATE_UNKNOWN,
        at=now,
        actor=ACTOR,
        detail="interrompu pendant l'envoi : vérification par la liste des dépôts",
        next_poll_at=now,
    )


def reconcile(pipeline: Pipeline, envoi_id: str) -> Envoi:
    """Decide, from the platform's deposit listing, whether a fate-unknown envoi arrived."""
    ledger = pipeline.ledger
    envoi = ledger.get_envoi(envoi_id)
    if envoi.state is not S.FATE_UNKNOWN or envoi.identity_id is None:
        return envoi
    identity = pipeline.identities.get(envoi.identity_id, envoi.acting_login)
    if not identity.usable:
        return envoi  # waits: listing needs an authentication the portal would refuse
    sent_at = envoi.sending_at or envoi.updated_at
    lookback = pipeline.config.reconcile_lookback
    # A deposit that arrived was stamped within moments of the POST: the listing around it is
    # enough, and stays a few windows long however late the reconciliation runs.
    until = min(pipeline.clock.now(), sent_at + lookback)
    try:
        listed = pipeline.portal.list_deposits(identity, sent_at - lookback, until)
    except CredentialError as exc:
        credential_failure(pipeline, identity, exc)
        return ledger.get_envoi(envoi.id)
    except PortalError as exc:
        log.warning("reconcile_listing_failed", envoi_id=envoi.id, error=exc.code)
        # Rate limited: not before the portal said (Retry-After), whatever the schedule.
        wait = exc.retry_after if isinstance(exc, RateLimited) else None
        return _reschedule(pipeline, envoi, at_least=timedelta(seconds=wait or 0))
    strangers = [d for d in listed if not ledger.envois(idflux=d.idflux)]
    peers = ledger.envois(states=[S.FATE_UNKNOWN, S.SENDING], identity_id=identity.id)
    now = pipeline.clock.now()
    if not strangers:
        # The listing, read after the POST, has no flow we cannot account for: it never came.
        if envoi.attempts >= pipeline.config.max_attempts:
            return _answered_error(
                pipeline, envoi, ServiceUnavailable("Dépôt impossible après plusieurs essais.")
            )
        return ledger.transition(
            envoi.id,
            S.QUEUED,
            at=now,
            actor=ACTOR,
            detail="absent de la liste des dépôts : sera envoyé à nouveau",
            next_poll_at=now,
        )
    match = _match(pipeline, identity, envoi, strangers, peers)
    if match is not None:
        if match.status.upper() == "KO":
            rejected = ledger.transition(
                envoi.id,
                S.REJECTED,
                at=now,
                actor=ACTOR,
                detail="retrouvé dans la liste des dépôts : rejeté",
                idflux=match.idflux,
            )
            _after_rejection(pipeline, rejected, "Dépôt rejeté (ARE)", "")
            return rejected
        return mark_deposited(pipeline, envoi, match.idflux, "retrouvé dans la liste des dépôts")
    rounds = envoi.polls + 1
    if rounds >= pipeline.config.max_reconcile_rounds:
        return ledger.transition(
            envoi.id,
            S.ATTENTION_NEEDED,
            at=now,
            actor=ACTOR,
            detail="impossible de savoir quel flux est le bon : jamais renvoyé automatiquement",
            error_code="pipeline.ambiguous_fate",
        )
    return _reschedule(pipeline, envoi)


def _match(
    pipeline: Pipeline,
    identity: IdentityRef,
    envoi: Envoi,
    strangers: list[ListedDeposit],
    peers: list[Envoi],
) -> ListedDeposit | None:
    if len(strangers) == 1 and len(peers) == 1:
        return strangers[0]
    # Several unknown flows or several unknown envois: tell them apart by the declared SIRET
    # that the flow's certificate (nature 11) names, once it is published.
    siret = envoi.declaration.declared_siret
    same_siret_peers = [p for p in peers if p.declaration.declared_siret == siret]
    found: list[ListedDeposit] = []
    for deposit in strangers:
        try:
            flow = pipeline.portal.list_flow_returns(identity, deposit.idflux)
            for listed in flow:
                if listed.nature != "11":
                    continue
                parsed = pipeline.parser.parse(pipeline.portal.download(identity, listed))
                if parsed.declared_siret == siret:
                    found.append(deposit)
        except (PortalError, NotFound, ReturnParseError) as exc:
            # A truncated or unreadable certificate tells nothing: this flow stays unmatched
            # for this round, the envoi is looked at again later.
            log.info("reconcile_flow_unreadable", idflux=deposit.idflux, error=type(exc).__name__)
    if len(found) == 1 and len(same_siret_peers) == 1:
        return found[0]
    return None


def _reschedule(pipeline: Pipeline, envoi: Envoi, *, at_least: timedelta = timedelta(0)) -> Envoi:
    schedule = pipeline.config.poll_schedule
    delay = max(schedule[min(envoi.polls, len(schedule) - 1)], at_least)
    try:
        return pipeline.ledger.update(
            envoi.id,
            expect_version=envoi.version,
            polls=envoi.polls + 1,
            next_poll_at=pipeline.clock.now() + delay,
        )
    except StateConflict:
        return pipeline.ledger.get_envoi(envoi.id)


def _hold(pipeline: Pipeline, envoi: Envoi, detail: str, code: str | None = None) -> Envoi:
    try:
        return pipeline.ledger.transition(
            envoi.id,
            S.HELD,
            at=pipeline.clock.now(),
            actor=ACTOR,
            detail=detail,
            error_code=code or envoi.error_code or "pipeline.identity_failing",
        )
    except StateConflict:
        return pipeline.ledger.get_envoi(envoi.id)


def _answered_error(pipeline: Pipeline, envoi: Envoi, exc: PortalError) -> Envoi:
    """The portal answered with an error: the deposit was not registered."""
    now = pipeline.clock.now()
    if exc.retryable and envoi.attempts < pipeline.config.max_attempts:
        return pipeline.ledger.transition(
            envoi.id,
            S.QUEUED,
            at=now,
            actor=ACTOR,
            detail=f"erreur du portail ({exc.code}) : nouvel essai plus tard",
            error_code=exc.code,
            next_poll_at=now + pipeline.config.retry_delay * envoi.attempts,
        )
    moved = pipeline.ledger.transition(
        envoi.id,
        S.ATTENTION_NEEDED,
        at=now,
        actor=ACTOR,
        detail=f"erreur du portail ({exc.code})",
        error_code=exc.code,
        error_message=exc.message,
    )
    _after_rejection(pipeline, moved, "Dépôt impossible", exc.message)
    return moved


def _after_rejection(pipeline: Pipeline, envoi: Envoi, subject: str, detail: str) -> None:
    """Alert, and stop the real half of a test-first pair whose test failed."""
    decl = envoi.declaration
    raise_alert(
        pipeline,
        Alert(
            kind="rejected",
            subject=f"{subject} : SIRET {decl.declared_siret}, mois {decl.month}",
            body=f"{subject}.\n{detail}".strip(),
            key=f"rejected:{envoi.id}",
            facts={"envoi_id": envoi.id, "siret": decl.declared_siret, "month": decl.month},
        ),
    )
    if envoi.role == "test" and envoi.pair_id:
        stop_real_half(pipeline, envoi.pair_id, "le dépôt de test a échoué")


def stop_real_half(pipeline: Pipeline, real_id: str, why: str) -> None:
    with contextlib.suppress(StateConflict):
        pipeline.ledger.transition(
            real_id,
            S.ATTENTION_NEEDED,
            at=pipeline.clock.now(),
            actor=ACTOR,
            detail=why,
            error_code="pipeline.test_failed",
        )


def is_due(envoi: Envoi, now: datetime) -> bool:
    return envoi.next_poll_at is None or envoi.next_poll_at <= now
