"""The optional compiled scanner (``dsnlink.norme._speedups``, built from ``_speedups.c``).

``available()`` says whether the validator may use it: the extension was built (``pip install``
compiles it when a C compiler is there) and ``DSNLINK_NO_SPEEDUPS`` is not set. With
``DSNLINK_REQUIRE_SPEEDUPS`` set, a missing extension is an error instead (CI).

``table_for`` turns the validator's tables of one norme version and nature (entries by
identifier, blocks of the model) into the scanner's ``Table``: per rubrique its block, number,
mandatory bit, what its hook does, and its value check as flags and an automaton
(:mod:`dsnlink.norme.dfa`) equivalent to the ``re`` matcher of :func:`dsnlink.norme.norm._matcher`.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING, Any

from dsnlink.norme import dfa
from dsnlink.norme.checks import FIELD_HOOKS, Hooks
from dsnlink.norme.norm import ALLOWED, FORBIDDEN_USAGES, IDENTITY, Model, RubriqueSpec
from dsnlink.norme.oddities import MAX_LINE
from dsnlink.norme.structure import EMPLOYEE

if TYPE_CHECKING:
    from dsnlink.norme.validator import Entry

NO_SPEEDUPS = "DSNLINK_NO_SPEEDUPS"
REQUIRE_SPEEDUPS = "DSNLINK_REQUIRE_SPEEDUPS"

_module: ModuleType | None
try:
    from dsnlink.norme import _speedups as _module  # type: ignore[attr-defined,no-redef]
except ImportError:  # no compiler at install time: the pure-Python path
    _module = None

#: the scanner's table per (norme version, nature, employee hooks on); None: not usable
_TABLES: dict[tuple[str, str, bool], Any] = {}

_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
_DATE = r"[0-9]{8}"
_IDENTITY = IDENTITY.decode("latin-1")
assert ALLOWED == rb"\x20-\x7e\xa0-\xff"  # what F_PRINTABLE checks in C


def module() -> ModuleType | None:
    """The extension, or None when it is missing or turned off by the environment."""
    if os.environ.get(NO_SPEEDUPS):
        return None
    if _module is None and os.environ.get(REQUIRE_SPEEDUPS):
        raise RuntimeError(
            f"{REQUIRE_SPEEDUPS} is set but dsnlink.norme._speedups is not built "
            "(pip install -e . needs a C compiler)"
        )
    return _module


def available() -> bool:
    return module() is not None


def value_check(spec: RubriqueSpec) -> tuple[int, dfa.Dfa | None, int, int]:
    """(flags, automaton, min, max) of the scanner for ``spec``: the same branches, in the same
    order, as ``norm._matcher``. Patterns the automaton builder does not know are left to
    Python (``F_PYTHON``: the scanner hands the line back)."""
    mod = _module
    assert mod is not None
    calendar = mod.F_CALENDAR if spec.type == "D" else 0
    try:
        if spec.usage in FORBIDDEN_USAGES:
            return mod.F_PYTHON, None, 0, 0
        if spec.enum:
            words = frozenset(v.encode("latin-1") for v in spec.enum)
            return calendar, dfa.compile_words(words), 0, 0
        if spec.pattern is not None:
            automaton = dfa.compile_pattern(spec.pattern.pattern.decode("latin-1"))
            return mod.F_LENGTH | calendar, automaton, spec.min, spec.max
        if spec.charset == "identity":
            return mod.F_LENGTH | calendar, dfa.compile_pattern(_IDENTITY), spec.min, spec.max
        if spec.type == "N":
            return mod.F_LENGTH | calendar, dfa.compile_pattern(_NUMBER), spec.min, spec.max
        if spec.type == "D":
            return calendar, dfa.compile_pattern(_DATE), 0, 0
        return mod.F_LENGTH | mod.F_PRINTABLE | calendar, None, spec.min, spec.max
    except (dfa.Unsupported, UnicodeEncodeError):
        return mod.F_PYTHON, None, 0, 0


def table_for(key: tuple[str, str, bool], table: dict[bytes, Entry], model: Model) -> Any:
    """The scanner's table for the validator's ``table`` (cached by ``key``); None when the
    scanner is off or the tables do not fit it (a mandatory rubrique numbered 64 or more)."""
    if key in _TABLES:
        return _TABLES[key]
    mod = module()
    built = None if mod is None else _build(mod, table, model)
    _TABLES[key] = built
    return built


def _build(mod: ModuleType, table: dict[bytes, Entry], model: Model) -> Any:
    from dsnlink.norme.validator import _first_number  # the validator imports this module

    blocks: list[tuple[str, int, int, bool, bool]] = []
    block_index: dict[bytes, int] = {}
    automata: list[tuple[bytes, int, bytes, bytes]] = []
    automaton_index: dict[int, int] = {}
    entries = []
    for key, (block, num, _cacheable, _match, bit, hook, spec) in table.items():
        if len(key) != 16 or bit >= 1 << 64:
            return None
        index = block_index.get(block)
        if index is None:
            name = block.decode("latin-1")
            bspec = model.blocks.get(name)
            mandatory = bspec.mandatory_mask if bspec is not None else 0
            if mandatory >= 1 << 64:
                return None
            index = block_index[block] = len(blocks)
            blocks.append(
                (
                    name,
                    mandatory,
                    _first_number(bspec) if bspec is not None else 999,
                    bspec is not None and bspec.parent is not None,
                    name == EMPLOYEE,
                )
            )
        field = FIELD_HOOKS.get(hook) if hook is not None else None
        if hook is None:
            kind = mod.HOOK_NONE
        elif hook is Hooks._nir:
            kind = mod.HOOK_NIR
        elif field is not None:
            kind = mod.HOOK_FIELD
        else:
            kind = mod.HOOK_PYTHON
        flags, automaton, low, high = value_check(spec)
        number = -1
        if automaton is not None:
            number = automaton_index.get(id(automaton), -1)
            if number < 0:
                number = automaton_index[id(automaton)] = len(automata)
                automata.append(
                    (automaton.classes, automaton.nclasses, automaton.table, automaton.accept)
                )
        entries.append(
            (key, index, num, bit.bit_length() - 1, kind, field, flags, number, low, high)
        )
    names = list(block_index)  # in index order
    return mod.Table(entries, blocks, automata, MAX_LINE), block_index, names
