"""What a DSN file declares, for people and for the pipeline: envois, declarations, employees."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

NATURES = {
    "01": "DSN mensuelle",
    "04": "Signalement arrêt de travail",
    "05": "Signalement reprise suite à arrêt",
    "07": "Signalement fin de contrat",
    "08": "Signalement amorçage des données variables",
    "09": "DSN de substitution",
    "10": "DPAE",
}
TYPES = {
    "01": "normale",
    "02": "normale sans individu",
    "03": "annule et remplace",
    "04": "annule",
    "05": "annule et remplace sans individu",
}


@dataclass
class EmployeeSummary:
    line: int
    nir: str | None = None
    ntt: str | None = None
    matricule: str | None = None
    last_name: str | None = None
    first_names: str | None = None
    #: S21.G00.50.006 / .007 / .008 / .009 of the employee's last "versement individu"
    pas_rate: str | None = None
    pas_rate_type: str | None = None
    crm_id: str | None = None
    pas_amount: str | None = None


@dataclass
class DeclarationSummary:
    line: int
    nature: str | None = None
    type: str | None = None
    fraction: str | None = None
    sequence: str | None = None
    month: str | None = None  # 01MMAAAA as declared
    file_date: str | None = None
    siren: str | None = None
    nic: str | None = None
    employee_count: int = 0
    employees: list[EmployeeSummary] = field(default_factory=list)

    @property
    def siret(self) -> str | None:
        return self.siren + self.nic if self.siren and self.nic else None

    @property
    def period(self) -> str | None:
        """The main month as ``AAAA-MM``."""
        m = self.month
        return f"{m[4:8]}-{m[2:4]}" if m and len(m) == 8 else None


@dataclass
class EnvoiSummary:
    line: int
    test: bool | None = None
    norme: str | None = None
    envoi_type: str | None = None
    emitter_siren: str | None = None
    emitter_nic: str | None = None
    software: str | None = None
    declarations: list[DeclarationSummary] = field(default_factory=list)

    @property
    def emitter_siret(self) -> str | None:
        if self.emitter_siren and self.emitter_nic:
            return self.emitter_siren + self.emitter_nic
        return None


@dataclass
class Summary:
    name: str = "<flux>"
    encoding: str = "latin-1"
    bom: bool = False
    newline: str = "LF"
    lines: int = 0
    bytes: int = 0
    envois: list[EnvoiSummary] = field(default_factory=list)
    concentrator_lot: bool = False
    platform_rubriques: list[str] = field(default_factory=list)

    @property
    def declarations(self) -> list[DeclarationSummary]:
        return [d for e in self.envois for d in e.declarations]

    @property
    def declared_sirets(self) -> list[str]:
        seen: dict[str, None] = {}
        for d in self.declarations:
            if d.siret:
                seen[d.siret] = None
        return list(seen)

    @property
    def employee_count(self) -> int:
        return sum(d.employee_count for d in self.declarations)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["declared_sirets"] = self.declared_sirets
        data["employee_count"] = self.employee_count
        for envoi, raw in zip(self.envois, data["envois"], strict=True):
            raw["emitter_siret"] = envoi.emitter_siret
            for decl, draw in zip(envoi.declarations, raw["declarations"], strict=True):
                draw["siret"] = decl.siret
                draw["period"] = decl.period
                draw["nature_label"] = NATURES.get(decl.nature or "")
                draw["type_label"] = TYPES.get(decl.type or "")
        return data
