"""What the simulator reads in a deposited DSN: the platform's reception checks, dsnlink's own
validator's findings (the BAN lists them), and the facts the returns echo (émetteur, declared
establishment, employees). The reading itself is ``dsnlink.norme``'s, in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dsnlink.errors import NormeError
from dsnlink.norme import Report, Severity, summarize, validate
from dsnlink.norme.summary import Summary
from dsnlink.returns import Anomaly
from dsnlink.returns.build import FORMAT_NOT_RECOGNISED as _UNREADABLE

#: ARE code of the platform for a file it cannot read (seen in GIP-MDS's sample).
FORMAT_NOT_RECOGNISED = _UNREADABLE.code or "B1-105-15"


@dataclass(frozen=True)
class Employee:
    nir: str | None
    ntt: str | None
    matricule: str | None

    @property
    def identifier(self) -> str:
        """NIR, or NTT without one: what the DGFiP's rate is keyed on."""
        return self.nir or self.ntt or ""


@dataclass
class DsnFacts:
    essai_reel: str = ""
    norme_version: str = ""
    software: str = ""
    emetteur_siret: str = ""
    nature: str = ""
    type: str = ""
    fraction: str = ""
    ordre: str = ""
    month: str = ""
    siren: str = ""
    nic: str = ""
    employees: list[Employee] = field(default_factory=list)

    @property
    def employer_siret(self) -> str:
        return self.siren + self.nic


@dataclass(frozen=True)
class Rejection:
    """Why the platform answers an ARE instead of an AEE."""

    code: str
    message: str


@dataclass
class Inspection:
    facts: DsnFacts | None
    rejection: Rejection | None
    #: The validator's blocking and non-blocking findings, as BAN anomalies.
    anomalies: list[Anomaly] = field(default_factory=list)


def _reject(message: str | None = None) -> Inspection:
    return Inspection(None, Rejection(FORMAT_NOT_RECOGNISED, message or _UNREADABLE.message or ""))


def inspect(body: bytes, *, check: bool) -> Inspection:
    """Reception checks (S10 first, Latin-1, one declaration), then the validator if ``check``."""
    if not body.startswith(b"S10"):
        return _reject()
    try:
        report = validate(body) if check else Report(summary=summarize(body))
    except NormeError:
        return _reject()
    summary: Summary = report.summary
    if summary.encoding != "latin-1":
        return _reject(
            "Le fichier n'est pas encodé en ISO-8859-1 (Latin-1) : il semble encodé en UTF-8."
        )
    declarations = summary.declarations
    if len(declarations) != 1:
        return _reject(
            f"Un dépôt doit contenir exactement une déclaration ; ce fichier en contient "
            f"{len(declarations)}."
        )
    envoi, declaration = summary.envois[0], declarations[0]
    facts = DsnFacts(
        essai_reel="" if envoi.test is None else "01" if envoi.test else "02",
        norme_version=envoi.norme or "",
        software=envoi.software or "",
        emetteur_siret=envoi.emitter_siret or "",
        nature=declaration.nature or "",
        type=declaration.type or "",
        fraction=declaration.fraction or "",
        ordre=declaration.sequence or "",
        month=declaration.month or "",
        siren=declaration.siren or "",
        nic=declaration.nic or "",
        employees=[Employee(e.nir, e.ntt, e.matricule) for e in declaration.employees],
    )
    anomalies = [
        Anomaly(
            code=f.code,
            category=f.severity.value,
            message=f.message,
            line=f.line,
            rubrique=f.rubrique,
            value=f.value,
        )
        for f in report.findings
        if f.severity is not Severity.INFORMATION
    ]
    return Inspection(facts, None, anomalies)
