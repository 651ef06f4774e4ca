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
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None

# Very short values would mask ordinary words; the API allows such passwords, so they are
# still caught by key, just not by value.
_MIN_VALUE_LEN = 4


def register_secret(value: str | None) -> None:
    """Mask this exact value in every text redacted from now on."""
    global _pattern
    if not value or len(value) < _MIN_VALUE_LEN:
        return
    with _lock:
        if value in _values:
            return
        _values.add(value)
        variants = sorted(_values, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(v) for v in variants))


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def redact_text(text: str) -> str:
    text = _DSNLOGIN.sub(r"\1" + MASK, text)
    text = _MOTDEPASSE_XML.sub(r"\1" + MASK + r"\3", text)
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return text


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
