"""Receiving a DSN file: record it once, check it, split it, refuse what would be a duplicate,
and queue its envois (a test envoi first when asked).

Nothing is sent here: the sending step picks queued envois up. Everything a person could get
wrong (no right, no identity for that SIRET, a second real monthly DSN) is refused before the
file is recorded, so fixing it and dropping the same file again just works.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from dsnlink.errors import Conflict, DsnlinkError, DuplicateDeclaration
from dsnlink.pipeline.context import Pipeline
from dsnlink.pipeline.faults import kill_point
from dsnlink.pipeline.model import Declaration, Envoi, Finding, ReceivedFile
from dsnlink.pipeline.states import EnvoiState

S = EnvoiState


@dataclass(frozen=True)
class Intake:
    file: ReceivedFile
    envois: tuple[Envoi, ...]
    #: True when the same bytes had been received before: nothing new was done.
    already_received: bool = False

    @property
    def message(self) -> str:
        if self.already_received:
            at = self.file.received_at
            return f"Fichier déjà reçu le {at:%d/%m/%Y à %H:%M} : rien n'a été refait."
        if self.file.blocking:
            return "Fichier refusé : anomalies bloquantes, rien n'a été envoyé."
        return f"Fichier reçu : {len(self.envois)} envoi(s) en file d'attente."


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def receive(
    pipeline: Pipeline,
    data: bytes,
    *,
    name: str,
    acting_login: str,
    test_first: bool | None = None,
    force: bool = False,
    source: str = "cli",
) -> Intake:
    """Record ``data`` and queue its envois. Same bytes again: a no-op that says so."""
    ledger, now = pipeline.ledger, pipeline.clock.now()
    sha = sha256_of(data)
    known = ledger.file_by_sha(sha)
    if known is not None:
        return Intake(known, tuple(ledger.envois(file_id=known.id)), already_received=True)

    try:
        result = pipeline.checker.check(data)
    except DsnlinkError as exc:  # unreadable: recorded as refused, so it is never retried
        finding = Finding(exc.code, "bloquant", exc.message)
        return _record_refused(pipeline, sha, name, len(data), acting_login, (finding,), source)
    if result.blocking or not result.declarations:
        return _record_refused(
            pipeline, sha, name, len(data), acting_login, result.findings, source
        )

    parts = pipeline.checker.split(data) if len(result.declarations) > 1 else [data]
    file = ReceivedFile(
        id=uuid.uuid4().hex,
        sha256=sha,
        name=name,
        size=len(data),
        received_at=now,
        acting_login=acting_login,
        blocking=False,
        findings=result.findings,
        source=source,
    )
    rows: list[tuple[Envoi, bytes]] = []
    # The credential choice, the duplicate check and the policy: reads only, one transaction.
    with ledger.reading():
        for seq, (declaration, part) in enumerate(zip(result.declarations, parts, strict=True)):
            identity = pipeline.identities.choose(declaration.declared_siret, acting_login)
            if not force:
                _refuse_duplicate(pipeline, declaration, [e for e, _ in rows])
            base = Envoi(
                id=uuid.uuid4().hex,
                file_id=file.id,
                seq=seq * 2,
                sha256=sha256_of(part),
                declaration=declaration,
                state=S.QUEUED,
                acting_login=acting_login,
                created_at=now,
                updated_at=now,
                next_poll_at=now,
                identity_id=identity.id,
                forced=force,
            )
            wants_test = (
                test_first
                if test_first is not None
                else pipeline.ledger.policy(declaration.declared_siret).test_first
            )
            if wants_test and not declaration.is_test:
                test = replace(
                    base,
                    id=uuid.uuid4().hex,
                    seq=seq * 2 + 1,
                    role="test",
                    declaration=replace(declaration, is_test=True),
                    pair_id=base.id,
                )
                test_bytes = pipeline.checker.as_test(part)
                rows.append((replace(test, sha256=sha256_of(test_bytes)), test_bytes))
                # The real half waits, checked, for its test's certificate.
                base = replace(
                    base, role="real", pair_id=test.id, state=S.CHECKED, next_poll_at=None
                )
            rows.append((base, part))

    try:
        ledger.add_file(file, rows)
    except Conflict:  # the same bytes dropped twice at the same moment: the other one won
        known = ledger.file_by_sha(sha)
        if known is None:
            raise
        return Intake(known, tuple(ledger.envois(file_id=known.id)), already_received=True)
    kill_point(pipeline.config.kill_points, "after_intake")
    return Intake(file, tuple(e for e, _ in rows))


def advance_received(pipeline: Pipeline, envoi_id: str) -> Envoi:
    """received → checked → queued (the real half of a test-first pair waits in checked).

    Intake records envois directly in their checked or queued state; this brings back any
    envoi recorded as merely received (by another writer of the ledger). Idempotent.
    """
    ledger, now = pipeline.ledger, pipeline.clock.now()
    envoi = ledger.get_envoi(envoi_id)
    if envoi.state is S.RECEIVED:
        envoi = ledger.transition(
            envoi.id, S.CHECKED, at=now, actor=envoi.acting_login, detail="contrôles passés"
        )
    if envoi.state is S.CHECKED and envoi.role != "real":
        envoi = ledger.transition(
            envoi.id, S.QUEUED, at=now, actor=envoi.acting_login, next_poll_at=now
        )
    return envoi


def _refuse_duplicate(
    pipeline: Pipeline, declaration: Declaration, pending: Sequence[Envoi]
) -> None:
    """Only one normal real monthly DSN per (declared SIRET, month, nature, fraction)."""
    if not declaration.is_real_monthly or declaration.replaces:
        return
    earlier = [
        e
        for e in [
            *pipeline.ledger.envois(siret=declaration.declared_siret, month=declaration.month),
            *pending,
        ]
        if e.state is not S.REJECTED
        and e.role != "test"
        and e.declaration.declared_siret == declaration.declared_siret
        and e.declaration.month == declaration.month
        and e.declaration.is_real_monthly
        and e.declaration.nature == declaration.nature
        and e.declaration.fraction == declaration.fraction
    ]
    if earlier:
        raise DuplicateDeclaration(
            siret=declaration.declared_siret,
            month=declaration.month,
            fraction=declaration.fraction,
            envoi_id=earlier[0].id,
        )


def _record_refused(
    pipeline: Pipeline,
    sha: str,
    name: str,
    size: int,
    acting_login: str,
    findings: Sequence[Finding],
    source: str,
) -> Intake:
    file = ReceivedFile(
        id=uuid.uuid4().hex,
        sha256=sha,
        name=name,
        size=size,
        received_at=pipeline.clock.now(),
        acting_login=acting_login,
        blocking=True,
        findings=tuple(findings),
        source=source,
    )
    try:
        pipeline.ledger.add_file(file, [])
    except Conflict:
        known = pipeline.ledger.file_by_sha(sha)
        if known is None:
            raise
        return Intake(known, (), already_received=True)
    return Intake(file, ())
