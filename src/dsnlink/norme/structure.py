"""Structure checks: envois, declarations, block order, parents and cardinalities.

Open block instances form a stack. A block attaches to the nearest open instance of its parent
(CT §3.2); siblings must come in the order of the CT trees; each parent instance counts its
children for the cardinalities, checked when it closes.

The stack is an immutable, interned *state* (blocks, last child order, child counts capped
just above the maximum), so a transition (state, new block) that produced no finding is
remembered: a regular file has a few dozen states and almost every block change costs one dict
lookup. The first line of each open instance is kept aside, for the messages.

States and remembered transitions depend on the model only, so they are shared by the
validators of a process (one ``StateTable`` per norme version and nature): the pipeline checks
thousands of small files alike, and from the second one on their block changes are all
remembered (the compiled scanner walks them without handing lines back to Python).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from dsnlink.norme.norm import BlockSpec

if TYPE_CHECKING:
    from dsnlink.norme.validator import Validator

ENVOI, DECLARATION, TOTALS = "S10.G00.00", "S20.G00.05", "S90.G00.90"
EMPLOYEE = "S21.G00.30"
MEMO_MAX = 50_000

#: (block, spec, order of the last child opened, child counts as sorted (block, n) pairs)
Frame = tuple[str, BlockSpec | None, int, tuple[tuple[str, int], ...]]
State = tuple[Frame, ...]


class StateTable:
    """Interned states and the transitions remembered between them, for one model.

    Shared by validators running in several threads: an id, once given, always maps to the same
    state (the state is appended before its id is published, under a lock), and nothing is ever
    removed. Past ``MEMO_MAX`` states the table takes no more: ``shared_table`` then starts a
    new one for whoever needs it, and the validators still holding this one keep valid ids."""

    __slots__ = ("_lock", "ids", "memo", "states")

    def __init__(self) -> None:
        self.states: list[State] = [()]
        self.ids: dict[State, int] = {(): 0}
        #: (state, block) → (next state, instances closed), for transitions without finding
        self.memo: dict[tuple[int, str], tuple[int, int]] = {}
        self._lock = threading.Lock()

    def intern(self, state: State) -> int | None:
        """The id of ``state``; None when it is new and the table is full."""
        sid = self.ids.get(state)
        if sid is None:
            with self._lock:
                sid = self.ids.get(state)
                if sid is None:
                    if len(self.states) > MEMO_MAX:
                        return None
                    sid = len(self.states)
                    self.states.append(state)  # before the id is visible to other threads
                    self.ids[state] = sid
        return sid


#: the current table of each (norme version, nature)
_SHARED: dict[tuple[str, str], StateTable] = {}
_SHARED_LOCK = threading.Lock()


def shared_table(version: str, nature: str, full: StateTable | None = None) -> StateTable:
    """The table of a model; a new one if the current one is ``full``."""
    key = (version, nature)
    with _SHARED_LOCK:
        table = _SHARED.get(key)
        if table is None or table is full:
            table = _SHARED[key] = StateTable()
        return table


def forget_shared_tables() -> None:
    """Start every model's table afresh (tests: a report must not depend on what was seen
    before). Validators already running keep theirs."""
    with _SHARED_LOCK:
        _SHARED.clear()


class _Envoi:
    __slots__ = ("declarations", "extra", "first_line", "phase")

    def __init__(self, first_line: int) -> None:
        self.first_line = first_line
        self.extra = 0  # lines not written by the emitter (lot, platform) or not rubriques
        self.declarations = 0
        self.phase = 1  # 1 header, 2 declarations, 3 totals


class Structure:
    def __init__(self, validator: Validator) -> None:
        self.v = validator
        self.sid = 0
        self.starts: list[int] = []
        model = validator.model
        self.key = (model.version, model.nature)
        self.table = shared_table(*self.key)
        #: the table's transitions (read by the hot loops and the compiled scanner)
        self.memo = self.table.memo
        self.envoi: _Envoi | None = None
        #: bumped when the state numbering changes (another table: new model, or the table
        #: full); replayed runs of lines, keyed by state id, must not cross it
        self.generation = 0
        #: root blocks opened (envoi, declaration, totals, unknown block): replayed runs of
        #: lines must not contain one
        self.roots = 0

    @property
    def state(self) -> State:
        return self.table.states[self.sid]

    def use_model(self, version: str, nature: str) -> None:
        """Take the table of another model, the current state carried over."""
        self.key = (version, nature)
        self._use(shared_table(version, nature), self.state)

    def _use(self, table: StateTable, state: State) -> None:
        sid = table.intern(state)
        while sid is None:  # filled up by other threads meanwhile
            table = shared_table(*self.key, full=table)
            sid = table.intern(state)
        self.table, self.memo, self.sid = table, table.memo, sid
        self.generation += 1

    def _intern(self, state: State) -> int:
        sid = self.table.intern(state)
        if sid is None:  # pathological files: another table, memory stays bounded
            self._use(shared_table(*self.key, full=self.table), state)
            sid = self.sid
        return sid

    def count_extra(self) -> None:
        if self.envoi is not None and self.envoi.phase < 3:
            self.envoi.extra += 1

    # --- block instances ----------------------------------------------------------------------

    def open_instance(self, block: str, spec: BlockSpec | None, lineno: int) -> None:
        if spec is not None and spec.parent is not None:
            self._open_child(block, spec, lineno)
            return
        self.roots += 1
        v = self.v
        if block == ENVOI:
            self._pop_all()
            self._end_envoi()
            self.envoi = _Envoi(lineno)
            v.hooks.start_envoi(lineno)
        elif block == DECLARATION:
            self._pop_all()
            envoi = self._require_envoi(lineno)
            if envoi.phase == 3:
                self._missing_header(lineno)
            envoi.declarations += 1
            envoi.phase = 2
            v.hooks.start_declaration(lineno)
        elif block == TOTALS:
            self._pop_all()
            self._require_envoi(lineno).phase = 3
        else:
            v.add(
                "block.unknown",
                f"Le bloc {block} n'est pas admis dans ce type de déclaration "
                f"(norme {v.model.version}, nature {v.model.nature}).",
                line=lineno,
                rubrique=block,
                once=f"unknown:{block}:{v.hooks.decl_line}",
            )
        self._push((*self.state, (block, spec, -1, ())), 0, lineno)

    def _push(self, state: State, pops: int, lineno: int) -> None:
        self.sid = self._intern(state)
        if pops:
            del self.starts[-pops:]
        self.starts.append(lineno)

    def _open_child(self, block: str, spec: BlockSpec, lineno: int) -> None:
        key = (self.sid, block)
        table = self.table
        hit = table.memo.get(key)
        if hit is not None:
            self.sid, pops = hit
            if pops:
                del self.starts[-pops:]
            self.starts.append(lineno)
        else:
            before = self.v.finding_total()
            state, pops, regular = self._transition(block, spec, lineno)
            self._push(state, pops, lineno)
            # not when the push took another table: the key's id is the old table's
            if regular and self.v.finding_total() == before and self.table is table:
                table.memo[key] = (self.sid, pops)
        if block == EMPLOYEE:
            self.v.hooks.start_employee(lineno)

    def _transition(self, block: str, spec: BlockSpec, lineno: int) -> tuple[State, int, bool]:
        """New state and number of instances closed; False when it must not be remembered."""
        v = self.v
        frames = list(self.state)
        parent = spec.parent
        index = len(frames) - 1
        while index >= 0 and frames[index][0] != parent:
            index -= 1
        if index < 0:
            label = v.model.block_labels.get(parent or "", "")
            v.add(
                "block.parent_missing",
                f"Le bloc {block} ne peut venir qu'après son bloc parent {parent} ({label}).",
                line=lineno,
                rubrique=block,
                once=f"orphan:{block}:{v.hooks.decl_line}",
            )
            return (*frames, (block, spec, -1, ())), 0, False
        pops = len(frames) - index - 1
        for depth in range(len(frames) - 1, index, -1):
            self._close(frames[depth], self.starts[depth])
        name, pspec, last_order, counts = frames[index]
        if spec.order < last_order:
            v.add(
                "block.order",
                f"Le bloc {block} arrive trop tard : l'ordre des blocs suit l'arborescence de la "
                "norme, pas l'ordre des numéros.",
                line=lineno,
                rubrique=block,
            )
        else:
            last_order = spec.order
        tally = dict(counts)
        count = tally.get(block, 0) + 1
        if spec.max is not None and count > spec.max:
            v.add(
                "block.too_many",
                f"Le bloc {block} est présent {count} fois sous son parent ; {spec.max} au plus.",
                line=lineno,
                rubrique=block,
            )
        # counts only matter up to max + 1 (and minima are 0 or 1): capping keeps states few
        tally[block] = min(count, (spec.max or 1) + 1)
        frames[index] = (name, pspec, last_order, tuple(sorted(tally.items())))
        return (*frames[: index + 1], (block, spec, -1, ())), pops, True

    def missing_rubriques(self, block: str, missing: int, start: int) -> None:
        """Report the mandatory rubriques (bits of ``missing``) absent from a block instance."""
        ids = [f"{block}.{n:03d}" for n in range(missing.bit_length()) if missing >> n & 1]
        self.v.add(
            "rubrique.missing",
            "Rubrique(s) obligatoire(s) absente(s) du bloc : " + ", ".join(ids) + ".",
            line=start,
            rubrique=ids[0],
        )

    def _close(self, frame: Frame, start: int) -> None:
        name, spec, _last, counts = frame
        if spec is None or not spec.mandatory_children:
            return
        tally = dict(counts)
        for child, minimum in spec.mandatory_children:
            if tally.get(child, 0) < minimum:
                label = self.v.model.block_labels.get(child, "")
                self.v.add(
                    "block.missing",
                    f"Le bloc obligatoire {child} ({label}) manque sous le bloc {name} "
                    f"commencé ligne {start}.",
                    line=start,
                    rubrique=child,
                )

    def _pop_all(self) -> None:
        state = self.state
        for depth in range(len(state) - 1, -1, -1):
            self._close(state[depth], self.starts[depth])
        self.sid = 0
        self.starts.clear()

    # --- envois -----------------------------------------------------------------------------

    def _require_envoi(self, lineno: int) -> _Envoi:
        if self.envoi is None:
            self._missing_header(lineno)
            self.envoi = _Envoi(lineno)
            self.v.hooks.start_envoi(lineno)
        return self.envoi

    def _missing_header(self, lineno: int) -> None:
        self.v.add(
            "envoi.header_missing",
            "La déclaration n'est pas précédée de l'en-tête d'envoi S10.G00.00.",
            line=lineno,
            rubrique=DECLARATION,
        )

    def _end_envoi(self) -> None:
        envoi, v = self.envoi, self.v
        if envoi is None:
            return
        self.envoi = None
        hooks = v.hooks
        if envoi.phase != 3 or hooks.s90_line is None:
            v.add(
                "envoi.totals_missing",
                "L'envoi ne se termine pas par le bloc S90.G00.90 (totaux).",
                line=envoi.first_line,
                rubrique=TOTALS,
            )
        else:
            lines = hooks.s90_line - envoi.first_line + 1 - envoi.extra
            if hooks.s90_total is not None and hooks.s90_total != lines:
                v.add(
                    "envoi.line_count",
                    f"S90.G00.90.001 annonce {hooks.s90_total} rubriques ; "
                    f"l'envoi en compte {lines}.",
                    line=hooks.s90_total_line,
                    rubrique="S90.G00.90.001",
                    value=str(hooks.s90_total),
                )
            if hooks.s90_decls is not None and hooks.s90_decls != envoi.declarations:
                v.add(
                    "envoi.declaration_count",
                    f"S90.G00.90.002 annonce {hooks.s90_decls} déclaration(s) ; l'envoi en "
                    f"contient {envoi.declarations}.",
                    line=hooks.s90_line,
                    rubrique="S90.G00.90.002",
                    value=str(hooks.s90_decls),
                )
        self._check_envoi_type()
        if envoi.declarations > 1:
            v.add(
                "envoi.several_declarations",
                f"L'envoi contient {envoi.declarations} déclarations ; un dépôt par l'API-DSN "
                "n'en admet qu'une : « dsnlink split » le découpe.",
                line=envoi.first_line,
                rubrique=ENVOI,
            )
        hooks.s90_line = hooks.s90_total = hooks.s90_decls = None

    def _check_envoi_type(self) -> None:
        """CCH-11 of S10.G00.00.008: "02 - néant" if and only if every declaration is a monthly
        one without employee (types 02 and 05)."""
        hooks = self.v.hooks
        summary = hooks.envoi
        if summary.envoi_type not in ("01", "02") or not summary.declarations:
            return
        empty = all(d.nature == "01" and d.type in ("02", "05") for d in summary.declarations)
        if (summary.envoi_type == "02") != empty:
            self.v.add(
                "envoi.type_mismatch",
                "Le type d'envoi S10.G00.00.008 doit valoir 02 (néant) si et seulement si toutes "
                "les déclarations sont des DSN mensuelles sans individu (types 02 ou 05).",
                line=summary.line,
                rubrique="S10.G00.00.008",
                value=summary.envoi_type,
            )

    def finish(self) -> None:
        self._pop_all()
        self._end_envoi()
