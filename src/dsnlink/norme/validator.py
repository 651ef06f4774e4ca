"""The streaming validator: one pass over the lines, constant memory, findings and summary.

The hot loop (:meth:`Validator.feed`) does, per line: one dict lookup on the first 16 bytes
(identifier and ``,'``), a block-change test, one bit-or for the mandatory rubriques, one
precompiled regex ``fullmatch`` on the value in place (no slicing), and a hook call for the few
rubriques that need more (keys, dates, summary). Everything else (block changes, odd lines,
failed values) leaves the loop for a slower method. See ``docs/norme.md`` for the checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from dsnlink.norme.checks import Hooks, is_calendar_date
from dsnlink.norme.findings import Report, make_finding
from dsnlink.norme.norm import NEVER, BlockSpec, Model, RubriqueSpec, diagnose, get_model
from dsnlink.norme.source import Source, SourceInfo, iter_batches, open_source
from dsnlink.norme.structure import Structure
from dsnlink.norme.summary import Summary
from dsnlink.norme.tables import available_versions

DEFAULT_VERSION = "P25V01"
#: bound of each rubrique's cache of known-valid lines (memory stays flat on huge files)
KNOWN_LINES_MAX = 4096
MAX_LINE = 256
LOT_STRUCTURES = frozenset({"S05", "S06", "S95", "S96"})
PLATFORM_RUBRIQUES = frozenset({"S20.G00.96.902", "S21.G00.06.903", "S21.G00.11.904"})

#: (block id, rubrique number, value matcher, mandatory bit, hook, spec)
Entry = tuple[
    bytes,
    int,
    set[bytes] | None,
    Callable[..., Any],
    int,
    Callable[[int, bytes], bool] | None,
    RubriqueSpec,
]


class Validator:
    """Feed it batches of lines (see :mod:`dsnlink.norme.source`); read ``report`` at the end."""

    def __init__(self, *, employees: bool = True, max_findings: int = 5000) -> None:
        self.report = Report(summary=Summary())
        self.summary: Summary = self.report.summary
        self.max_findings = max_findings
        self._once: set[str] = set()
        self._tables: dict[tuple[str, str], dict[bytes, Entry]] = {}
        self._block_names: dict[bytes, bytes] = {}
        self._block_info: dict[bytes, tuple[str, BlockSpec | None, int]] = {}
        self.hooks = Hooks(self, employees=employees)
        self.structure = Structure(self)
        self.version = DEFAULT_VERSION
        self.model: Model = get_model(DEFAULT_VERSION, "01")
        self.table: dict[bytes, Entry] = self._table_for(self.model)
        # state of the current block instance, mirrored from the hot loop at block changes
        self.blk: bytes | None = None
        self.last = 0
        self.mask = 0
        self.start = 0
        self.lineno = 0

    # --- findings ---------------------------------------------------------------------------

    def add(
        self,
        code: str,
        message: str,
        *,
        line: int | None,
        rubrique: str | None = None,
        value: str | None = None,
        once: str | None = None,
    ) -> None:
        if once is not None:
            if once in self._once:
                return
            self._once.add(once)
        if len(self.report.findings) < self.max_findings:
            self.report.findings.append(
                make_finding(code, message, line=line, rubrique=rubrique, value=value)
            )
        else:
            self.report.dropped[code] = self.report.dropped.get(code, 0) + 1

    # --- models -----------------------------------------------------------------------------

    def _table_for(self, model: Model) -> dict[bytes, Entry]:
        key = (model.version, model.nature)
        table = self._tables.get(key)
        if table is None:
            table = {}
            for rid, spec in model.rubriques.items():
                block = self._block_names.setdefault(spec.block.encode(), spec.block.encode())
                bit = (1 << spec.num) if spec.usage == "O" else 0
                hook = self.hooks.for_rubrique(spec)
                known = _known_lines(spec)
                table[rid.encode() + b",'"] = (
                    block,
                    spec.num,
                    known,
                    spec.matcher.fullmatch,
                    bit,
                    hook,
                    spec,
                )
            self._tables[key] = table
        return table

    def use_model(self, version: str | None = None, nature: str | None = None) -> bool:
        """Switch tables (norme version read in S10, nature read in S20). True if changed."""
        version = version or self.version
        nature = nature or self.model.nature
        if version not in available_versions():
            return False
        if version == self.model.version and nature == self.model.nature:
            return False
        self.version = version
        self.model = get_model(version, nature)
        self.table = self._table_for(self.model)
        self._block_info = {}
        return True

    # --- the hot loop -----------------------------------------------------------------------

    def feed(self, lines: list[bytes]) -> None:
        lineno = self.lineno
        if max(map(len, lines), default=0) > MAX_LINE:
            self._long_lines(lineno, lines)
        get = self.table.get
        blk, last, mask, start = self.blk, self.last, self.mask, self.start
        on_block, learn = self.on_block, self.learn
        for line in lines:
            lineno += 1
            entry = get(line[:16])
            if entry is None or line[-1] != 39:  # 39 is "'"
                self.lineno = lineno
                self.odd_line(lineno, line)
                continue
            b, num, known, match, bit, hook, spec = entry
            if b is not blk or num <= last:
                self.blk, self.mask, self.start, self.lineno = blk, mask, start, lineno
                if on_block(lineno, b, num, spec):
                    blk, mask, start = b, 0, lineno
            last = num
            mask |= bit
            # ``known`` holds whole lines already found valid for rubriques whose values repeat
            # (enumerations, dates, short codes): one set lookup instead of a regex call.
            if known is None or line not in known:
                if match(line, 16, len(line) - 1) is None:
                    self.bad_value(lineno, line, spec)
                elif known is not None:
                    learn(lineno, line, known, spec)
            if hook is not None and hook(lineno, line):
                get = self.table.get  # the norme version or the nature changed the tables
        self.blk, self.last, self.mask, self.start, self.lineno = blk, last, mask, start, lineno

    # --- slow paths -------------------------------------------------------------------------

    def on_block(self, lineno: int, block: bytes, num: int, spec: RubriqueSpec) -> bool:
        """A rubrique of another block, or a number not above the previous one."""
        blk = self.blk
        name, bspec, first = self.block_info(block)
        if block is blk and num > first:
            self.add(
                "rubrique.order",
                f"La rubrique {spec.rid} n'est pas à sa place : les rubriques d'un bloc se "
                "suivent par numéro croissant.",
                line=lineno,
                rubrique=spec.rid,
            )
            return False
        if blk is not None:
            prev_name, prev_spec, _ = self.block_info(blk)
            if prev_spec is not None and prev_spec.mandatory_mask & ~self.mask:
                self.structure.missing_rubriques(
                    prev_name, prev_spec.mandatory_mask & ~self.mask, self.start
                )
        self.structure.open_instance(name, bspec, lineno)
        return True

    def block_info(self, block: bytes) -> tuple[str, BlockSpec | None, int]:
        """(name, spec in the current model, highest number a new instance may start at)."""
        info = self._block_info.get(block)
        if info is None:
            name = block.decode("latin-1")
            bspec = self.model.blocks.get(name)
            info = (name, bspec, _first_number(bspec) if bspec is not None else 999)
            self._block_info[block] = info
        return info

    def learn(self, lineno: int, line: bytes, known: set[bytes], spec: RubriqueSpec) -> None:
        """A value passed its pattern: check what regexes cannot (dates), then remember it."""
        if spec.type == "D" and not is_calendar_date(line[16:-1].decode("latin-1")):
            self.add(
                "value.date",
                f"La date de la rubrique {spec.rid} n'existe pas dans le calendrier.",
                line=lineno,
                rubrique=spec.rid,
                value=line[16:-1].decode("latin-1"),
            )
            return
        if len(known) < KNOWN_LINES_MAX:
            known.add(line)

    def bad_value(self, lineno: int, line: bytes, spec: RubriqueSpec) -> None:
        value = line[16:-1].decode("latin-1")
        code, message = diagnose(spec, value)
        self.add(code, message, line=lineno, rubrique=spec.rid, value=value)

    def odd_line(self, lineno: int, line: bytes) -> None:
        text = line.decode("latin-1")
        if not text.strip():
            self.add(
                "line.blank", "Ligne vide : chaque ligne doit porter une rubrique.", line=lineno
            )
            return
        rid, sep, rest = text.partition(",'")
        if not sep or not rest.endswith("'") or not _is_rid(rid):
            self.add(
                "line.malformed",
                "Ligne mal formée : attendu Sxx.Gxx.xx.xxx,'valeur' (la valeur entre apostrophes, "
                "rien après la dernière).",
                line=lineno,
                value=text[:80],
            )
            return
        value = rest[:-1]
        if rid[:3] in LOT_STRUCTURES:
            self.summary.concentrator_lot = True
            self.add(
                "lot.concentrator",
                "Le fichier est enveloppé dans un lot de concentrateur (S05/S06/S95/S96) : "
                "ces lignes sont acceptées et ignorées.",
                line=lineno,
                rubrique=rid,
                once="lot",
            )
            self.structure.count_extra()
            return
        if rid in PLATFORM_RUBRIQUES or rid.startswith("S10.G00.95."):
            if rid not in self.summary.platform_rubriques:
                self.summary.platform_rubriques.append(rid)
            self.add(
                "rubrique.platform",
                f"La rubrique {rid} est ajoutée par la plateforme de dépôt : acceptée et ignorée.",
                line=lineno,
                rubrique=rid,
                value=value,
                once=f"platform:{rid}",
            )
            self.structure.count_extra()
            return
        spec = self.model.rubriques.get(rid)
        if spec is None:
            self.add(
                "rubrique.unknown",
                f"La rubrique {rid} n'existe pas dans la norme {self.model.version}.",
                line=lineno,
                rubrique=rid,
                value=value,
            )
            return
        self.add(
            "line.malformed", "Ligne mal formée.", line=lineno, rubrique=rid
        )  # pragma: no cover

    def _long_lines(self, lineno: int, lines: list[bytes]) -> None:
        for offset, line in enumerate(lines, start=1):
            if len(line) > MAX_LINE:
                self.add(
                    "line.too_long",
                    f"La ligne fait {len(line)} caractères ; 256 au plus.",
                    line=lineno + offset,
                    rubrique=_rid_of(line),
                )

    # --- end --------------------------------------------------------------------------------

    def finish(self, info: SourceInfo) -> Report:
        if self.blk is not None:
            name, bspec, _ = self.block_info(self.blk)
            if bspec is not None and bspec.mandatory_mask & ~self.mask:
                self.structure.missing_rubriques(
                    name, bspec.mandatory_mask & ~self.mask, self.start
                )
        self.structure.finish()
        self._file_findings(info)
        summary = self.summary
        summary.name, summary.encoding, summary.bom = info.name, info.encoding, info.bom
        summary.newline, summary.lines, summary.bytes = info.newline, info.lines, info.bytes
        self.report.lines, self.report.bytes = info.lines, info.bytes
        self.report.findings.sort(key=lambda f: f.line or 0)
        if self.report.dropped:
            total = sum(self.report.dropped.values())
            self.report.findings.append(
                make_finding(
                    "findings.truncated",
                    f"{total} constats supplémentaires ne sont pas détaillés.",
                    line=None,
                )
            )
        return self.report

    def _file_findings(self, info: SourceInfo) -> None:
        if info.lines == 0:
            self.add("file.empty", "Le fichier est vide.", line=None)
        if info.utf16:
            self.add(
                "file.not_latin1",
                "Le fichier est en UTF-16 : la DSN doit être en ISO-8859-1 (Latin-1).",
                line=None,
            )
        if info.encoding == "utf-8":
            self.add(
                "file.utf8",
                "Le fichier est en UTF-8 ("
                + ("avec" if info.bom else "sans")
                + " BOM) : la plateforme attend de l'ISO-8859-1 ; dsnlink le convertira au dépôt.",
                line=None,
            )
        for line in info.not_latin1:
            self.add(
                "file.not_latin1",
                "La ligne contient un caractère qui n'existe pas en ISO-8859-1 (Latin-1).",
                line=line,
            )
        if info.crlf and info.crlf != info.lf:
            self.add(
                "file.mixed_newlines",
                "Les fins de ligne mélangent CR-LF et LF (accepté).",
                line=None,
            )


def _first_number(bspec: BlockSpec) -> int:
    """A new instance may start at any number up to the block's first mandatory rubrique."""
    mask = bspec.mandatory_mask
    if not mask:
        return 999
    return (mask & -mask).bit_length() - 1


def _known_lines(spec: RubriqueSpec) -> set[bytes] | None:
    """The cache of valid lines of a rubrique whose values repeat, seeded with its enumeration."""
    if spec.matcher is NEVER:
        return set()
    if spec.enum:
        prefix = spec.rid.encode() + b",'"
        return {prefix + v.encode("latin-1") + b"'" for v in spec.enum}
    if spec.type == "D" or spec.max <= 10:
        return set()
    return None


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


def run(source: Source, *, employees: bool = True, max_findings: int = 5000) -> Report:
    validator = Validator(employees=employees, max_findings=max_findings)
    info = SourceInfo()
    with open_source(source) as (stream, name):
        info.name = name
        for lines in iter_batches(stream, info):
            validator.feed(lines)
    return validator.finish(info)


def validate_lines(lines: Iterable[bytes]) -> Report:
    """Validate already split Latin-1 lines (tests and tools)."""
    validator = Validator()
    info = SourceInfo()
    batch = list(lines)
    info.lines = len(batch)
    validator.feed(batch)
    return validator.finish(info)
