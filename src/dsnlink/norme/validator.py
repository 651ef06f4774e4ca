"""The streaming validator: one pass over the lines, constant memory, findings and summary.

Each batch of lines (see :meth:`Validator.feed`) is checked in three steps:

1. values, in C as far as possible: lines already known valid are looked up all at once; the
   employees (runs of lines from one ``S21.G00.30.001`` to the next) whose shape is frequent
   are checked by one compiled expression per run (:mod:`dsnlink.norme.runs`); the other lines
   get an identifier lookup and a precompiled ``fullmatch`` each, mapped over the batch, and
   only those that fail or teach a repeated value go through Python, in line order;
2. the walk, per line: block-change test, one bit-or for the mandatory rubriques, and a hook
   for the few rubriques that need more (keys, summary, norme and nature switches);
3. except for employee runs already walked without finding from the same state: those are
   replayed (end state, open block instances, employee summary, NIR check) in a few calls.

Both give exactly the findings of the plain line-by-line checks (``replay=False``), which the
tests compare. See ``docs/norme.md`` for the checks.

When the C extension is built, ``run`` takes another path (:meth:`Validator.feed_segment`):
the compiled scanner walks the lines in place and hands back, one at a time, the lines that
need Python (findings, hooks, new block transitions), which go through ``_feed_lines``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from itertools import compress, count, repeat
from operator import call, is_, itemgetter, methodcaller, not_, or_, sub
from typing import Any, cast

from dsnlink.norme import oddities, speedups
from dsnlink.norme.checks import FIELD_HOOKS, REPLAYABLE_HOOKS, Hook, Hooks, is_calendar_date
from dsnlink.norme.findings import Report, make_finding
from dsnlink.norme.norm import NEVER, BlockSpec, Model, RubriqueSpec, diagnose, get_model
from dsnlink.norme.runs import Unsuitable, compile_run
from dsnlink.norme.source import Source, SourceInfo, iter_batches, iter_segments, open_source
from dsnlink.norme.structure import EMPLOYEE, Structure
from dsnlink.norme.summary import EmployeeSummary, Summary
from dsnlink.norme.tables import available_versions

DEFAULT_VERSION = "P25V01"
SLICE = 4096
#: bound of the cache of known-valid lines (memory stays flat on huge files)
KNOWN_LINES_MAX = 20_000
#: bound of the remembered runs of lines (one per employee shape and entering state)
SEGMENTS_MAX = 4096
#: a run's shape gets its expression once seen this many times per line it holds (compiling
#: costs about as much as checking that many runs line by line)
COMPILE_AFTER = 4
#: bound of the shapes followed (memory stays flat on files where no two employees look alike)
SHAPES_MAX = 2048
#: bound of the shapes compiled, per tables (an expression of a 65-line shape weighs ~200 kB)
COMPILED_MAX = 32
#: below this many lines, a part is walked line by line: too few employees to repay the
#: bookkeeping of runs (a 10-employee file is checked 30 % faster that way)
REPLAY_MIN_LINES = 1000
#: the first line of an employee: runs of lines are cut there, their shapes repeat
EMPLOYEE_KEY = b"S21.G00.30.001,'"

#: (block id, rubrique number, cacheable, value matcher, mandatory bit, hook, spec)
Entry = tuple[
    bytes,
    int,
    bool,
    Callable[..., Any],
    int,
    Hook | None,
    RubriqueSpec,
]
Tables = tuple[dict[bytes, Entry], dict[bytes, Entry]]

#: The tables of each (norme version, nature, employee hooks on), shared by every validator of
#: the process: building one takes milliseconds, a small file is checked in about as long. The
#: second dict holds whole lines known valid (enumerations at first, then the values found valid
#: as files are checked): a line's validity depends on the model only, so sharing it is safe.
_TABLES: dict[tuple[str, str, bool], Tables] = {}
#: the shapes of employee runs met, per tables: compiled expressions serve every validator of
#: the process (a payroll tool writes its employees alike from one month to the next)
_SHAPES: dict[tuple[str, str, bool], dict[tuple[bytes, ...], _Shape]] = {}
#: how many of them are compiled, by id of the dict of shapes
_COMPILED: dict[int, int] = {}
#: the attributes of a new EmployeeSummary, in order (the scanner makes employees from it)
_NEW_EMPLOYEE: dict[str, Any] = dict(vars(EmployeeSummary(line=0)))
#: one bytes object per block id, whatever the table: the hot loop compares blocks by identity
_BLOCK_NAMES: dict[bytes, bytes] = {}


#: a line that is not a well-formed rubrique of the norme: handled by ``odd_line`` in order
ODD_BLOCK = b"<odd>"
ODD: Entry = (ODD_BLOCK, 0, False, bool, 0, None, None)  # type: ignore[assignment]
#: stands for a line whose identifier is unknown in the batch checks: never matches
_UNKNOWN: Entry = (ODD_BLOCK, 0, True, NEVER.fullmatch, 0, None, None)  # type: ignore[assignment]
_ID = itemgetter(slice(None, 16))
_MATCHER = itemgetter(3)
_CACHEABLE = itemgetter(2)
_IS_NONE = partial(is_, None)
_IS_EMPLOYEE = methodcaller("startswith", b"S21.G00.30.001,'")
_VALUE = itemgetter(slice(16, -1))

#: what replaying a remembered run of lines does: block state at its end (block, last
#: number, mandatory mask, offset of the block instance's first line or 0 when unchanged),
#: structure state, open instances kept and offsets of those opened, and the calls in line
#: order (offset, hook; None for the start of an employee), and, when the run starts with an
#: employee, the lines copied into its summary (picked from the run) and their fields
Segment = tuple[
    bytes | None,
    int,
    int,
    int,
    int,
    int,
    tuple[int, ...],
    tuple[tuple[int, Hook | None], ...],
    Callable[[list[bytes]], Any] | None,
    tuple[str, ...],
]


class _Shape:
    """What is known of one shape of run: how often seen, its expression once compiled, its
    entries, and which of its lines must be among the lines known valid."""

    __slots__ = ("entries", "known", "known_entries", "pattern", "seen")

    def __init__(self) -> None:
        self.seen = 0
        self.pattern: re.Pattern[bytes] | None = None
        self.entries: list[Entry] = []
        self.known: Callable[[list[bytes]], Any] | None = None
        self.known_entries: list[Entry] = []


class Validator:
    """Feed it batches of lines (see :mod:`dsnlink.norme.source`); read ``report`` at the end."""

    def __init__(
        self, *, employees: bool = True, max_findings: int = 5000, replay: bool = True
    ) -> None:
        self.report = Report(summary=Summary())
        self.summary: Summary = self.report.summary
        self.max_findings = max_findings
        self._once: set[str] = set()
        self.employees = employees
        self._odd: dict[int, bytes] = {}
        #: calls to ``add`` (kept or not): a run of lines that made none can be replayed
        self.adds = 0
        self.replay = replay
        self._segments: dict[tuple[Any, ...], Segment] = {}
        self._last_shape: _Shape | None = None
        self._block_info: dict[bytes, tuple[str, BlockSpec | None, int]] = {}
        self.hooks = Hooks(self, employees=employees)
        self.version = DEFAULT_VERSION
        self.model: Model = get_model(DEFAULT_VERSION, "01")
        self.structure = Structure(self)
        self.table, self.valid = self._table_for(self.model)
        self._shapes = self._shapes_for(self.model)
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
        self.adds += 1
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

    def finding_total(self) -> int:
        return len(self.report.findings) + sum(self.report.dropped.values()) + len(self._once)

    # --- models -----------------------------------------------------------------------------

    def _table_for(self, model: Model) -> Tables:
        """Entries by ``identifier,'`` and the cache of whole valid lines, for one model."""
        key = (model.version, model.nature, self.employees)
        tables = _TABLES.get(key)
        if tables is None:
            table: dict[bytes, Entry] = {}
            valid: dict[bytes, Entry] = {}
            for rid, spec in model.rubriques.items():
                name = spec.block.encode()
                block = _BLOCK_NAMES.setdefault(name, name)
                bit = (1 << spec.num) if spec.usage == "O" else 0
                hook = Hooks.for_rubrique(spec, self.employees)
                cacheable, seeds = _cacheable(spec)
                entry: Entry = (
                    block,
                    spec.num,
                    cacheable,
                    spec.matcher.fullmatch,
                    bit,
                    hook,
                    spec,
                )
                table[rid.encode() + b",'"] = entry
                for seed in seeds:
                    valid[seed] = entry
            # two threads building the same tables at once: both are right, one is kept
            tables = _TABLES.setdefault(key, (table, valid))
        return tables

    def _shapes_for(self, model: Model) -> dict[tuple[bytes, ...], _Shape]:
        return _SHAPES.setdefault((model.version, model.nature, self.employees), {})

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
        self.table, self.valid = self._table_for(self.model)
        self._block_info = {}
        self._shapes = self._shapes_for(self.model)
        self._last_shape = None
        self.structure.use_model(version, nature)
        return True

    # --- the hot loop -----------------------------------------------------------------------

    def feed(self, lines: list[bytes]) -> None:
        if max(map(len, lines), default=0) > oddities.MAX_LINE:
            oddities.long_lines(self, self.lineno, lines)
        # Slices of a few thousand lines, so that the rest of a slice after a table switch
        # (new norme or nature) is checked line by line without making anything quadratic.
        # A slice ends at an employee's first line when there is one soon after, so that its
        # employees are whole runs (a cut run is walked line by line).
        total, offset = len(lines), 0
        while offset < total:
            stop = offset + SLICE
            if stop < total and self.replay:
                ahead = map(_IS_EMPLOYEE, lines[stop : stop + SLICE])
                stop = next(compress(count(stop), ahead), stop)
            part = lines[offset:stop] if offset or stop < total else lines
            rest = self._feed_batch(part)
            if rest is not None:
                self._feed_lines(part, rest)
            offset = stop

    def feed_segment(self, segment: bytes) -> None:
        """``feed`` for lines still joined by LF (see ``source.iter_segments``), walked by the
        compiled scanner (:mod:`dsnlink.norme.speedups`). It stops at each line it cannot
        take as plain (a finding, a hook other than the employee summary, a block transition
        not yet remembered…): that line goes through ``_feed_lines`` here, then the scanner
        goes on after it. Findings and summary are those of the pure-Python path."""
        mod = speedups.module()
        if mod is None:
            raise RuntimeError("the compiled scanner is not built or is turned off")
        scan = mod.scan
        structure, hooks = self.structure, self.hooks
        if hooks.keyset is not mod.KeySet:
            # the scanner checks NIRs for duplicates in its own set (one per declaration);
            # NIRs already in a Python set are left to Python until the next declaration
            hooks.keyset = mod.KeySet
            if not len(hooks.nirs):
                hooks.nirs = mod.KeySet()
        pos = 0
        while True:
            key = (self.model.version, self.model.nature, self.employees)
            fast = speedups.table_for(key, self.table, self.model)
            if fast is None or self.mask >= 1 << 64:
                self.feed(segment[pos:].split(b"\n"))  # tables the scanner cannot hold
                return
            table, index, names = fast
            blk = self.blk
            state = [
                -1 if blk is None else index.get(blk, -2),
                self.last, self.mask, self.start, self.lineno, structure.sid,
            ]  # fmt: skip
            decl = hooks.decl
            summary: list[Any] = [
                hooks.emp, decl.employees if self.employees else None, hooks.nirs,
                EmployeeSummary, _NEW_EMPLOYEE, 0,
            ]  # fmt: skip
            try:
                pos = scan(table, segment, pos, state, structure.starts, structure.memo, summary)
            finally:
                if state[0] != -2:
                    self.blk = None if state[0] < 0 else names[state[0]]
                self.last, self.mask, self.start, self.lineno, structure.sid = state[1:]
                hooks.emp = summary[0]
                decl.employee_count += summary[5]
            if pos < 0:
                return
            end = segment.find(b"\n", pos)
            line = segment[pos:] if end < 0 else segment[pos:end]
            if len(line) > oddities.MAX_LINE:
                oddities.long_lines(self, self.lineno, [line])
            self._feed_lines([line], 0)
            if end < 0:
                return
            pos = end + 1

    def _feed_batch(self, lines: list[bytes]) -> int | None:
        """Check ``lines``; after a line that switched the tables, stop and return the index of
        the next line (None when done).

        Values are checked ahead of the walk, so the batch is cut after each line that may
        switch the tables (norme version, nature): no value is checked against the tables of
        another norme or nature, and none is reported twice."""
        offset = 0
        for cut in _switch_points(lines, self.version, self.model.nature):
            rest = self._feed_part(lines[offset:cut])
            if rest is not None:
                return offset + rest
            offset = cut
        rest = self._feed_part(lines[offset:] if offset else lines)
        return None if rest is None else offset + rest

    def _feed_part(self, lines: list[bytes]) -> int | None:
        """``_feed_batch`` for lines of which only the last may switch the tables."""
        employee = self.table.get(EMPLOYEE_KEY)
        if not self.replay or employee is None or len(lines) < REPLAY_MIN_LINES:
            return self._walk(lines, self._entries(lines, 0, len(lines)), 0, len(lines))
        # Runs of lines from one employee to the next. A run whose shape (its identifiers) is
        # frequent has its values checked by one expression; a run whose shape and entering
        # state were already walked without finding is replayed rather than walked again.
        end = len(lines)
        pos = next(compress(count(), map(_IS_EMPLOYEE, lines)), end)
        if pos == end:
            return self._walk(lines, self._entries(lines, 0, end), 0, end)
        # (first line, end, compiled shape or None, is an employee)
        runs: list[tuple[int, int, _Shape | None, bool]] = [(0, pos, None, False)] if pos else []
        entries: list[Entry] = [ODD] * end
        shape_of = self._shape
        valid_has = self.valid.__contains__
        keys: list[bytes] | None = None
        last = self._last_shape
        # value checks first, for the whole batch: findings come in the same order as when
        # every line is resolved before the walk
        while pos < end:
            if last is not None and last.pattern is not None:
                # most employees look like the previous one: try its shape first (its
                # expression checks the identifiers too), without cutting the batch into keys
                nxt = pos + len(last.entries)
                if nxt <= end and (nxt == end or lines[nxt].startswith(EMPLOYEE_KEY)):
                    run = lines[pos:nxt]
                    if last.pattern.fullmatch(b"\n".join(run)) is not None and (
                        last.known is None
                        or all(map(valid_has, last.known(run)))
                        or self._learn_known(last, run)
                    ):
                        entries[pos:nxt] = last.entries
                        runs.append((pos, nxt, last, True))
                        pos = nxt
                        continue
            if keys is None:
                keys = list(map(_ID, lines))
            try:
                nxt = keys.index(EMPLOYEE_KEY, pos + 1)
            except ValueError:
                nxt = end
            shape = shape_of(keys, pos, nxt)
            run = lines[pos:nxt]
            if (
                shape is not None
                and shape.pattern is not None
                and shape.pattern.fullmatch(b"\n".join(run)) is not None
                and (
                    shape.known is None
                    or all(map(valid_has, shape.known(run)))
                    or self._learn_known(shape, run)
                )
            ):
                entries[pos:nxt] = shape.entries
                runs.append((pos, nxt, shape, True))
                last = shape
            else:
                runs.append((pos, nxt, None, True))
            pos = nxt
        self._last_shape = last
        base = self.lineno
        for lo, hi, shape, _employee in runs:
            if shape is None:
                entries[lo:hi] = self._entries(lines, lo, hi, base)
        segment = self._segment
        for lo, hi, shape, employee_run in runs:
            if employee_run:
                rest = segment(lines, entries, lo, hi, shape)
            else:
                rest = self._walk(lines, entries, lo, hi)
            if rest is not None:
                return rest
        return None

    def _entries(
        self, lines: list[bytes], lo: int, hi: int, base: int | None = None
    ) -> list[Entry]:
        """The entries of lines ``lo`` to ``hi``, values checked (findings added)."""
        part = lines[lo:hi] if lo or hi != len(lines) else lines
        entries = list(map(self.valid.get, part))
        if None in entries:
            first = (self.lineno if base is None else base) + lo
            if self.replay:
                self._resolve(part, entries, first)
            else:
                self._resolve_each(part, entries, first)
        return cast("list[Entry]", entries)

    def _learn_known(self, shape: _Shape, run: list[bytes]) -> bool:
        """The lines of a run that its expression leaves to the cache of known-valid lines,
        checked one by one when some are new: True, and the new ones learnt, if all pass
        without finding (else the run is resolved line by line, findings in order)."""
        assert shape.known is not None
        valid = self.valid
        new: list[tuple[bytes, Entry]] = []
        for line, entry in zip(shape.known(run), shape.known_entries, strict=True):
            if line in valid:
                continue
            if entry[3](line, 16, len(line) - 1) is None:
                return False
            if entry[6].type == "D" and not is_calendar_date(line[16:-1].decode("latin-1")):
                return False
            new.append((line, entry))
        for line, entry in new:
            if len(valid) < KNOWN_LINES_MAX:
                valid[line] = entry
        return True

    def _shape(self, keys: list[bytes], lo: int, hi: int) -> _Shape | None:
        """The compiled shape of a run, once it has been seen often enough to pay for it."""
        ident = tuple(keys[lo:hi])
        shape = self._shapes.get(ident)
        if shape is None:
            if len(self._shapes) >= SHAPES_MAX:
                return None
            shape = self._shapes[ident] = _Shape()
        if shape.pattern is not None:
            return shape
        if shape.seen < 0:
            return None
        shape.seen += 1
        if shape.seen < COMPILE_AFTER * len(ident):
            return None
        shape.seen = -1  # unsuitable unless compiled below
        compiled = _COMPILED.get(id(self._shapes), 0)
        if compiled >= COMPILED_MAX:
            return None
        _COMPILED[id(self._shapes)] = compiled + 1
        found = [self.table.get(key) for key in ident]
        entries = [e for e in found if e is not None and e[6] is not None]
        if len(entries) != len(ident):
            return None
        known = [index for index, e in enumerate(entries) if e[2]]
        try:
            shape.pattern = compile_run([e[6] for e in entries], set(known))
        except (Unsuitable, re.error):
            return None
        shape.entries = entries
        shape.known = _picker(known) if known else None
        shape.known_entries = [entries[index] for index in known]
        return shape

    def _walk(self, lines: list[bytes], entries: list[Entry], lo: int, hi: int) -> int | None:
        """The checks of lines ``lo`` to ``hi``, one line at a time; the index of the line after
        a table switch, None when done."""
        blk, last, mask, start = self.blk, self.last, self.mask, self.start
        on_block = self.on_block
        hooks = self.hooks
        lineno = self.lineno
        for index in range(lo, hi):
            entry = entries[index]
            lineno += 1
            b, num, _cacheable, _match, bit, hook, spec = entry
            if b is not blk or num <= last:
                self.blk, self.mask, self.start, self.lineno = blk, mask, start, lineno
                if on_block(lineno, b, num, spec):
                    blk, mask, start = b, 0, lineno
            last = num
            mask |= bit
            if hook is not None and hook(hooks, lineno, lines[index]):
                self.blk, self.last, self.mask, self.start, self.lineno = (
                    blk, last, mask, start, lineno,
                )  # fmt: skip
                return index + 1
        self.blk, self.last, self.mask, self.start, self.lineno = blk, last, mask, start, lineno
        return None

    def _segment(
        self, lines: list[bytes], entries: list[Entry], lo: int, hi: int, shape: _Shape | None
    ) -> int | None:
        """Lines ``lo`` to ``hi`` (one employee): replayed when remembered, else walked."""
        structure = self.structure
        key = (
            self.blk, self.last, self.mask, structure.sid, structure.generation,
            id(self.table), shape if shape is not None else tuple(map(id, entries[lo:hi])),
        )  # fmt: skip
        hit = self._segments.get(key)
        if hit is None:
            return self._record(lines, entries, lo, hi, key)
        blk, last, mask, start_offset, sid, keep, opened, calls, pick, fields = hit
        lineno = self.lineno
        structure.sid = sid
        starts = structure.starts
        del starts[keep:]
        starts.extend(map(lineno.__add__, opened))
        hooks = self.hooks
        for offset, hook in calls:
            if hook is None:
                hooks.start_employee(lineno + offset)
            else:
                hook(hooks, lineno + offset, lines[lo + offset - 1])
        if pick is not None:
            # the employee's fields in one go, as the hooks would set them one by one
            values = map(bytes.decode, map(_VALUE, pick(lines[lo:hi])), repeat("latin-1"))
            hooks.emp.__dict__.update(zip(fields, values, strict=True))
        self.blk, self.last, self.mask = blk, last, mask
        if start_offset:
            self.start = lineno + start_offset
        self.lineno = lineno + hi - lo
        return None

    def _record(
        self, lines: list[bytes], entries: list[Entry], lo: int, hi: int, key: tuple[Any, ...]
    ) -> int | None:
        """Walk lines ``lo`` to ``hi`` and remember what they did, if it can be replayed: no
        finding, no odd line, no root block, only hooks that read the line itself."""
        structure, hooks = self.structure, self.hooks
        run = entries[lo:hi]
        if (
            len(self._segments) >= SEGMENTS_MAX
            or ODD in run
            or any(e[5] is not None and e[5] not in REPLAYABLE_HOOKS for e in run)
        ):
            return self._walk(lines, entries, lo, hi)
        adds, roots, generation = self.adds, structure.roots, structure.generation
        decl, employees = hooks.decl, hooks.decl.employee_count
        before = list(structure.starts)
        lineno, start = self.lineno, self.start
        rest = self._walk(lines, entries, lo, hi)
        if (
            rest is not None
            or self.adds != adds
            or structure.roots != roots
            or structure.generation != generation
            or hooks.decl is not decl
            or hooks.decl.employee_count - employees > 1
        ):
            return rest
        calls: list[tuple[int, Hook | None]] = [
            (offset, e[5]) for offset, e in enumerate(run, start=1) if e[5] is not None
        ]
        if hooks.decl.employee_count != employees:
            offset = hooks.emp.line - lineno
            # the start of an employee comes with its first line, before that line's hook
            at = next((i for i, c in enumerate(calls) if c[0] >= offset), len(calls))
            calls.insert(at, (offset, None))
        pick: Callable[[list[bytes]], Any] | None = None
        fields: tuple[str, ...] = ()
        copies = [(offset, hook) for offset, hook in calls if hook in FIELD_HOOKS]
        if calls and calls[0] == (1, None) and copies:
            calls = [c for c in calls if c[1] not in FIELD_HOOKS]
            pick = _picker([offset - 1 for offset, _hook in copies])
            fields = tuple(FIELD_HOOKS[hook] for _offset, hook in copies)
        starts = structure.starts
        keep = 0
        while (
            keep < len(before)
            and keep < len(starts)
            and starts[keep] == before[keep]
            and starts[keep] <= lineno
        ):
            keep += 1
        self._segments[key] = (
            self.blk,
            self.last,
            self.mask,
            self.start - lineno if self.start != start else 0,
            structure.sid,
            keep,
            tuple(s - lineno for s in starts[keep:]),
            tuple(calls),
            pick,
            fields,
        )
        return None

    def _feed_lines(self, lines: list[bytes], first: int) -> None:
        """The same checks one line at a time, reloading the tables whenever a hook switches
        them (the rest of a slice after a new norme version or nature)."""
        valid_get = self.valid.get
        on_block = self.on_block
        hooks = self.hooks
        blk, last, mask, start, lineno = self.blk, self.last, self.mask, self.start, self.lineno
        for index in range(first, len(lines)):
            line = lines[index]
            lineno += 1
            entry = valid_get(line) or self._resolve_line(line, lineno)
            b, num, _cacheable, _match, bit, hook, spec = entry
            if b is not blk or num <= last:
                self.blk, self.mask, self.start, self.lineno = blk, mask, start, lineno
                if on_block(lineno, b, num, spec):
                    blk, mask, start = b, 0, lineno
            last = num
            mask |= bit
            if hook is not None and hook(hooks, lineno, line):
                valid_get = self.valid.get
        self.blk, self.last, self.mask, self.start, self.lineno = blk, last, mask, start, lineno

    def _resolve(self, lines: list[bytes], entries: list[Entry | None], base: int) -> None:
        """Resolve the lines not known valid. Identifier lookups and value matches run in C
        over the whole batch; only the lines that fail, or whose value is worth remembering,
        go through ``_resolve_line``, in line order, so findings come in the same order."""
        where = list(compress(range(len(entries)), map(_IS_NONE, entries)))
        unknown = list(map(lines.__getitem__, where))
        found = list(map(self.table.get, map(_ID, unknown), repeat(_UNKNOWN)))
        matched = map(
            call, map(_MATCHER, found), unknown, repeat(16), map(sub, map(len, unknown), repeat(1))
        )
        quoted = map(bytes.endswith, unknown, repeat(b"'"))
        attention = map(
            or_, map(or_, map(_IS_NONE, matched), map(_CACHEABLE, found)), map(not_, quoted)
        )
        resolve_line = self._resolve_line
        for index in compress(range(len(unknown)), attention):
            found[index] = resolve_line(unknown[index], base + where[index] + 1)
        for index, entry in zip(where, found, strict=True):
            entries[index] = entry

    def _resolve_each(self, lines: list[bytes], entries: list[Entry | None], base: int) -> None:
        """``_resolve`` one line at a time (the reference the batch version is tested against)."""
        resolve_line = self._resolve_line
        index = -1
        try:
            while True:
                index = entries.index(None, index + 1)
                entries[index] = resolve_line(lines[index], base + index + 1)
        except ValueError:
            pass

    def _resolve_line(self, line: bytes, lineno: int) -> Entry:
        """The entry of a line not known valid: identifier lookup and value check."""
        entry = self.table.get(line[:16])
        if entry is None or line[-1] != 39:  # 39 is "'"
            self._odd[lineno] = line
            return ODD
        if entry[3](line, 16, len(line) - 1) is None:
            self.bad_value(lineno, line, entry[6])
        elif entry[2]:
            self.learn(lineno, line, entry)
        return entry

    # --- slow paths -------------------------------------------------------------------------

    def on_block(self, lineno: int, block: bytes, num: int, spec: RubriqueSpec) -> bool:
        """A rubrique of another block, or a number not above the previous one."""
        if block is ODD_BLOCK:
            self.odd_line(lineno, self._odd.pop(lineno))
            return False
        blk = self.blk
        infos = self._block_info
        info = infos.get(block) or self.block_info(block)
        if block is blk and num > info[2]:
            self.add(
                "rubrique.order",
                f"La rubrique {spec.rid} n'est pas à sa place : les rubriques d'un bloc se "
                "suivent par numéro croissant.",
                line=lineno,
                rubrique=spec.rid,
            )
            return False
        if blk is not None:
            prev = infos.get(blk) or self.block_info(blk)
            prev_spec = prev[1]
            if prev_spec is not None and prev_spec.mandatory_mask & ~self.mask:
                self.structure.missing_rubriques(
                    prev[0], prev_spec.mandatory_mask & ~self.mask, self.start
                )
        bspec = info[1]
        structure = self.structure
        if bspec is not None and bspec.parent is not None:
            # the usual case, inlined: a remembered transition of the block stack
            hit = structure.memo.get((structure.sid, info[0]))
            if hit is not None:
                structure.sid, pops = hit
                starts = structure.starts
                if pops:
                    del starts[-pops:]
                starts.append(lineno)
                if info[0] == EMPLOYEE:
                    self.hooks.start_employee(lineno)
                return True
        structure.open_instance(info[0], bspec, lineno)
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

    def learn(self, lineno: int, line: bytes, entry: Entry) -> None:
        """A value passed its pattern: check what regexes cannot (dates), then remember it."""
        spec = entry[6]
        if spec.type == "D" and not is_calendar_date(line[16:-1].decode("latin-1")):
            self.add(
                "value.date",
                f"La date de la rubrique {spec.rid} n'existe pas dans le calendrier.",
                line=lineno,
                rubrique=spec.rid,
                value=line[16:-1].decode("latin-1"),
            )
            return
        if len(self.valid) < KNOWN_LINES_MAX:
            self.valid[line] = entry

    def bad_value(self, lineno: int, line: bytes, spec: RubriqueSpec) -> None:
        value = line[16:-1].decode("latin-1")
        code, message = diagnose(spec, value)
        self.add(code, message, line=lineno, rubrique=spec.rid, value=value)

    def odd_line(self, lineno: int, line: bytes) -> None:
        oddities.odd_line(self, lineno, line)

    # --- end --------------------------------------------------------------------------------

    def finish(self, info: SourceInfo) -> Report:
        if self.blk is not None:
            name, bspec, _ = self.block_info(self.blk)
            if bspec is not None and bspec.mandatory_mask & ~self.mask:
                self.structure.missing_rubriques(
                    name, bspec.mandatory_mask & ~self.mask, self.start
                )
        self.structure.finish()
        oddities.file_findings(self, info)
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


#: lines whose hook may switch the tables (norme version, declaration nature)
SWITCHES = (b"S10.G00.00.006,'", b"S20.G00.05.001,'")


def _switch_points(lines: list[bytes], version: str, nature: str) -> list[int]:
    """The index after each line of ``lines`` that may switch the tables, but the last line.
    Found with a few C calls on the joined lines: such lines are rare (envoi and declaration
    headers). A line that repeats the current ``version`` or ``nature`` switches nothing,
    unless an earlier line of the batch may have switched."""
    joined = b"\n".join(lines)
    starts: list[int] = []
    for marker in SWITCHES:
        pos = joined.find(marker)
        while pos >= 0:
            if pos == 0 or joined[pos - 1] == 10:  # 10 is "\n": the start of a line
                starts.append(pos)
            pos = joined.find(marker, pos + 1)
    cuts: list[int] = []
    line, counted = 0, 0
    for pos in sorted(starts):
        line += joined.count(b"\n", counted, pos)  # each stretch of bytes is counted once
        counted = pos
        raw = lines[line]
        current = version if raw.startswith(SWITCHES[0]) else nature
        if line + 1 < len(lines) and (cuts or raw[16:-1].decode("latin-1") != current):
            cuts.append(line + 1)
    return cuts


def _picker(positions: list[int]) -> Callable[[list[bytes]], Any]:
    """A C function picking the items at ``positions`` of a list, always as a sequence."""
    if len(positions) == 1:
        return itemgetter(slice(positions[0], positions[0] + 1))
    return itemgetter(*positions)


def _first_number(bspec: BlockSpec) -> int:
    """A new instance may start at any number up to the block's first mandatory rubrique."""
    mask = bspec.mandatory_mask
    if not mask:
        return 999
    return (mask & -mask).bit_length() - 1


def _cacheable(spec: RubriqueSpec) -> tuple[bool, list[bytes]]:
    """Whether valid lines of a rubrique are worth remembering (its values repeat), and the
    lines known valid in advance (its enumeration)."""
    if spec.matcher is NEVER:
        return False, []
    if spec.enum:
        prefix = spec.rid.encode() + b",'"
        return True, [prefix + v.encode("latin-1") + b"'" for v in spec.enum]
    return spec.type == "D" or spec.max <= 10, []


def run(
    source: Source,
    *,
    employees: bool = True,
    max_findings: int = 5000,
    on_progress: Callable[[int], None] | None = None,
    compiled: bool | None = None,
) -> Report:
    """Check ``source``. ``compiled`` chooses the path: the compiled scanner (the default when
    it is built, see :mod:`dsnlink.norme.speedups`) or the pure-Python one (False)."""
    fast = speedups.available() if compiled is None else compiled
    with open_source(source) as (stream, name):
        origin = stream.tell() if fast and stream.seekable() else None
        report = _check(stream, name, employees, max_findings, on_progress, fast=origin is not None)
        if origin is not None and report.dropped and max_findings > 0:
            # Past max_findings, which findings are kept depends on the order they are found
            # in, and the pure-Python path checks a batch's values before its structure: such a
            # file is checked again that way, so that the same findings are kept.
            stream.seek(origin)
            report = _check(stream, name, employees, max_findings, on_progress, fast=False)
    return report


def _check(
    stream: Any,
    name: str,
    employees: bool,
    max_findings: int,
    on_progress: Callable[[int], None] | None,
    *,
    fast: bool,
) -> Report:
    validator = Validator(employees=employees, max_findings=max_findings)
    info = SourceInfo(name=name)
    if fast:
        for segment in iter_segments(stream, info):
            validator.feed_segment(segment)
            if on_progress is not None:
                on_progress(info.bytes)
    else:
        for lines in iter_batches(stream, info):
            validator.feed(lines)
            if on_progress is not None:
                on_progress(info.bytes)
    return validator.finish(info)
