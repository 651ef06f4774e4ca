"""The credential linter: what will be sent to Net-entreprises, made visible.

The portal compares SIRET, nom, prénom and password with what the person typed on
net-entreprises.fr, character for character, and answers a bare 401 that never says which field
is wrong. Most failures come from values copied from a PDF, an e-mail or a spreadsheet: a
trailing newline, a non-breaking space, a zero-width space, a typographic apostrophe, accents
decomposed by a Mac. This module finds them, shows them, and *offers* a cleaned value. It never
changes a value by itself: the caller shows the offer and the person accepts it or not.

Pure: no I/O, no project imports beyond the error tree's vocabulary. The password is examined
like the other fields but never shown: its visible form is masked, with only the suspicious
characters drawn.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from stdnum.fr import siret as stdnum_siret

from dsnlink.connectivity.characters import (
    LINE_BREAKS,
    ODD_SPACES,
    TYPOGRAPHIC,
    ZERO_WIDTH,
    fold_accents,
    is_control,
    visible,
)

FieldName = Literal["siret", "nom", "prenom", "motdepasse"]

#: Field limits of the authentication call (API-DSN), in characters.
LIMITS: dict[str, int] = {"siret": 14, "nom": 64, "prenom": 39, "motdepasse": 30}

FIELD_LABELS: dict[str, str] = {
    "siret": "SIRET",
    "nom": "nom",
    "prenom": "prénom",
    "motdepasse": "mot de passe",
}


class Severity(StrEnum):
    ERROR = "error"  # the portal will refuse it, or almost certainly
    WARNING = "warning"  # often a mistake, sometimes legitimate: the person decides


@dataclass(frozen=True)
class Finding:
    field: str
    rule: str
    severity: Severity
    message: str
    #: Indexes (0-based) of the characters concerned in the original value, when it applies.
    positions: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "field": self.field,
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "positions": list(self.positions),
        }


@dataclass(frozen=True)
class FieldReport:
    field: str
    #: What will be sent, with invisible characters drawn (password: masked).
    visible: str
    #: The value the linter offers instead, drawn the same way; None when nothing to offer.
    cleaned_visible: str | None
    findings: tuple[Finding, ...]
    secret: bool = False
    # The cleaned value itself; kept out of repr (it may be the password).
    cleaned: str | None = dataclasses.field(default=None, repr=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "field": self.field,
            "visible": self.visible,
            "cleaned_visible": self.cleaned_visible,
            "cleaned_offered": self.cleaned is not None,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class LintReport:
    fields: tuple[FieldReport, ...]

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for report in self.fields for f in report.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors

    def field(self, name: str) -> FieldReport:
        for report in self.fields:
            if report.field == name:
                return report
        raise KeyError(name)

    def cleaned_values(self) -> dict[str, str]:
        """The offered values, for the fields that have one (to show, then to accept)."""
        return {r.field: r.cleaned for r in self.fields if r.cleaned is not None}

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "fields": [r.to_dict() for r in self.fields],
        }


def _positions(value: str, chars: set[str] | dict[str, str]) -> tuple[int, ...]:
    return tuple(i for i, ch in enumerate(value) if ch in chars)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("s" if n > 1 else "")


# --- rules ----------------------------------------------------------------------------------


def _clean(value: str, field_name: str) -> str:
    """The value the portal most probably has: what :func:`lint_identity` offers."""
    text = unicodedata.normalize("NFC", value)
    text = "".join(TYPOGRAPHIC.get(ch, ch) for ch in text) if field_name != "motdepasse" else text
    text = "".join(ch for ch in text if ch not in ZERO_WIDTH)
    text = "".join(" " if ch in ODD_SPACES or ch == "\t" else ch for ch in text)
    text = "".join(" " if ch in LINE_BREAKS else ch for ch in text)
    text = "".join(ch for ch in text if not is_control(ch))
    text = text.strip(" ")
    if field_name == "siret":
        return "".join(ch for ch in text if not ch.isspace() and ch not in ".-")
    if field_name != "motdepasse":
        while "  " in text:
            text = text.replace("  ", " ")
    return text


def _character_findings(value: str, name: str) -> list[Finding]:
    label = FIELD_LABELS[name]
    found: list[Finding] = []

    def add(rule: str, severity: Severity, message: str, pos: tuple[int, ...] = ()) -> None:
        found.append(Finding(name, rule, severity, message, pos))

    stripped = value.strip()
    lead = len(value) - len(value.lstrip())
    trail = len(value) - len(value.rstrip())
    if value and not stripped:
        add("blank", Severity.ERROR, f"Le {label} ne contient que des espaces.")
    # A password may legitimately start or end with a space; a name or a SIRET may not.
    edge = Severity.WARNING if name == "motdepasse" else Severity.ERROR
    if lead and stripped:
        add(
            "leading_space",
            edge,
            f"Le {label} commence par {_plural(lead, 'caractère')} d'espacement.",
            tuple(range(lead)),
        )
    if trail and stripped:
        end = len(value)
        add(
            "trailing_space",
            edge,
            f"Le {label} se termine par {_plural(trail, 'caractère')} d'espacement"
            + (
                " (un saut de ligne copié avec la valeur)."
                if any(ch in LINE_BREAKS for ch in value[end - trail :])
                else "."
            ),
            tuple(range(end - trail, end)),
        )
    if name != "motdepasse" and "  " in stripped:
        pos = tuple(i for i in range(len(value) - 1) if value[i : i + 2] == "  ")
        add("double_space", Severity.WARNING, f"Le {label} contient deux espaces de suite.", pos)
    if pos := _positions(value, ODD_SPACES):
        kinds = sorted({ODD_SPACES[value[i]] for i in pos})
        add(
            "non_breaking_space",
            Severity.ERROR,
            f"Le {label} contient un caractère qui ressemble à une espace mais n'en est pas une "
            f"({', '.join(kinds)}).",
            pos,
        )
    if pos := _positions(value, ZERO_WIDTH):
        kinds = sorted({ZERO_WIDTH[value[i]] for i in pos})
        add(
            "zero_width",
            Severity.ERROR,
            f"Le {label} contient un caractère invisible ({', '.join(kinds)}).",
            pos,
        )
    if pos := _positions(value, {"\t"}):
        add("tab", Severity.ERROR, f"Le {label} contient une tabulation.", pos)
    if pos := _positions(value, LINE_BREAKS):
        add("line_break", Severity.ERROR, f"Le {label} contient un saut de ligne.", pos)
    controls = tuple(
        i
        for i, ch in enumerate(value)
        if is_control(ch) and ch not in ZERO_WIDTH and ch not in LINE_BREAKS
    )
    if controls:
        add("control", Severity.ERROR, f"Le {label} contient un caractère de contrôle.", controls)
    decomposed = tuple(i for i, ch in enumerate(value) if unicodedata.combining(ch))
    if decomposed:
        add(
            "decomposed_accent",
            Severity.ERROR,
            f"Le {label} contient un accent « décomposé » (lettre suivie d'un accent séparé, "
            "fréquent après un copier-coller depuis un Mac ou un PDF).",
            decomposed,
        )
    others = tuple(
        i
        for i, ch in enumerate(value)
        if ord(ch) > 0xFF
        and ch not in ODD_SPACES
        and ch not in ZERO_WIDTH
        and ch not in LINE_BREAKS
        and not unicodedata.combining(ch)
        and not is_control(ch)
    )
    if others:
        shown = "" if name == "motdepasse" else " : " + " ".join(sorted({value[i] for i in others}))
        typographic = name != "motdepasse" and any(value[i] in TYPOGRAPHIC for i in others)
        hint = " (apostrophe ou tiret typographique, « œ » ?)" if typographic else ""
        add(
            "outside_latin1",
            Severity.ERROR,
            f"Le {label} contient un caractère que Net-entreprises n'accepte pas "
            f"(hors Latin-1){shown}{hint}.",
            others,
        )
    return found


def _lint_siret(value: str) -> list[Finding]:
    digits = _clean(value, "siret")
    if not digits:
        return [Finding("siret", "missing", Severity.ERROR, "Le SIRET est vide.")]
    if not digits.isascii() or not digits.isdigit():
        return [
            Finding(
                "siret",
                "siret_not_digits",
                Severity.ERROR,
                "Le SIRET ne doit contenir que des chiffres.",
            )
        ]
    if len(digits) != 14:
        return [
            Finding(
                "siret",
                "siret_length",
                Severity.ERROR,
                f"Le SIRET doit compter 14 chiffres ; il en compte {len(digits)}.",
            )
        ]
    found = []
    if digits != value:
        found.append(
            Finding(
                "siret",
                "siret_separators",
                Severity.ERROR,
                "Le SIRET doit être envoyé en 14 chiffres collés, sans espace ni séparateur.",
            )
        )
    if not stdnum_siret.is_valid(digits):
        found.append(
            Finding(
                "siret",
                "siret_key",
                Severity.ERROR,
                "La clé de contrôle du SIRET est fausse : un chiffre a probablement été mal "
                "recopié.",
            )
        )
    return found


def _lint_name(value: str, name: str, previous: str | None) -> list[Finding]:
    label = FIELD_LABELS[name]
    found: list[Finding] = []
    cleaned = _clean(value, name)
    if not cleaned:
        return [Finding(name, "missing", Severity.ERROR, f"Le {label} est vide.")]
    lower = tuple(i for i, ch in enumerate(value) if ch.islower())
    if lower:
        found.append(
            Finding(
                name,
                "lowercase",
                Severity.WARNING,
                f"Le {label} contient des minuscules ; le portail l'enregistre le plus souvent en "
                "majuscules. Vérifiez sur net-entreprises.fr comment il y est écrit.",
                lower,
            )
        )
    if previous is not None:
        prev_clean = _clean(previous, name)
        if prev_clean != cleaned and fold_accents(prev_clean) == fold_accents(cleaned):
            had = any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", prev_clean))
            has = any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", cleaned))
            if had and not has:
                what = "n'a plus les accents de la valeur précédente"
            elif has and not had:
                what = "a des accents que la valeur précédente n'avait pas"
            else:
                what = "n'a pas les mêmes accents que la valeur précédente"
            found.append(
                Finding(
                    name,
                    "accents_changed",
                    Severity.WARNING,
                    f"Le {label} {what} (« {prev_clean} » → « {cleaned} ») : le portail compare "
                    "les accents exactement.",
                )
            )
    return found


def _lint_length(value: str, name: str) -> list[Finding]:
    limit = LIMITS[name]
    if name == "siret" or len(value) <= limit:
        return []
    return [
        Finding(
            name,
            "too_long",
            Severity.ERROR,
            f"Le {FIELD_LABELS[name]} dépasse la longueur acceptée par Net-entreprises "
            f"({len(value)} caractères pour {limit} au plus).",
        )
    ]


def lint_field(name: FieldName, value: str, *, previous: str | None = None) -> FieldReport:
    """Lint one field. ``previous`` is the value it replaces, to compare accents."""
    secret = name == "motdepasse"
    findings = _character_findings(value, name)
    if name == "siret":
        findings += _lint_siret(value)
    elif name in {"nom", "prenom"}:
        findings += _lint_name(value, name, previous)
    elif not value:
        findings.append(Finding(name, "missing", Severity.ERROR, "Le mot de passe est vide."))
    findings += _lint_length(value, name)
    cleaned = _clean(value, name)
    offered = cleaned if cleaned != value and cleaned else None
    return FieldReport(
        field=name,
        visible=visible(value, secret=secret),
        cleaned_visible=visible(offered, secret=secret) if offered is not None else None,
        findings=tuple(findings),
        secret=secret,
        cleaned=offered,
    )


def lint_identity(
    *,
    siret: str,
    nom: str,
    prenom: str,
    motdepasse: str | None = None,
    previous: dict[str, str] | None = None,
) -> LintReport:
    """Lint the four Net-entreprises fields (the password is optional: it may be unchanged)."""
    previous = previous or {}
    reports = [
        lint_field("siret", siret),
        lint_field("nom", nom, previous=previous.get("nom")),
        lint_field("prenom", prenom, previous=previous.get("prenom")),
    ]
    if motdepasse is not None:
        reports.append(lint_field("motdepasse", motdepasse))
    return LintReport(tuple(reports))
