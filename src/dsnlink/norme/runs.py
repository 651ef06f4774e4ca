"""One regular expression per shape of a run of lines: the value checks of a whole employee in
one C call.

A run's shape is the sequence of its rubrique identifiers. Its expression is the concatenation,
line after line, of each rubrique's own check (the same pattern, length, characters and, for
dates, the calendar), so that it matches the run's lines joined by line feeds exactly when every
line would pass the line-by-line checks without a finding. Patterns whose meaning would change
once embedded (anchors other than ``^``, back-references, inline flags) make the shape
unsuitable: its runs are checked line by line.
"""

from __future__ import annotations

import re

from dsnlink.norme.norm import ALLOWED, IDENTITY, NEVER, RubriqueSpec

#: the end of a value: its closing apostrophe, then the end of the line
_END = rb"'(?:\n|\Z)"
#: JJMMAAAA, a day that exists (what ``checks.is_calendar_date`` accepts)
CALENDAR = (
    rb"(?:(?:0[1-9]|1[0-9]|2[0-8])(?:0[1-9]|1[0-2])[0-9]{4}"
    rb"|(?:29|30)(?:0[13-9]|1[0-2])[0-9]{4}"
    rb"|31(?:0[13578]|1[02])[0-9]{4}"
    rb"|2902(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00))"
)
_UNSAFE_ESCAPES = frozenset(b"AZbBG123456789")


class Unsuitable(ValueError):
    """A rubrique whose check cannot be embedded in a larger expression unchanged."""


def embeddable(pattern: str) -> bytes:
    """``pattern`` rewritten to mean the same in the middle of a line: ``$`` (the end of the
    value when matched alone) becomes a look-ahead on the closing apostrophe."""
    out = bytearray()
    data = pattern.encode("latin-1")
    index, in_class = 0, False
    while index < len(data):
        char = data[index]
        if char == 0x5C:  # backslash: copy the escape whole
            escaped = data[index + 1 : index + 2]
            if not in_class and escaped and escaped[0] in _UNSAFE_ESCAPES:
                raise Unsuitable(pattern)
            out += data[index : index + 2]
            index += 2
            continue
        if in_class:
            in_class = char != 0x5D  # "]"
        elif char == 0x5B:  # "["
            in_class = True
            # a "]" right after "[" or "[^" is a literal member of the class
            if data[index + 1 : index + 2] == b"^":
                out.append(char)
                index += 1
                char = data[index]
            if data[index + 1 : index + 2] == b"]":
                out.append(char)
                index += 1
                char = data[index]
        elif char == 0x24:  # "$"
            out += b"(?=" + _END + b")"
            index += 1
            continue
        elif char == 0x28 and data[index + 1 : index + 2] == b"?":
            if data[index + 2 : index + 3] not in (b":", b"=", b"!", b"<"):
                raise Unsuitable(pattern)  # inline flags, named groups, conditionals
            if data[index + 2 : index + 4] == b"<" and data[index + 3 : index + 4] not in (
                b"=",
                b"!",
            ):
                raise Unsuitable(pattern)
        out.append(char)
        index += 1
    return bytes(out)


def value_check(spec: RubriqueSpec) -> bytes:
    """The check of one value, to be followed by its closing apostrophe (see ``_matcher``)."""
    if spec.matcher is NEVER:
        return rb"(?!)"
    length = rb"(?=[^\n]{%d,%d}" % (spec.min, spec.max) + _END + b")"
    if spec.enum:
        return b"(?:" + b"|".join(re.escape(v.encode("latin-1")) for v in sorted(spec.enum)) + b")"
    date = b"(?=" + CALENDAR + _END + b")" if spec.type == "D" else b""
    if spec.pattern is not None:
        return date + length + b"(?:" + embeddable(spec.pattern.pattern.decode("latin-1")) + b")"
    if spec.charset == "identity":
        return length + IDENTITY
    if spec.type == "N":
        return length + rb"-?[0-9]+(?:\.[0-9]+)?"
    if spec.type == "D":
        return date + rb"[0-9]{8}"
    return rb"(?! )[" + ALLOWED + rb"]{%d,%d}(?<! )" % (spec.min, spec.max)


def compile_run(specs: list[RubriqueSpec], known: set[int]) -> re.Pattern[bytes]:
    """The expression of a run of lines with these rubriques, joined by line feeds. Lines at
    the positions in ``known`` are only required to look like lines: the caller looks them up
    among the lines known valid (their values repeat; big enumerations compile slowly)."""
    parts = [
        re.escape(spec.rid.encode())
        + b",'"
        + (rb"[^\n]*" if index in known else value_check(spec))
        + b"'"
        for index, spec in enumerate(specs)
    ]
    return re.compile(b"\n".join(parts), re.DOTALL)
