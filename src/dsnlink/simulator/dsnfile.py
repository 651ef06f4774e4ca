"""What the simulator reads in a deposited DSN: the platform's own first checks and the facts
its returns echo (émetteur, declared establishment, employees).

Deliberately shallow: the norme's rules are dsnlink's validator's job (``dsnlink.norme``), run
after these checks to decide between a CCO and a BAN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dsnlink.returns.build import FORMAT_NOT_RECOGNISED as _UNREADABLE

#: ARE code of the platform for a file it cannot read (seen in GIP-MDS's sample).
FORMAT_NOT_RECOGNISED = _UNREADABLE.code or "B1-105-15"


@dataclass(frozen=True)
class Employee:
    nir: str
    matricule: str


@dataclass
class DsnFacts:
    essai_reel: str = ""
    norme_version: str = ""
    software: str = ""
    editor: str = ""
    software_version: str = ""
    emetteur_siret: str = ""
    nature: str = ""
    type: str = ""
    fraction: str = ""
    ordre: str = ""
    month: str = ""
    siren: str = ""
    nic: str = ""
    declarations: int = 0
    employees: list[Employee] = field(default_factory=list)

    @property
    def employer_siret(self) -> str:
        return self.siren + self.nic


@dataclass(frozen=True)
class Rejection:
    """Why the platform answers an ARE instead of an AEE."""

    code: str
    message: str


_SINGLE = {
    "S10.G00.00.001": "software",
    "S10.G00.00.002": "editor",
    "S10.G00.00.003": "software_version",
    "S10.G00.00.005": "essai_reel",
    "S10.G00.00.006": "norme_version",
    "S20.G00.05.001": "nature",
    "S20.G00.05.002": "type",
    "S20.G00.05.003": "fraction",
    "S20.G00.05.004": "ordre",
    "S20.G00.05.005": "month",
    "S21.G00.06.001": "siren",
    "S21.G00.11.001": "nic",
}


def read_facts(text: str) -> DsnFacts:
    facts = DsnFacts()
    emetteur = ["", ""]
    nir: str | None = None
    for raw in text.splitlines():
        rubrique, sep, rest = raw.partition(",'")
        if not sep:
            continue
        value = rest[:-1] if rest.endswith("'") else rest
        if rubrique == "S20.G00.05.001":
            facts.declarations += 1
        if rubrique in _SINGLE and not getattr(facts, _SINGLE[rubrique]):
            setattr(facts, _SINGLE[rubrique], value)
        elif rubrique == "S10.G00.01.001":
            emetteur[0] = value
        elif rubrique == "S10.G00.01.002":
            emetteur[1] = value
        elif rubrique == "S21.G00.30.001":
            if nir is not None:
                facts.employees.append(Employee(nir, ""))
            nir = value
        elif rubrique == "S21.G00.30.019" and nir is not None:
            facts.employees.append(Employee(nir, value))
            nir = None
    if nir is not None:
        facts.employees.append(Employee(nir, ""))
    facts.emetteur_siret = emetteur[0] + emetteur[1]
    return facts


def first_checks(body: bytes) -> tuple[DsnFacts | None, Rejection | None]:
    """The platform's reception checks: S10 first, Latin-1, one declaration per deposit."""
    if not body.startswith(b"S10"):
        return None, Rejection(FORMAT_NOT_RECOGNISED, _UNREADABLE.message or "")
    if _looks_like_utf8(body):
        return None, Rejection(
            FORMAT_NOT_RECOGNISED,
            "Le fichier n'est pas encodé en ISO-8859-1 (Latin-1) : il semble encodé en UTF-8.",
        )
    facts = read_facts(body.decode("latin-1"))
    if facts.declarations != 1:
        return facts, Rejection(
            FORMAT_NOT_RECOGNISED,
            f"Un dépôt doit contenir exactement une déclaration ; ce fichier en contient "
            f"{facts.declarations}.",
        )
    return facts, None


def _looks_like_utf8(body: bytes) -> bool:
    """Non-ASCII bytes that decode as UTF-8: a UTF-8 file (Latin-1 text rarely does)."""
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
