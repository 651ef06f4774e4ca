"""Build the compact norme tables (``P25V01.json``, ``P26V01.json``) from the reference files.

Run from the repository root::

    python -m dsnlink.norme.tables.build --reference ../shared/reference/neodes

Two sources are merged, each for what it does well:

* the machine-readable YAML description of a norme (open-neodes): the list of blocks and
  rubriques of that version, their names, types, maximum lengths, enumerations and the parent
  of each block per declaration nature. Its cardinalities and sibling order are simplified
  (every block ``minOccurs: 1``, children in numeric order), so they are not used;
* the text of the Cahier technique (CT2025.1.3): minimum and maximum lengths, the ``CSL 00``
  regular expression of each rubrique, the usage table (``O``bligatoire, ``C``onditionnel,
  ``F``acultatif, ``I``nterdit, ``N``on utilisé) per declaration model, the character tables
  that apply (identities, addresses), and the trees of section 8 with their cardinalities and
  the message order of blocks.

A rubrique or block of a later norme that the CT does not describe keeps what the YAML says,
with a minimum length of 1; its position among siblings follows the YAML sibling before it.
The output is deterministic (sorted keys) so that a rebuild shows a clean diff.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CT_NAME = "dsn-cahier-technique-2025.1.txt"
VERSIONS = ("P25V01", "P26V01")
#: Declaration models of the CT usage table, in its column order.
USAGE_MODELS = ("01", "04", "05", "07", "08", "09")
#: Section 8 tree titles → nature code.
TREE_TITLES = {
    "DSN Mensuelle": "01",
    "DSN SIGNAL ARRET TRAVAIL": "04",
    "DSN SIGNAL REPRISE TRAVAIL": "05",
    "DSN SIGNAL FIN CONTRAT UNIQUE": "07",
    "DSN SIGNAL AMORCAGE": "08",
    "DSN SUBSTITUTION": "09",
}
ENVELOPE = {
    "S10.G00.00": (None, 1, 1),
    "S10.G00.01": ("S10.G00.00", 1, 1),
    "S10.G00.02": ("S10.G00.00", 1, 1),
    "S90.G00.90": (None, 1, 1),
}

_RUBRIQUE_HEAD = re.compile(r"(S\d\d\.G\d\d\.\d\d)\. (\d{3})\s*$")
_TYPE_LINE = re.compile(r"^\s*([XND])\s*$")
_LENGTH_LINE = re.compile(r"^\s*[a-z]?\s*\[(\d+),(\d+)\]")  # dates print "D a t e  [8,8]"
# a usage row; the extraction sometimes glues a block title before it or after its six letters
_USAGE_LINE = re.compile(
    r"(S\d\d\.G\d\d\.\d\d\.\d{3}) [^\n]*? ([OCNIF]) ([OCNIF]) ([OCNIF])"
    r" ([OCNIF]) ([OCNIF]) ([OCNIF])(?=S\d\d\.G\d\d|\s*$)"
)
_TREE_LINE = re.compile(r"^\s*(S\d\d\.G\d\d\.\d\d) -.*\((\d),(\d|\*)\)\s*$")
_PAGE_NOISE = re.compile(r"^(=+|PAGE \d+|\s*S\d\d\.G\d\d\.\d\d\s+\d{4} -\d\d-\d\d\s*)$")


@dataclass
class CtRubrique:
    type: str | None = None
    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    charset: str | None = None


@dataclass
class CtFacts:
    rubriques: dict[str, CtRubrique] = field(default_factory=dict)
    usage: dict[str, dict[str, str]] = field(default_factory=dict)
    #: nature → ordered list of (block, min, max or None)
    trees: dict[str, list[tuple[str, int, int | None]]] = field(default_factory=dict)


def xsd_to_python(pattern: str) -> str:
    """Translate an XML-Schema regular expression (as printed in the CT) to Python syntax."""
    text = re.sub(r"\s+", "", pattern)  # the text extraction scatters blanks; none are meant
    text = text.replace("&#x27;", "'")
    text = text.replace(r"\p{IsBasicLatin}", r"\x00-\x7f").replace(
        r"\p{IsLatin-1Supplement}", r"\x80-\xff"
    )
    text = text.replace(r"\d", "[0-9]")
    # XSD anchors nothing implicitly; a few CT patterns spell ^...$ which fullmatch accepts.
    return text


def parse_ct(path: Path) -> CtFacts:
    facts = CtFacts()
    lines = [
        ln for ln in path.read_text(encoding="utf-8").splitlines() if not _PAGE_NOISE.match(ln)
    ]
    current: CtRubrique | None = None
    collecting: list[str] | None = None
    for line in lines:
        head = _RUBRIQUE_HEAD.search(line)
        if head and "  " in line[: head.start()] + "  ":
            rid = f"{head.group(1)}.{head.group(2)}"
            current = facts.rubriques.setdefault(rid, CtRubrique())
            collecting = None
            continue
        if current is None:
            continue
        if collecting is not None:
            # the extraction wraps long expressions after "-", "|" or "("; any other line
            # (a blank, the name of a reference table...) ends the expression
            if line.strip() and collecting[-1].rstrip()[-1:] in ("-", "|", "("):
                collecting.append(line)
                continue
            current.pattern = "".join(collecting)
            collecting = None
        if "traitant des identités" in line:
            current.charset = "identity"
        elif "traitant des adresses" in line and current.charset is None:
            current.charset = "address"
        match = _TYPE_LINE.match(line)
        if match and current.type is None:
            current.type = match.group(1)
            continue
        match = _LENGTH_LINE.match(line)
        if match and current.min is None:
            current.min, current.max = int(match.group(1)), int(match.group(2))
            continue
        if "CSL 00 :" in line and current.pattern is None:
            collecting = [line.split("CSL 00 :", 1)[1]]
    if collecting is not None and current is not None:
        current.pattern = "".join(collecting)
    for line in lines:
        match = _USAGE_LINE.search(line)
        if match and match.group(1) not in facts.usage:
            facts.usage[match.group(1)] = dict(zip(USAGE_MODELS, match.groups()[1:], strict=True))
    facts.trees = _parse_trees(lines)
    return facts


def _parse_trees(lines: list[str]) -> dict[str, list[tuple[str, int, int | None]]]:
    trees: dict[str, list[tuple[str, int, int | None]]] = {}
    current: list[tuple[str, int, int | None]] | None = None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("S20.G00.05 -"):
            title = stripped.split("-", 1)[1].strip()
            nature = TREE_TITLES.get(title)
            current = trees.setdefault(nature, []) if nature else None
            continue
        if stripped.startswith("Rubriques"):
            current = None
        if current is None:
            continue
        match = _TREE_LINE.match(line)
        if match:
            high = None if match.group(3) == "*" else int(match.group(3))
            current.append((match.group(1), int(match.group(2)), high))
    return trees


def _yaml_parents(tree: dict[str, Any], parent: str, out: list[tuple[str, str]]) -> None:
    for block, spec in tree.items():
        out.append((block, parent))
        _yaml_parents(spec.get("children") or {}, block, out)


def build_table(version: str, norm: dict[str, Any], ct: CtFacts) -> dict[str, Any]:
    segments: dict[str, Any] = norm["segments"]
    rubriques: dict[str, Any] = {}
    for block_id, block in segments.items():
        for rid, spec in block["fields"].items():
            facts = ct.rubriques.get(rid, CtRubrique())
            pattern = None
            if facts.pattern and not facts.pattern.strip().startswith("[("):
                pattern = xsd_to_python(facts.pattern)
                try:
                    re.compile(pattern.encode("latin-1"))
                except (re.error, UnicodeEncodeError):
                    pattern = None
            maximum = int(spec["length"])
            minimum = facts.min if facts.min is not None else 1
            if facts.max is not None and facts.max != maximum:
                maximum = max(maximum, facts.max)  # later normes may widen a rubrique
            rubriques[rid] = {
                "block": block_id,
                "name": spec["name"],
                "label": spec["label"],
                "type": spec["type"],
                "min": min(minimum, maximum),
                "max": maximum,
                "pattern": pattern,
                "enum": sorted(str(k) for k in (spec.get("options") or {})),
                "usage": ct.usage.get(rid),
                "charset": facts.charset,
            }
    models: dict[str, Any] = {}
    for nature, model in norm["natures"].items():
        pairs: list[tuple[str, str]] = []
        _yaml_parents(model["map"], "S20.G00.05", pairs)
        models[nature] = _model(nature, pairs, ct)
    return {
        "version": version,
        "blocks": {
            bid: {"name": seg["name"], "label": seg["label"]} for bid, seg in segments.items()
        },
        "envelope": {
            bid: {"parent": p, "min": lo, "max": hi} for bid, (p, lo, hi) in ENVELOPE.items()
        },
        "rubriques": rubriques,
        "models": models,
    }


def _model(nature: str, pairs: list[tuple[str, str]], ct: CtFacts) -> dict[str, Any]:
    """Blocks of one declaration model: parent (YAML), order and cardinality (CT tree)."""
    tree = ct.trees.get(nature, [])  # a nature the CT does not draw: YAML order, (0,*)
    card = {block: (lo, hi) for block, lo, hi in tree}
    order = [block for block, _, _ in tree]
    for index, (block, _parent) in enumerate(pairs):
        if block not in order:
            before = pairs[index - 1][0] if index else None
            order.insert(order.index(before) + 1 if before in order else len(order), block)
    blocks: dict[str, Any] = {}
    for block, parent in pairs:
        lo, hi = card.get(block, (0, None))
        blocks[block] = {"parent": parent, "order": order.index(block), "min": lo, "max": hi}
    return {"blocks": blocks, "from_ct": nature in ct.trees}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="folder of the neodes files")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    ct = parse_ct(args.reference / CT_NAME)
    for version in VERSIONS:
        norm = yaml.safe_load((args.reference / f"norm-{version}.yaml").read_text(encoding="utf-8"))
        table = build_table(version, norm, ct)
        target = args.out / f"{version}.json"
        target.write_text(
            json.dumps(table, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n",
            encoding="utf-8",
        )
        print(f"{target}: {len(table['rubriques'])} rubriques, {len(table['blocks'])} blocs")


if __name__ == "__main__":
    main()
