"""Reading the values of a return file: text, integers, decimals, dates, times.

A value that cannot be read becomes ``None`` and a French sentence in ``warnings``: one bad
value never costs the rest of the file.
"""

from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal

from lxml import etree

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})")


def is_integer(text: str) -> bool:
    return bool(_INTEGER.fullmatch(text))


#: Namespaces of the return files' elements (the schema's, and the same without its slash).
NAMESPACES = ("http://www.gip-mds.fr/", "http://www.gip-mds.fr")


def local_name(element: etree._Element) -> str | None:
    """The name of an element without namespace or in the GIP-MDS one; ``None`` for anything
    else (an element of another namespace is an unknown element, a comment is no element)."""
    tag = element.tag
    if not isinstance(tag, str):
        return None
    if tag[:1] != "{":
        return tag
    namespace, _, name = tag[1:].partition("}")
    return name if namespace in NAMESPACES else None


def text(element: etree._Element) -> str | None:
    """The element's text, blanks around removed; ``None`` when absent or blank."""
    raw = element.text
    if raw is None:
        return None
    return raw.strip() or None


def collapsed(element: etree._Element) -> str | None:
    """The element's text with every run of blanks made one space (messages, certificates)."""
    raw = element.text
    return " ".join(raw.split()) or None if raw else None


class ValueReader:
    """Converts values; collects warnings instead of failing on a bad one."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self._decimals: dict[str, Decimal] = {}

    # -- values --------------------------------------------------------------------------

    def _bad(self, name: str, text: str) -> None:
        shown = text if len(text) <= 40 else text[:40] + "…"
        self.warnings.append(f"Valeur illisible pour « {name} » : « {shown} » (ignorée).")

    def integer(self, element: etree._Element, name: str) -> int | None:
        return self.integer_text(text(element), name)

    def integer_text(self, text: str | None, name: str) -> int | None:
        if text is None:
            return None
        if _INTEGER.fullmatch(text) and len(text) <= 18:
            return int(text)
        self._bad(name, text)
        return None

    def decimal(self, element: etree._Element, name: str) -> Decimal | None:
        return self.decimal_text(text(element), name)

    def decimal_text(self, text: str | None, name: str) -> Decimal | None:
        if text is None:
            return None
        # A CRM repeats a few hundred distinct rates over thousands of employees.
        known = self._decimals.get(text)
        if known is not None:
            return known
        if _DECIMAL.fullmatch(text) and len(text) <= 32:
            value = Decimal(text)
            if len(self._decimals) < 10_000:
                self._decimals[text] = value
            return value
        self._bad(name, text)
        return None

    def day(self, element: etree._Element, name: str) -> date | None:
        return self.day_text(text(element), name)

    def day_text(self, text: str | None, name: str) -> date | None:
        if text is None:
            return None
        match = _DATE.match(text)  # a time zone suffix, allowed by xs:date, is ignored
        if match:
            try:
                year, month, day = (int(g) for g in match.groups())
                return date(year, month, day)
            except ValueError:
                pass
        self._bad(name, text)
        return None

    def moment(self, element: etree._Element, name: str) -> time | None:
        return self.time_text(text(element), name)

    def time_text(self, text: str | None, name: str) -> time | None:
        if text is None:
            return None
        match = _TIME.match(text)
        if match:
            try:
                hour, minute, second = (int(g) for g in match.groups())
                return time(hour, minute, second)
            except ValueError:
                pass
        self._bad(name, text)
        return None
