"""The ledger's records: plain frozen dataclasses, the same for every store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dsnlink.pipeline.states import EnvoiState

# --- what the checker says about a file -----------------------------------------------------


@dataclass(frozen=True)
class Employee:
    nir: str
    matricule: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Declaration:
    """What the tool needs to know about one declaration (one ``S20.G00.05`` block)."""

    declared_siret: str
    month: str  # "MM/YYYY"
    nature: str  # S20.G00.05.001, "01" monthly
    type: str  # S20.G00.05.002, "03" cancel-and-replace
    fraction: str  # S20.G00.05.003
    is_test: bool  # S10.G00.00.005 == "01"
    employees: tuple[Employee, ...] = ()

    @property
    def is_real_monthly(self) -> bool:
        return self.nature == "01" and not self.is_test

    @property
    def replaces(self) -> bool:
        """Cancel-and-replace (03, 05) or cancel (04): may follow an earlier real DSN."""
        return self.type in {"03", "04", "05"}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str  # bloquant / non-bloquant / information
    message: str
    line: int | None = None
    rubrique: str | None = None


@dataclass(frozen=True)
class CheckResult:
    findings: tuple[Finding, ...]
    declarations: tuple[Declaration, ...]

    @property
    def blocking(self) -> bool:
        return any(f.severity == "bloquant" for f in self.findings)


# --- ledger rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedFile:
    id: str
    sha256: str
    name: str
    size: int
    received_at: datetime
    acting_login: str
    blocking: bool
    findings: tuple[Finding, ...] = ()
    source: str = "cli"  # cli, watch, api, web


@dataclass(frozen=True)
class Envoi:
    id: str
    file_id: str
    seq: int
    sha256: str
    declaration: Declaration
    state: EnvoiState
    acting_login: str
    created_at: datetime
    updated_at: datetime
    identity_id: str | None = None
    role: str = "single"  # single, test (first half of a test-first pair), real
    pair_id: str | None = None  # the other half of a test-first pair
    forced: bool = False
    idflux: str | None = None
    attempts: int = 0
    sending_at: datetime | None = None
    deposited_at: datetime | None = None
    next_poll_at: datetime | None = None
    polls: int = 0
    error_code: str | None = None
    error_message: str | None = None
    version: int = 1


@dataclass(frozen=True)
class Event:
    envoi_id: str
    at: datetime
    from_state: EnvoiState | None
    to_state: EnvoiState
    actor: str
    detail: str = ""


@dataclass(frozen=True)
class StoredReturn:
    """A return file kept locally; one row per (idflux, nature, organisme), upserted."""

    idflux: str
    nature: str
    ops: str  # organisme, "" when absent
    return_id: str
    status: str
    published_at: datetime | None
    url: str
    identity_id: str | None = None
    envoi_id: str | None = None
    content: bytes | None = None
    kind: str | None = None  # AEE, ARE, CCO, BAN, CRM94, other
    ok: bool | None = None
    anomalies: int = 0
    blocking: int = 0
    fetched_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.idflux, self.nature, self.ops)


@dataclass(frozen=True)
class PasRate:
    """One employee's PAS rate from one CRM 94."""

    employer_siret: str
    month: str  # month of the declaration it answers, "MM/YYYY"
    nir: str
    crm_identifier: str
    idflux: str
    published_at: datetime
    valid_until: date
    rate: Decimal | None  # None: no rate, the default scale applies
    matricule: str | None = None
    name: str | None = None
    previous_rate: Decimal | None = None
    previous_known: bool = False

    @property
    def changed(self) -> bool:
        return self.previous_known and self.previous_rate != self.rate


@dataclass(frozen=True)
class Alert:
    kind: str  # rejected, blocking_anomalies, credential_failure, crm_missing, deadline_near...
    subject: str
    body: str
    key: str  # deduplication key: the same alert is sent once
    recipients: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EmployerPolicy:
    siret: str
    deadline_day: int | None = None  # 5 or 15; None: the installation's default
    test_first: bool = False
