"""In-memory ledger, shipped next to the interface it implements.

It passes the same contract tests as the SQL ledger (``tests/unit/pipeline/test_ledger_contract``),
so the pipeline's unit tests can run on it; it is also handy for library users' own tests.
Thread-safe: one lock around every method, like one database transaction.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

from dsnlink.errors import Conflict, NotFound, StateConflict
from dsnlink.pipeline.model import (
    EmployerPolicy,
    Envoi,
    Event,
    PasRate,
    ReceivedFile,
    StoredReturn,
)
from dsnlink.pipeline.states import EnvoiState, can_move, intake_path

#: Envoi fields a transition or an update may change.
MUTABLE_FIELDS = frozenset(
    {
        "identity_id",
        "idflux",
        "attempts",
        "sending_at",
        "deposited_at",
        "next_poll_at",
        "polls",
        "error_code",
        "error_message",
        "pair_id",
    }
)


def check_changes(changes: dict[str, object]) -> None:
    unknown = set(changes) - MUTABLE_FIELDS
    if unknown:
        raise ValueError(f"not mutable envoi fields: {sorted(unknown)}")


def check_then(to: EnvoiState, then: EnvoiState | None) -> None:
    """A chained transition must itself be allowed (a programming error otherwise)."""
    if then is not None and not can_move(to, then):
        raise ValueError(f"no transition from {to.value} to {then.value}")


class MemoryLedger:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._files: dict[str, ReceivedFile] = {}
        self._envois: dict[str, Envoi] = {}
        self._bytes: dict[str, bytes] = {}
        self._events: list[Event] = []
        self._returns: dict[tuple[str, str, str], StoredReturn] = {}
        self._rates: dict[str, list[PasRate]] = {}
        self._cursors: dict[str, datetime] = {}
        self._alerts: dict[str, datetime] = {}
        self._policies: dict[str, EmployerPolicy] = {}

    # files and envois

    def reading(self) -> AbstractContextManager[None]:
        return nullcontext()

    def add_file(self, file: ReceivedFile, envois: Sequence[tuple[Envoi, bytes]]) -> None:
        with self._lock:
            if any(f.sha256 == file.sha256 for f in self._files.values()):
                raise Conflict("Ce fichier a déjà été reçu.", sha256=file.sha256)
            self._files[file.id] = file
            for envoi, data in envois:
                self._envois[envoi.id] = envoi
                self._bytes[envoi.id] = data
                self._events.extend(
                    Event(envoi.id, envoi.created_at, before, after, envoi.acting_login)
                    for before, after in intake_path(envoi.state)
                )

    def file_by_sha(self, sha256: str) -> ReceivedFile | None:
        with self._lock:
            return next((f for f in self._files.values() if f.sha256 == sha256), None)

    def get_file(self, file_id: str) -> ReceivedFile:
        with self._lock:
            try:
                return self._files[file_id]
            except KeyError:
                raise NotFound("Fichier inconnu.", file_id=file_id) from None

    def get_envoi(self, envoi_id: str) -> Envoi:
        with self._lock:
            try:
                return self._envois[envoi_id]
            except KeyError:
                raise NotFound("Dépôt inconnu.", envoi_id=envoi_id) from None

    def envoi_bytes(self, envoi_id: str) -> bytes:
        with self._lock:
            self.get_envoi(envoi_id)
            return self._bytes[envoi_id]

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
        with self._lock:
            found = [
                e
                for e in self._envois.values()
                if (states is None or e.state in states)
                and (file_id is None or e.file_id == file_id)
                and (identity_id is None or e.identity_id == identity_id)
                and (siret is None or e.declaration.declared_siret == siret)
                and (month is None or e.declaration.month == month)
                and (idflux is None or e.idflux == idflux)
                and (
                    due_before is None
                    or (e.next_poll_at is not None and e.next_poll_at <= due_before)
                )
                and (not unscheduled or e.next_poll_at is None)
            ]
        found.sort(key=lambda e: (e.created_at, e.file_id, e.seq))
        return found[:limit] if limit is not None else found

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
        with self._lock:
            current = self.get_envoi(envoi_id)
            if not can_move(current.state, to):
                raise StateConflict(envoi_id=envoi_id, state=current.state.value, wanted=to.value)
            moved = dataclasses.replace(
                current,
                state=then or to,
                updated_at=at,
                version=current.version + 1,
                **changes,  # type: ignore[arg-type]
            )
            self._envois[envoi_id] = moved
            self._events.append(Event(envoi_id, at, current.state, to, actor, detail))
            if then is not None:
                self._events.append(Event(envoi_id, at, to, then, actor, ""))
            return moved

    def update(self, envoi_id: str, *, expect_version: int, **changes: object) -> Envoi:
        check_changes(changes)
        with self._lock:
            current = self.get_envoi(envoi_id)
            if current.version != expect_version:
                raise StateConflict(envoi_id=envoi_id, state=current.state.value)
            moved = dataclasses.replace(
                current,
                version=current.version + 1,
                **changes,  # type: ignore[arg-type]
            )
            self._envois[envoi_id] = moved
            return moved

    def events(self, envoi_id: str) -> list[Event]:
        with self._lock:
            return [e for e in self._events if e.envoi_id == envoi_id]

    # returns and rates

    def upsert_return(
        self, ret: StoredReturn, rates: tuple[str, Sequence[PasRate]] | None = None
    ) -> bool:
        with self._lock:
            if rates is not None:
                self._rates[f"{ret.idflux}/{rates[0]}"] = list(rates[1])
            old = self._returns.get(ret.key)
            if old == ret:
                return False
            self._returns[ret.key] = ret
            return True

    def upsert_returns(
        self, items: Sequence[tuple[StoredReturn, tuple[str, Sequence[PasRate]] | None]]
    ) -> int:
        with self._lock:
            return sum(self.upsert_return(ret, rates) for ret, rates in items)

    def get_return(self, idflux: str, nature: str, ops: str) -> StoredReturn | None:
        with self._lock:
            return self._returns.get((idflux, nature, ops))

    def returns(
        self, *, idflux: str | None = None, envoi_id: str | None = None
    ) -> list[StoredReturn]:
        with self._lock:
            found = [
                r
                for r in self._returns.values()
                if (idflux is None or r.idflux == idflux)
                and (envoi_id is None or r.envoi_id == envoi_id)
            ]
        return sorted(found, key=lambda r: (r.idflux, r.nature, r.ops))

    def save_rates(self, idflux: str, crm_identifier: str, rates: Sequence[PasRate]) -> None:
        with self._lock:
            self._rates[f"{idflux}/{crm_identifier}"] = list(rates)

    def rates(self, *, siret: str | None = None, month: str | None = None) -> list[PasRate]:
        with self._lock:
            found = [
                r
                for rows in self._rates.values()
                for r in rows
                if (siret is None or r.employer_siret == siret)
                and (month is None or r.month == month)
            ]
        return sorted(found, key=lambda r: (r.employer_siret, r.published_at, r.nir))

    # cursors, alerts, policies

    def get_cursor(self, identity_id: str) -> datetime | None:
        with self._lock:
            return self._cursors.get(identity_id)

    def set_cursor(self, identity_id: str, at: datetime) -> None:
        with self._lock:
            self._cursors[identity_id] = at

    def claim_alert(self, key: str, at: datetime) -> bool:
        with self._lock:
            if key in self._alerts:
                return False
            self._alerts[key] = at
            return True

    def policy(self, siret: str) -> EmployerPolicy:
        with self._lock:
            return self._policies.get(siret, EmployerPolicy(siret))

    def set_policy(self, policy: EmployerPolicy) -> None:
        with self._lock:
            self._policies[policy.siret] = policy
