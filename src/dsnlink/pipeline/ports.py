"""What the pipeline needs from the world, as small Protocols.

The pipeline's steps only talk to these; in-memory fakes live in :mod:`dsnlink.pipeline.memory`,
the real implementations in :mod:`dsnlink.pipeline.sql` (ledger) and
:mod:`dsnlink.pipeline.adapters` (portal, checker, returns parser, identities).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from dsnlink.pipeline.model import (
    Alert,
    CheckResult,
    Employee,
    EmployerPolicy,
    Envoi,
    Event,
    PasRate,
    ReceivedFile,
    StoredReturn,
)
from dsnlink.pipeline.states import EnvoiState

# --- clock ----------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...


# --- identities and employers ---------------------------------------------------------------


@dataclass(frozen=True)
class IdentityRef:
    """A Net-entreprises identity as the pipeline sees it (never its password)."""

    id: str
    siret: str
    owner_login: str
    owner_email: str | None
    # False once a credential failure marked it failing; True again only when a person edits
    # the identity, which is what releases its held envois.
    usable: bool
    #: The dsnlink user on whose behalf it is used (rights are checked for them).
    acting_login: str = ""


@dataclass(frozen=True)
class EmployerRef:
    siret: str
    name: str
    due_day: int | None = None


class Identities(Protocol):
    def choose(self, declared_siret: str, acting_login: str) -> IdentityRef:
        """The identity to deposit for ``declared_siret`` as ``acting_login``.

        Raises ``PermissionDenied`` (no declarations right, not linked) or ``NotFound``.
        """
        ...

    def get(self, identity_id: str, acting_login: str) -> IdentityRef: ...

    def mark_failing(self, identity: IdentityRef, code: str) -> bool:
        """Record a credential failure (state wrong credentials, expired, locked...).

        True if the identity was usable until now (the caller then alerts its owner)."""
        ...

    def mark_ok(self, identity: IdentityRef) -> None:
        """The portal accepted the credentials (last successful login)."""
        ...

    def employers(self) -> Sequence[EmployerRef]: ...


# --- the portal -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DepositOutcome:
    accepted: bool  # AEE (True) or ARE (False)
    idflux: str | None
    received_at: datetime | None = None
    anomalies: tuple[str, ...] = ()
    document: bytes | None = None


@dataclass(frozen=True)
class ListedDeposit:
    idflux: str
    at: datetime | None
    status: str


@dataclass(frozen=True)
class ListedReturn:
    idflux: str
    nature: str
    ops: str
    return_id: str
    status: str
    url: str
    published_at: datetime | None


class Portal(Protocol):
    """The API-DSN, one identity at a time. Authentication and tokens are the adapter's job.

    Every method may raise a ``PortalError``; ``CredentialError`` means the credentials were
    refused (never retried), ``DepositFateUnknown`` means the POST may have arrived.
    """

    def deposit(self, identity: IdentityRef, data: bytes) -> DepositOutcome: ...

    def list_deposits(
        self, identity: IdentityRef, since: datetime, until: datetime
    ) -> list[ListedDeposit]:
        """Deposits made between ``since`` and ``until`` (both on the pipeline's clock)."""
        ...

    def list_flow_returns(self, identity: IdentityRef, idflux: str) -> list[ListedReturn]: ...

    def list_returns_window(
        self, identity: IdentityRef, start: datetime, end: datetime
    ) -> list[ListedReturn]: ...

    def download(self, identity: IdentityRef, listed: ListedReturn) -> bytes: ...


# --- file checks and return parsing ---------------------------------------------------------


class Checker(Protocol):
    def check(self, data: bytes) -> CheckResult: ...

    def split(self, data: bytes) -> list[bytes]:
        """One-declaration envois, in file order (a single-declaration file gives itself)."""
        ...

    def as_test(self, data: bytes) -> bytes:
        """The same envoi marked as a test (``S10.G00.00.005`` = 01)."""
        ...


@dataclass(frozen=True)
class ParsedRate:
    nir: str
    matricule: str | None
    rate: Decimal | None


@dataclass(frozen=True)
class ParsedReturn:
    kind: str  # AEE, ARE, CCO, BAN, CRM94, other
    ok: bool
    anomalies: int = 0
    blocking: int = 0
    crm_identifier: str | None = None
    rates: tuple[ParsedRate, ...] = ()
    #: SIREN + NIC of the declaration the return is about, when it says (CCO/BAN, CRM).
    declared_siret: str | None = None


class ReturnParser(Protocol):
    def parse(self, data: bytes) -> ParsedReturn: ...


# --- alerts ---------------------------------------------------------------------------------


class AlertSink(Protocol):
    def send(self, alert: Alert) -> None: ...


# --- the ledger -----------------------------------------------------------------------------


class Ledger(Protocol):
    """Persistent record of files, envois, events, returns, rates. Each method is one
    transaction."""

    def reading(self) -> AbstractContextManager[None]:
        """The reads of the block (the ledger's, and the accounts' when they share its
        database) in one read transaction of this thread. For runs of reads only."""
        ...

    def add_file(self, file: ReceivedFile, envois: Sequence[tuple[Envoi, bytes]]) -> None:
        """Record a file and its envois (with their bytes). ``Conflict`` if the SHA-256 is
        already recorded (a concurrent drop of the same bytes)."""
        ...

    def file_by_sha(self, sha256: str) -> ReceivedFile | None: ...

    def get_file(self, file_id: str) -> ReceivedFile: ...

    def get_envoi(self, envoi_id: str) -> Envoi: ...

    def envoi_bytes(self, envoi_id: str) -> bytes: ...

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
    ) -> list[Envoi]: ...

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
        """Move the envoi to ``to`` if the move is allowed from its current state, apply
        ``changes`` to its fields and write an event, in one transaction. Raises
        ``StateConflict`` otherwise (another worker got there first). With ``then``, the envoi
        goes on from ``to`` to ``then`` in the same transaction (two events, no commit in
        between): for steps that always follow each other."""
        ...

    def update(self, envoi_id: str, *, expect_version: int, **changes: object) -> Envoi:
        """Change fields without changing the state (poll schedule); compare-and-set."""
        ...

    def events(self, envoi_id: str) -> list[Event]: ...

    def upsert_return(
        self, ret: StoredReturn, rates: tuple[str, Sequence[PasRate]] | None = None
    ) -> bool:
        """Insert or replace the return keyed on (idflux, nature, ops); False if unchanged.
        With ``rates`` (a CRM's identifier and its rates), they replace that CRM's rates in
        the same transaction: a CRM is never kept without its rates."""
        ...

    def upsert_returns(
        self, items: Sequence[tuple[StoredReturn, tuple[str, Sequence[PasRate]] | None]]
    ) -> int:
        """:meth:`upsert_return` of each item, all in one transaction; how many changed."""
        ...

    def get_return(self, idflux: str, nature: str, ops: str) -> StoredReturn | None: ...

    def returns(
        self, *, idflux: str | None = None, envoi_id: str | None = None
    ) -> list[StoredReturn]: ...

    def save_rates(self, idflux: str, crm_identifier: str, rates: Sequence[PasRate]) -> None:
        """Replace the rates of one CRM."""
        ...

    def rates(self, *, siret: str | None = None, month: str | None = None) -> list[PasRate]: ...

    def get_cursor(self, identity_id: str) -> datetime | None: ...

    def set_cursor(self, identity_id: str, at: datetime) -> None: ...

    def claim_alert(self, key: str, at: datetime) -> bool:
        """True the first time ``key`` is claimed: an alert is sent once."""
        ...

    def policy(self, siret: str) -> EmployerPolicy: ...

    def set_policy(self, policy: EmployerPolicy) -> None: ...


__all__ = [
    "AlertSink",
    "Checker",
    "Clock",
    "DepositOutcome",
    "Employee",
    "EmployerRef",
    "Identities",
    "IdentityRef",
    "Ledger",
    "ListedDeposit",
    "ListedReturn",
    "ParsedRate",
    "ParsedReturn",
    "Portal",
    "ReturnParser",
]
