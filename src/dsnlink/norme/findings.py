"""What the validator reports: findings with a code, a severity, a line and a French message."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

NIR_RUBRIQUES = frozenset({"S21.G00.30.001", "S89.G00.91.001", "S21.G00.31.008"})


class Severity(StrEnum):
    BLOQUANT = "bloquant"
    NON_BLOQUANT = "non-bloquant"
    INFORMATION = "information"


#: code → (severity, family). Families follow the CT: structure, CSL (syntax), CCH (coherence),
#: plus the file level (encoding, lines) and the API-DSN deposit rules.
CODES: dict[str, tuple[Severity, str]] = {
    "file.empty": (Severity.BLOQUANT, "structure"),
    "file.utf8": (Severity.NON_BLOQUANT, "encodage"),
    "file.not_latin1": (Severity.BLOQUANT, "encodage"),
    "file.mixed_newlines": (Severity.INFORMATION, "fichier"),
    "line.too_long": (Severity.BLOQUANT, "syntaxe"),
    "line.blank": (Severity.BLOQUANT, "syntaxe"),
    "line.malformed": (Severity.BLOQUANT, "syntaxe"),
    "rubrique.unknown": (Severity.BLOQUANT, "structure"),
    "rubrique.forbidden": (Severity.BLOQUANT, "structure"),
    "rubrique.order": (Severity.BLOQUANT, "structure"),
    "rubrique.missing": (Severity.BLOQUANT, "structure"),
    "block.unknown": (Severity.BLOQUANT, "structure"),
    "block.order": (Severity.BLOQUANT, "structure"),
    "block.parent_missing": (Severity.BLOQUANT, "structure"),
    "block.too_many": (Severity.BLOQUANT, "structure"),
    "block.missing": (Severity.BLOQUANT, "structure"),
    "value.empty": (Severity.BLOQUANT, "syntaxe"),
    "value.blank_edge": (Severity.BLOQUANT, "syntaxe"),
    "value.length": (Severity.BLOQUANT, "syntaxe"),
    "value.characters": (Severity.BLOQUANT, "syntaxe"),
    "value.enum": (Severity.BLOQUANT, "syntaxe"),
    "value.pattern": (Severity.BLOQUANT, "syntaxe"),
    "value.date": (Severity.BLOQUANT, "syntaxe"),
    "value.identity": (Severity.BLOQUANT, "syntaxe"),
    "key.siren": (Severity.BLOQUANT, "cohérence"),
    "key.siret": (Severity.BLOQUANT, "cohérence"),
    "nir.duplicate": (Severity.BLOQUANT, "cohérence"),
    "envoi.header_missing": (Severity.BLOQUANT, "structure"),
    "envoi.totals_missing": (Severity.BLOQUANT, "structure"),
    "envoi.line_count": (Severity.BLOQUANT, "structure"),
    "envoi.declaration_count": (Severity.BLOQUANT, "structure"),
    "envoi.norme_unknown": (Severity.BLOQUANT, "structure"),
    "envoi.type_mismatch": (Severity.BLOQUANT, "cohérence"),
    "envoi.several_declarations": (Severity.NON_BLOQUANT, "dépôt"),
    "declaration.nature_unknown": (Severity.BLOQUANT, "structure"),
    "lot.concentrator": (Severity.INFORMATION, "fichier"),
    "rubrique.platform": (Severity.INFORMATION, "fichier"),
    "findings.truncated": (Severity.INFORMATION, "fichier"),
}


def mask_nir(value: str) -> str:
    """Keep sex, year and month of birth; hide department, commune and order number."""
    return value[:5] + "*" * max(0, len(value) - 5)


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    line: int | None
    rubrique: str | None
    value: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data


def make_finding(
    code: str,
    message: str,
    *,
    line: int | None,
    rubrique: str | None = None,
    value: str | None = None,
) -> Finding:
    severity, _family = CODES[code]
    if value is not None and rubrique in NIR_RUBRIQUES:
        value = mask_nir(value)
    return Finding(code, severity, line, rubrique, value, message)


@dataclass
class Report:
    """Result of :func:`dsnlink.norme.validate`."""

    findings: list[Finding] = field(default_factory=list)
    summary: Any = None  # dsnlink.norme.summary.Summary (kept loose to avoid an import cycle)
    #: findings not kept in ``findings`` (beyond the cap), counted by code
    dropped: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    bytes: int = 0

    @property
    def blocking(self) -> bool:
        return any(f.severity is Severity.BLOQUANT for f in self.findings) or any(
            CODES[c][0] is Severity.BLOQUANT for c in self.dropped
        )

    @property
    def exit_code(self) -> int:
        """0 clean, 1 only non-blocking findings, 2 blocking findings (``dsnlink check``)."""
        if self.blocking:
            return 2
        if any(f.severity is Severity.NON_BLOQUANT for f in self.findings):
            return 1
        return 0

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for finding in self.findings:
            out[finding.severity.value] += 1
        for code, n in self.dropped.items():
            out[CODES[code][0].value] += n
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocking": self.blocking,
            "counts": self.counts(),
            "lines": self.lines,
            "bytes": self.bytes,
            "findings": [f.to_dict() for f in self.findings],
            "dropped": dict(self.dropped),
            "summary": self.summary.to_dict() if self.summary is not None else None,
        }
