"""A norme version compiled for checking: one precompiled matcher per rubrique and model.

Each rubrique gets a single bytes regular expression that checks, in one C call, the length,
the CT pattern or enumeration and the allowed characters; only a value that fails it goes
through :func:`diagnose`, which says in French which rule it breaks. Values are matched as
ISO-8859-1 bytes (one byte per character), which is what the platform receives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from dsnlink.norme.tables import available_versions, load_table

#: Characters allowed in any value: ISO-8859-1 without the control characters (CT §3.5).
ALLOWED = rb"\x20-\x7e\xa0-\xff"
_LETTER = rb"A-Za-z\xc0-\xd6\xd8-\xf6\xf8-\xff"
#: Identities (CT §3.6 and §4.4.8): letters, with blank, hyphen and apostrophe used singly
#: between letters ("--" allowed in names), a leading apostrophe accepted.
IDENTITY = rb"'?[" + _LETTER + rb"]+(?:(?:[ '\-]|--)[" + _LETTER + rb"]+)*"
NEVER = re.compile(rb"(?!)")
FORBIDDEN_USAGES = frozenset({"I", "N"})
VERSION_RUBRIQUE = "S10.G00.00.006"
_ENVELOPE_ORDER = {"S10.G00.01": 1, "S10.G00.02": 2}


@dataclass(frozen=True, slots=True)
class RubriqueSpec:
    rid: str
    block: str
    num: int
    label: str
    type: str
    min: int
    max: int
    enum: frozenset[str]
    pattern: re.Pattern[bytes] | None
    charset: str | None
    usage: str  # O, C, F, I, N for the model ("F" when the CT says nothing)
    matcher: re.Pattern[bytes]


@dataclass(frozen=True, slots=True)
class BlockSpec:
    block: str
    parent: str | None
    order: int
    min: int
    max: int | None
    mandatory_children: tuple[tuple[str, int], ...]
    #: bit mask of the mandatory rubriques of the block (bit = rubrique number)
    mandatory_mask: int


@dataclass(frozen=True)
class Model:
    """One norme version for one declaration nature."""

    version: str
    nature: str
    rubriques: dict[str, RubriqueSpec]
    blocks: dict[str, BlockSpec]
    block_labels: dict[str, str]


def whole_value_pattern(pattern: str) -> str:
    """The CT pattern without the anchors some of its patterns carry, e.g. ``(^0\\.5|…)$``.

    A pattern describes the whole value and is always matched as such, from the value's first
    byte, which is not the line's: kept, a ``^`` would never match there and every value of the
    rubrique would be refused. Only anchors at the very start (possibly inside the opening
    groups) and at the very end are removed; the CT has no other.
    """
    head = len(pattern) - len(pattern.lstrip("("))
    if pattern[head : head + 1] == "^":
        pattern = pattern[:head] + pattern[head + 1 :]
    tail = len(pattern) - len(pattern.rstrip(")"))
    end = len(pattern) - tail
    if end > 0 and pattern[end - 1] == "$" and pattern[end - 2 : end - 1] != "\\":
        pattern = pattern[: end - 1] + pattern[end:]
    return pattern


def _matcher(r: dict[str, Any], usage: str) -> re.Pattern[bytes]:
    if usage in FORBIDDEN_USAGES:
        return NEVER
    lo, hi = r["min"], r["max"]
    length = rb"(?=.{%d,%d}\Z)" % (lo, hi)
    body: bytes
    if r["enum"]:
        body = b"(?:" + b"|".join(re.escape(v.encode("latin-1")) for v in r["enum"]) + b")"
    elif r["pattern"]:
        body = length + b"(?:" + r["pattern"].encode("latin-1") + b")"
    elif r["charset"] == "identity":
        body = length + IDENTITY
    elif r["type"] == "N":
        body = length + rb"-?[0-9]+(?:\.[0-9]+)?"
    elif r["type"] == "D":
        body = rb"[0-9]{8}"
    else:
        body = rb"(?! )[" + ALLOWED + rb"]{%d,%d}(?<! )" % (lo, hi)
    return re.compile(body, re.DOTALL)


@cache
def get_model(version: str, nature: str) -> Model:
    table = load_table(version)
    models = table["models"]
    model_nature = nature if nature in models else "01"
    rubriques: dict[str, RubriqueSpec] = {}
    masks: dict[str, int] = {}
    for rid, r in table["rubriques"].items():
        if rid == VERSION_RUBRIQUE:
            # the envoi says which norme it follows before its tables are known: any shipped
            # version passes here, an unknown one is reported once by the validator
            r = {**r, "enum": available_versions()}
        usage_map = r["usage"] or {}
        usage = usage_map.get(model_nature, "F")
        if r["pattern"]:
            r = {**r, "pattern": whole_value_pattern(r["pattern"])}
        pattern = re.compile(r["pattern"].encode("latin-1"), re.DOTALL) if r["pattern"] else None
        num = int(rid[-3:])
        rubriques[rid] = RubriqueSpec(
            rid=rid,
            block=r["block"],
            num=num,
            label=r["label"],
            type=r["type"],
            min=r["min"],
            max=r["max"],
            enum=frozenset(r["enum"]),
            pattern=pattern,
            charset=r["charset"],
            usage=usage,
            matcher=_matcher(r, usage),
        )
        if usage == "O":
            masks[r["block"]] = masks.get(r["block"], 0) | (1 << num)
    envelope = {
        bid: {**info, "order": _ENVELOPE_ORDER.get(bid, 0)}
        for bid, info in table["envelope"].items()
    }
    tree: dict[str, dict[str, Any]] = {**envelope, **models[model_nature]["blocks"]}
    tree.setdefault("S20.G00.05", {"parent": None, "order": 0, "min": 1, "max": 1})
    children: dict[str, list[tuple[str, int]]] = {}
    for block, info in tree.items():
        if info["parent"] and info["min"]:
            children.setdefault(info["parent"], []).append((block, info["min"]))
    blocks = {
        block: BlockSpec(
            block=block,
            parent=info["parent"],
            order=info.get("order", 0),
            min=info["min"],
            max=info["max"],
            mandatory_children=tuple(children.get(block, ())),
            mandatory_mask=masks.get(block, 0),
        )
        for block, info in tree.items()
    }
    labels = {bid: b["label"] for bid, b in table["blocks"].items()}
    return Model(version, nature, rubriques, blocks, labels)


def diagnose(spec: RubriqueSpec, value: str) -> tuple[str, str]:
    """Why ``value`` fails ``spec.matcher``: a finding code and a French message."""
    name = f"« {spec.label} » ({spec.rid})"
    if spec.usage in FORBIDDEN_USAGES:
        return (
            "rubrique.forbidden",
            f"La rubrique {name} n'est pas admise dans ce type de déclaration.",
        )
    if not value:
        return "value.empty", f"La rubrique {name} est vide ; une rubrique absente doit être omise."
    if value[0] == " " or value[-1] == " ":
        return "value.blank_edge", f"La valeur de {name} commence ou finit par un espace."
    bad = [c for c in value if not ("\x20" <= c <= "\x7e" or "\xa0" <= c <= "\xff")]
    if bad:
        shown = ", ".join(sorted({f"U+{ord(c):04X}" for c in bad}))
        return (
            "value.characters",
            f"La valeur de {name} contient des caractères interdits ({shown}).",
        )
    if spec.enum:
        allowed = ", ".join(sorted(spec.enum)[:12])
        return "value.enum", f"La valeur de {name} n'est pas dans la liste admise ({allowed}…)."
    if not spec.min <= len(value) <= spec.max:
        return (
            "value.length",
            f"La valeur de {name} fait {len(value)} caractères ; "
            f"attendu de {spec.min} à {spec.max}.",
        )
    if spec.charset == "identity":
        return (
            "value.identity",
            f"La valeur de {name} ne respecte pas les règles des identités : lettres, et espace, "
            "tiret ou apostrophe isolés entre deux lettres.",
        )
    if spec.type == "D" and spec.pattern is None:
        return "value.date", f"La valeur de {name} n'est pas une date JJMMAAAA."
    return "value.pattern", f"La valeur de {name} n'a pas le format attendu par la norme."
