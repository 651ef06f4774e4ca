"""What travels on the wire, without any I/O: requests to send and answers received.

The sync and async clients share every decision (what to send, how to read the answer); only
the sending differs. These plain values are the boundary between the two halves, so the
protocol code never sees an HTTP library object.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from dsnlink import __version__

#: The User-Agent the portal expects: ``Client-DSN (<software>/<version>; <editor>)``.
USER_AGENT = f"Client-DSN (dsnlink/{__version__}; dsnlink)"

#: Sent on every call, authentication included: a header refusing gzip gets a 406.
ACCEPT_ENCODING = "gzip"


@dataclass(frozen=True, slots=True)
class PortalRequest:
    """One HTTP request to the portal. ``repr`` never shows headers or body (token, password)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    content: bytes = field(default=b"", repr=False)
    #: Which call this is, for errors and logs ("authenticate", "deposit", "list_deposits"...).
    call: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """A complete answer. Header names are lower-case."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = field(default=b"", repr=False)
    #: Whether the request went through a proxy (to tell a proxy's 407 from the portal's).
    via_proxy: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def base_headers() -> dict[str, str]:
    return {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}


def auth_header(token_value: str) -> dict[str, str]:
    return {"Authorization": f"DSNLogin jeton={token_value}"}


_REALM = re.compile(r'realm\s*=\s*"([^"]*)"|realm\s*=\s*([^\s,]+)', re.IGNORECASE)


def realm_of(answer: Answer) -> str | None:
    """The realm of ``WWW-Authenticate``, if any (it tells the 401s apart)."""
    value = answer.header("www-authenticate")
    if not value:
        return None
    match = _REALM.search(value)
    if match is None:
        return None
    return match.group(1) if match.group(1) is not None else match.group(2)


def auth_scheme_of(answer: Answer) -> str | None:
    value = answer.header("www-authenticate")
    if not value or not value.strip():
        return None
    return value.split(None, 1)[0].lower()


_RANGES = re.compile(r"minutes\s*=\s*(\d+)\s*-\s*(\d+)", re.IGNORECASE)


def allowed_minutes(answer: Answer) -> int | None:
    """The widest window announced by ``Accept-Ranges: minutes=0-60``, if any."""
    value = answer.header("accept-ranges")
    if not value:
        return None
    match = _RANGES.search(value)
    if match is None:
        return None
    return int(match.group(2))


def retry_after_seconds(answer: Answer) -> int | None:
    """The wait ``Retry-After`` asks for, in seconds: a number of seconds, or an HTTP date
    taken relative to the answer's own ``Date`` (no clock here); None when absent or
    unreadable."""
    value = (answer.header("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    from email.utils import parsedate_to_datetime

    try:
        until = parsedate_to_datetime(value)
        sent = parsedate_to_datetime(answer.header("date") or "")
    except (TypeError, ValueError):
        return None
    return max(0, int((until - sent).total_seconds()))
