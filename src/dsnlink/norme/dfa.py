"""The value checks of the norme as deterministic automata over bytes, for the compiled scanner.

The CT patterns are small regular expressions (classes, groups, alternation, counted repeats);
each becomes a DFA whose table C walks one byte at a time, with no backtracking and no call back
into Python. Only the syntax listed in :func:`_Parser.atom` is understood: anything else
(look-arounds, back-references, flags, ``\\b``…) raises :class:`Unsupported`, and the rubrique
keeps its Python ``re`` check (the scanner hands its lines back to Python).

Semantics are those of ``pattern.fullmatch(line, 16, len(line) - 1)`` on ISO-8859-1 bytes:
``^`` never matches there (the value never starts the string), ``$`` matches at the end of the
value only (a value holds no line feed). The tests compare every automaton with ``re``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

#: above this, an automaton is not worth its table: the rubrique keeps its ``re`` check
MAX_STATES = 4000
MAX_NFA = 20_000

_ALL = (1 << 256) - 1
_DIGIT = sum(1 << c for c in b"0123456789")
_SPACE = sum(1 << c for c in b" \t\n\r\x0b\x0c")
_WORD = sum(1 << c for c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_CLASS_ESCAPES = {
    "d": _DIGIT,
    "D": _ALL & ~_DIGIT,
    "s": _SPACE,
    "S": _ALL & ~_SPACE,
    "w": _WORD,
    "W": _ALL & ~_WORD,
}
_CHAR_ESCAPES = {"n": 10, "t": 9, "r": 13, "f": 12, "v": 11, "a": 7}


#: a node of a parsed pattern (see below)
Node = tuple[Any, ...]


class Unsupported(ValueError):
    """A pattern using syntax the automaton builder does not translate."""


@dataclass(frozen=True)
class Dfa:
    """State 0 rejects for good, state 1 is the start. ``classes`` maps each byte to its column
    in ``table`` (``nclasses`` columns of unsigned 16-bit next states per state)."""

    classes: bytes
    nclasses: int
    table: bytes
    accept: bytes

    @property
    def states(self) -> int:
        return len(self.accept)

    def fullmatch(self, value: bytes) -> bool:
        """The automaton run in Python (tests)."""
        state, n = 1, self.nclasses
        for byte in value:
            column = self.classes[byte]
            index = (state * n + column) * 2
            state = self.table[index] | (self.table[index + 1] << 8)
            if state == 0:
                return False
        return bool(self.accept[state])


# --- parsing: pattern → tree ---------------------------------------------------------------
# nodes: ("set", mask) · ("cat", [nodes]) · ("alt", [nodes]) · ("rep", node, lo, hi|None)
#        ("bol",) never matches · ("eol",) end of the value


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0

    def parse(self) -> Node:
        node = self.alternation()
        if self.i != len(self.p):
            raise Unsupported(self.p)
        return node

    def peek(self) -> str:
        return self.p[self.i] if self.i < len(self.p) else ""

    def alternation(self) -> Node:
        branches = [self.concat()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.concat())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def concat(self) -> Node:
        items: list[Node] = []
        while self.peek() not in ("", "|", ")"):
            items.append(self.repeat())
        return ("cat", items)

    def repeat(self) -> Node:
        node = self.atom()
        while True:
            char = self.peek()
            if char in ("*", "+", "?"):
                self.i += 1
                lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
            elif char == "{":
                bounds = self.braces()
                if bounds is None:
                    return node
                lo, hi = bounds
            else:
                return node
            if node[0] in ("bol", "eol"):
                raise Unsupported(self.p)
            if self.peek() == "?":  # lazy: the same language
                self.i += 1
            elif self.peek() == "+":  # possessive: not the same language
                raise Unsupported(self.p)
            node = ("rep", node, lo, hi)

    def braces(self) -> tuple[int, int | None] | None:
        end = self.p.find("}", self.i)
        if end < 0:
            raise Unsupported(self.p)
        body = self.p[self.i + 1 : end]
        low, comma, high = body.partition(",")
        if not (low.isdigit() and low.isascii()) or (
            high and not (high.isdigit() and high.isascii())
        ):
            raise Unsupported(self.p)  # "{,n}" and literal braces: left to re
        self.i = end + 1
        lo = int(low)
        hi = (int(high) if high else None) if comma else lo
        if hi is not None and hi < lo:
            raise Unsupported(self.p)
        return lo, hi

    def atom(self) -> Node:
        char = self.peek()
        self.i += 1
        if char == "(":
            if self.peek() == "?":
                if self.p[self.i : self.i + 2] != "?:":
                    raise Unsupported(self.p)  # look-arounds, flags, named groups
                self.i += 2
            node = self.alternation()
            if self.peek() != ")":
                raise Unsupported(self.p)
            self.i += 1
            return node
        if char == "[":
            return ("set", self.char_class())
        if char == ".":
            return ("set", _ALL)  # the norme's patterns are compiled with DOTALL
        if char == "^":
            return ("bol",)
        if char == "$":
            return ("eol",)
        if char == "\\":
            return ("set", self.escape(in_class=False))
        if char in ("*", "+", "?", "{", ")", ""):
            raise Unsupported(self.p)
        return ("set", _byte_mask(char))

    def escape(self, *, in_class: bool) -> int:
        char = self.peek()
        self.i += 1
        if char in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[char]
        if char in _CHAR_ESCAPES:
            return 1 << _CHAR_ESCAPES[char]
        if char == "x":
            digits = self.p[self.i : self.i + 2]
            if len(digits) != 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise Unsupported(self.p)
            self.i += 2
            return 1 << int(digits, 16)
        if char and not char.isalnum() and char.isascii():
            return 1 << ord(char)
        raise Unsupported(self.p)  # \b \A \Z back-references, octal, unknown letters

    def char_class(self) -> int:
        negate = self.peek() == "^"
        if negate:
            self.i += 1
        mask = 0
        first = True
        while True:
            char = self.peek()
            if char == "":
                raise Unsupported(self.p)
            if char == "]" and not first:
                self.i += 1
                break
            first = False
            if char == "[" or self.p[self.i : self.i + 2] in ("&&", "--", "~~", "||"):
                raise Unsupported(self.p)  # set operations re may warn about
            low = self.class_item()
            if self.peek() == "-" and self.p[self.i + 1 : self.i + 2] not in ("]", ""):
                self.i += 1
                high = self.class_item()
                if low.bit_count() != 1 or high.bit_count() != 1:
                    raise Unsupported(self.p)
                a, b = low.bit_length() - 1, high.bit_length() - 1
                if b < a:
                    raise Unsupported(self.p)
                mask |= ((1 << (b + 1)) - 1) & ~((1 << a) - 1)
            else:
                mask |= low
        return (_ALL & ~mask) if negate else mask

    def class_item(self) -> int:
        char = self.peek()
        self.i += 1
        if char == "\\":
            return self.escape(in_class=True)
        return _byte_mask(char)


def _byte_mask(char: str) -> int:
    code = ord(char)
    if code > 255:
        raise Unsupported(char)
    return 1 << code


# --- tree → NFA → DFA ----------------------------------------------------------------------


class _Nfa:
    """Thompson automaton: per state, byte edges (mask, target), free edges, end-only edges."""

    def __init__(self) -> None:
        self.edges: list[list[tuple[int, int]]] = []
        self.free: list[list[int]] = []
        self.at_end: list[list[int]] = []

    def state(self) -> int:
        if len(self.edges) >= MAX_NFA:
            raise Unsupported("automaton too large")
        self.edges.append([])
        self.free.append([])
        self.at_end.append([])
        return len(self.edges) - 1

    def build(self, node: Node, start: int) -> int:
        """Wire ``node`` from ``start``; return its end state."""
        kind = node[0]
        if kind == "set":
            end = self.state()
            self.edges[start].append((node[1], end))
            return end
        if kind == "cat":
            for item in node[1]:
                start = self.build(item, start)
            return start
        if kind == "alt":
            end = self.state()
            for branch in node[1]:
                entry = self.state()
                self.free[start].append(entry)
                self.free[self.build(branch, entry)].append(end)
            return end
        if kind == "bol":
            return self.state()  # unreachable: ``^`` never matches inside a line
        if kind == "eol":
            end = self.state()
            self.at_end[start].append(end)
            return end
        assert kind == "rep"
        _, inner, lo, hi = node
        for _ in range(lo):
            start = self.build(inner, start)
        if hi is None:
            loop = self.state()
            self.free[start].append(loop)
            self.free[self.build(inner, loop)].append(loop)
            return loop
        end = self.state()
        for _ in range(hi - lo):
            self.free[start].append(end)
            start = self.build(inner, start)
        self.free[start].append(end)
        return end

    def closure(self, states: frozenset[int] | set[int], *, at_end: bool) -> frozenset[int]:
        seen = set(states)
        todo = list(states)
        while todo:
            state = todo.pop()
            nxt = self.free[state] + self.at_end[state] if at_end else self.free[state]
            for target in nxt:
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return frozenset(seen)


def _byte_classes(masks: list[int]) -> tuple[bytes, list[int]]:
    """The coarsest partition of the 256 bytes that every mask respects: (class of each byte,
    one representative byte per class). Refined mask by mask, on 256-bit integers."""
    parts = [_ALL]
    for mask in masks:
        parts = [piece for part in parts for piece in (part & mask, part & ~mask) if piece]
    parts.sort(key=lambda part: part & -part)  # by lowest byte: the same columns every time
    classes = bytearray(256)
    reps: list[int] = []
    for column, part in enumerate(parts):
        reps.append((part & -part).bit_length() - 1)
        while part:
            low = part & -part
            classes[low.bit_length() - 1] = column
            part ^= low
    return bytes(classes), reps


def _determinize(nfa: _Nfa, final: int) -> Dfa:
    masks = sorted({mask for edges in nfa.edges for mask, _target in edges})
    classes, reps = _byte_classes(masks)
    start = nfa.closure({0}, at_end=False)
    ids: dict[frozenset[int], int] = {frozenset(): 0, start: 1}
    order: list[frozenset[int]] = [frozenset(), start]
    rows: list[list[int]] = []
    index = 0
    while index < len(order):
        current = order[index]
        row: list[int] = []
        for byte in reps:
            moved = {t for s in current for mask, t in nfa.edges[s] if mask >> byte & 1}
            target = nfa.closure(moved, at_end=False) if moved else frozenset()
            number = ids.get(target)
            if number is None:
                if len(order) >= MAX_STATES:
                    raise Unsupported("automaton too large")
                number = ids[target] = len(order)
                order.append(target)
            row.append(number)
        rows.append(row)
        index += 1
    accept = bytes(final in nfa.closure(state, at_end=True) for state in order)
    table = b"".join(n.to_bytes(2, "little") for row in rows for n in row)
    return Dfa(classes, len(reps), table, accept)


@cache
def compile_pattern(pattern: str) -> Dfa:
    """The automaton of a ``fullmatch`` of ``pattern`` (a CT pattern, Python ``re`` syntax)."""
    tree = _Parser(pattern).parse()
    nfa = _Nfa()
    nfa.state()
    final = nfa.build(tree, 0)
    return _determinize(nfa, final)


@cache
def compile_words(words: frozenset[bytes]) -> Dfa:
    """The automaton accepting exactly ``words`` (an enumeration): a trie."""
    edges: list[dict[int, int]] = [{}, {}]  # state 0 rejects, state 1 is the root
    accept = bytearray(2)
    for word in sorted(words):
        state = 1
        for byte in word:
            nxt = edges[state].get(byte)
            if nxt is None:
                nxt = len(edges)
                if nxt >= 65_536:
                    raise Unsupported("enumeration too large")
                edges.append({})
                accept.append(0)
                edges[state][byte] = nxt
            state = nxt
        accept[state] = 1
    used = sorted({byte for row in edges for byte in row})
    classes = bytearray(256)  # column 0: the bytes no word uses
    for column, byte in enumerate(used, start=1):
        classes[byte] = column
    n = len(used) + 1
    table = bytearray(2 * n * len(edges))
    for state, row in enumerate(edges):
        for byte, target in row.items():
            index = (state * n + classes[byte]) * 2
            table[index : index + 2] = target.to_bytes(2, "little")
    return Dfa(bytes(classes), n, bytes(table), bytes(accept))
