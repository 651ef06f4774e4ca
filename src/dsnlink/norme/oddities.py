"""The validator's findings about lines and files rather than rubriques: malformed, blank or
too long lines, concentrator lots and platform rubriques, encoding and line endings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dsnlink.norme.findings import NIR_RUBRIQUES
from dsnlink.norme.source import SourceInfo

if TYPE_CHECKING:
    from dsnlink.norme.validator import Validator

MAX_LINE = 256
LOT_STRUCTURES = frozenset({"S05", "S06", "S95", "S96"})
PLATFORM_RUBRIQUES = frozenset({"S20.G00.96.902", "S21.G00.06.903", "S21.G00.11.904"})


def odd_line(v: Validator, lineno: int, line: bytes) -> None:
    """A line that is not a well-formed rubrique of the norme: say what it is."""
    text = line.decode("latin-1")
    if not text.strip():
        v.add("line.blank", "Ligne vide : chaque ligne doit porter une rubrique.", line=lineno)
        return
    rid, sep, rest = text.partition(",'")
    if not sep or not rest.endswith("'") or not _is_rid(rid):
        shown = text[:80]
        if text[:14] in NIR_RUBRIQUES:  # a broken NIR line still hides the NIR
            shown = text[:21] + "*" * max(0, len(shown) - 21)
        v.add(
            "line.malformed",
            "Ligne mal formée : attendu Sxx.Gxx.xx.xxx,'valeur' (la valeur entre apostrophes, "
            "rien après la dernière).",
            line=lineno,
            value=shown,
        )
        return
    value = rest[:-1]
    if rid[:3] in LOT_STRUCTURES:
        v.summary.concentrator_lot = True
        v.add(
            "lot.concentrator",
            "Le fichier est enveloppé dans un lot de concentrateur (S05/S06/S95/S96) : "
            "ces lignes sont acceptées et ignorées.",
            line=lineno,
            rubrique=rid,
            once="lot",
        )
        v.structure.count_extra()
        return
    if rid in PLATFORM_RUBRIQUES or rid.startswith("S10.G00.95."):
        if rid not in v.summary.platform_rubriques:
            v.summary.platform_rubriques.append(rid)
        v.add(
            "rubrique.platform",
            f"La rubrique {rid} est ajoutée par la plateforme de dépôt : acceptée et ignorée.",
            line=lineno,
            rubrique=rid,
            value=value,
            once=f"platform:{rid}",
        )
        v.structure.count_extra()
        return
    spec = v.model.rubriques.get(rid)
    if spec is None:
        v.add(
            "rubrique.unknown",
            f"La rubrique {rid} n'existe pas dans la norme {v.model.version}.",
            line=lineno,
            rubrique=rid,
            value=value,
        )
        return
    v.add("line.malformed", "Ligne mal formée.", line=lineno, rubrique=rid)  # pragma: no cover


def long_lines(v: Validator, lineno: int, lines: list[bytes]) -> None:
    for offset, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE:
            v.add(
                "line.too_long",
                f"La ligne fait {len(line)} caractères ; 256 au plus.",
                line=lineno + offset,
                rubrique=_rid_of(line),
            )


def file_findings(v: Validator, info: SourceInfo) -> None:
    """Findings about the file itself: emptiness, encoding, line endings."""
    if info.lines == 0:
        v.add("file.empty", "Le fichier est vide.", line=None)
    if info.utf16:
        v.add(
            "file.not_latin1",
            "Le fichier est en UTF-16 : la DSN doit être en ISO-8859-1 (Latin-1).",
            line=None,
        )
    if info.encoding == "utf-8":
        v.add(
            "file.utf8",
            "Le fichier est en UTF-8 ("
            + ("avec" if info.bom else "sans")
            + " BOM) : la plateforme attend de l'ISO-8859-1 ; dsnlink le convertira au dépôt.",
            line=None,
        )
    for line in info.not_latin1:
        v.add(
            "file.not_latin1",
            "La ligne contient un caractère qui n'existe pas en ISO-8859-1 (Latin-1).",
            line=line,
        )
    if info.crlf and info.crlf != info.lf:
        v.add(
            "file.mixed_newlines",
            "Les fins de ligne mélangent CR-LF et LF (accepté).",
            line=None,
        )


def _is_rid(rid: str) -> bool:
    return (
        len(rid) == 14
        and rid[0] == "S"
        and rid[3:5] == ".G"
        and rid[7] == "."
        and rid[10] == "."
        and (rid[1:3] + rid[5:7] + rid[8:10] + rid[11:14]).isdigit()
        and (rid[1:3] + rid[5:7] + rid[8:10] + rid[11:14]).isascii()
    )


def _rid_of(line: bytes) -> str | None:
    rid = line[:14].decode("latin-1")
    return rid if _is_rid(rid) else None
