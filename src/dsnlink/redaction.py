"""Keeping secrets out of every text dsnlink writes.

Two nets. By key: any mapping key that looks like a secret (password, token, motdepasse,
jeton, authorization, secret, key) has its value replaced. By value: code that handles a
secret in clear registers it with :func:`register_secret`; from then on :func:`redact` masks
that exact value wherever it appears (log lines, exception text, exports). The value registry
holds the secrets of this process only, which are already in its memory anyway.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

MASK = "***"

_SECRET_KEY = re.compile(
    r"pass(word|wd)?|motdepasse|mot_de_passe|secret|token|jeton|authori[sz]ation|"
    r"master_?key|api_?key|cookie|credential",
    re.IGNORECASE,
)
# Authorization headers of the API-DSN, whatever the token looks like.
_DSNLOGIN = re.compile(r"(DSNLogin\s+(?:jeton|concentrateur)=)[^\s,\"']+", re.IGNORECASE)
_MOTDEPASSE_XML = re.compile(r"(<motdepasse>)(.*?)(</motdepasse>)", re.IGNORECASE | re.DOTALL)

_lock = threading.Lock()


class _Bucket:
    """The registered values that share one prefix, grouped by length (longest tried first).

    Many values may share a prefix (tokens with a common header): grouping by length keeps a
    lookup to one set membership test per distinct length, whatever the number of values.
    """

    __slots__ = ("by_length", "lengths")

    def __init__(self) -> None:
        self.by_length: dict[int, set[str]] = {}
        self.lengths: tuple[int, ...] = ()

    def add(self, value: str) -> bool:
        group = self.by_length.get(len(value))
        if group is None:
            self.by_length[len(value)] = {value}
            self.lengths = tuple(sorted((*self.lengths, len(value)), reverse=True))
            return True
        if value in group:
            return False
        group.add(value)
        return True

    def longest_at(self, text: str, start: int) -> int:
        """End of the longest registered value found at ``start``, or -1."""
        for length in self.lengths:
            if text[start : start + length] in self.by_length[length]:
                return start + length
        return -1


# Registered values indexed by their first _MIN_VALUE_LEN characters. Registering is O(1) (no
# pattern to rebuild, which made N registrations cost O(N²)). A scan either searches the text
# for each prefix (C-speed substring tests: best for few secrets) or looks up each window of
# the text in this dict (cost bound by the text's length, whatever the number of secrets).
# Writers hold the lock; readers need none (lists only grow, length tuples are swapped whole).
_by_prefix: dict[str, _Bucket] = {}
_prefixes: list[str] = []
_count = 0
# Up to this many prefixes (and twice the text's length), searching each prefix is cheaper
# than visiting each window of the text.
_PREFIX_SEARCH_MAX = 2_000

# Very short values would mask ordinary words; the API allows such passwords, so they are
# still caught by key, just not by value.
_MIN_VALUE_LEN = 4


def register_secret(value: str | None) -> None:
    """Mask this exact value in every text redacted from now on."""
    if not value or len(value) < _MIN_VALUE_LEN:
        return
    _register(value)
    if not value.isascii():
        # redact() reads bytes as latin-1: a UTF-8 secret (accents) shows up that way there.
        _register(value.encode("utf-8").decode("latin-1"))


def _register(value: str) -> None:
    global _count
    prefix = value[:_MIN_VALUE_LEN]
    with _lock:
        bucket = _by_prefix.get(prefix)
        if bucket is None:
            bucket = _Bucket()
            bucket.add(value)
            _by_prefix[prefix] = bucket
            _prefixes.append(prefix)
            _count += 1
        elif bucket.add(value):
            _count += 1


def registered_count() -> int:
    """How many values are registered (for diagnostics and benchmarks)."""
    return _count


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def _mask_registered(text: str) -> str:
    index = _by_prefix
    width = _MIN_VALUE_LEN
    if not index or len(text) < width:
        return text
    n_prefixes = len(_prefixes)
    if _prefix_search_is_cheaper(n_prefixes, len(text)):
        starts = sorted(i for prefix in _prefixes[:n_prefixes] for i in _find_all(text, prefix))
    else:
        starts = [i for i in range(len(text) - width + 1) if text[i : i + width] in index]
    if not starts:
        return text
    # Union of every occurrence, overlapping ones included, so that no part of a secret
    # survives next to another one.
    spans: list[list[int]] = []
    for i in starts:
        end = index[text[i : i + width]].longest_at(text, i)
        if end < 0:
            continue
        if spans and i <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([i, end])
    if not spans:
        return text
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        pieces.append(text[position:start])
        pieces.append(MASK)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _prefix_search_is_cheaper(n_prefixes: int, text_len: int) -> bool:
    return n_prefixes <= _PREFIX_SEARCH_MAX and n_prefixes <= 2 * text_len


def _find_all(text: str, needle: str) -> list[int]:
    found: list[int] = []
    i = text.find(needle)
    while i >= 0:
        found.append(i)
        i = text.find(needle, i + 1)
    return found


def redact_text(text: str) -> str:
    text = _DSNLOGIN.sub(r"\1" + MASK, text)
    text = _MOTDEPASSE_XML.sub(r"\1" + MASK + r"\3", text)
    return _mask_registered(text)


def redact(value: Any) -> Any:
    """A copy of ``value`` with secrets masked, recursively through mappings and sequences."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(value.decode("latin-1")).encode("latin-1")
    if isinstance(value, Mapping):
        return {
            k: (MASK if isinstance(k, str) and is_secret_key(k) and v else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    if isinstance(value, BaseException):
        return redact_text(str(value))
    return value
