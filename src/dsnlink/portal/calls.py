"""The listing and download calls without I/O: requests, answers, and window stepping.

Window listings accept at most 60 minutes per call (the portal says so in
``Accept-Ranges: minutes=0-60`` and answers 429 past it). :class:`WindowWalk` covers any period
by stepping windows of the allowed width; after a 429 it shrinks to the announced width and asks
again for the same window, which is a corrected request, not a blind retry. A 429 without
``Accept-Ranges`` is rate limiting (:class:`dsnlink.errors.RateLimited`), retried after its
``Retry-After`` by the client like a 503.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from dsnlink.errors import InvalidInput
from dsnlink.portal.answers import error_for
from dsnlink.portal.endpoints import Endpoints
from dsnlink.portal.identity import Token
from dsnlink.portal.listings import (
    DepositRecord,
    ReturnRecord,
    parse_deposits,
    parse_returns,
    unique,
)
from dsnlink.portal.wire import Answer, PortalRequest, allowed_minutes, auth_header, base_headers

LIST_DEPOSITS = "list_deposits"
LIST_FLOW_RETURNS = "list_flow_returns"
LIST_DECLARANT_RETURNS = "list_declarant_returns"
DOWNLOAD = "download"

_IDFLUX = re.compile(r"[A-Za-z0-9.]{1,50}")
_STAMP = "%Y%m%d%H%M%S"
R = TypeVar("R")
#: One listing window: start, and end (``None``: the server's now).
Window = tuple[datetime, datetime | None]


def stamp(moment: datetime, tz: ZoneInfo) -> str:
    """A path timestamp; a naive datetime is taken as already in the portal's time zone."""
    local = moment.astimezone(tz) if moment.tzinfo else moment
    return local.strftime(_STAMP)


def _get(url: str, token: Token, call: str) -> PortalRequest:
    return PortalRequest("GET", url, {**base_headers(), **auth_header(token.value)}, call=call)


def check_idflux(idflux: str) -> str:
    if not _IDFLUX.fullmatch(idflux):
        raise InvalidInput(
            "Identifiant de flux invalide : 1 à 50 lettres, chiffres ou points.",
            remedy="Vérifiez l'idflux indiqué sur l'accusé de dépôt.",
            idflux=idflux[:60],
        )
    return idflux


def flow_returns_request(endpoints: Endpoints, token: Token, idflux: str) -> PortalRequest:
    url = endpoints.consultation_url("lister-retours-flux", check_idflux(idflux))
    return _get(url, token, LIST_FLOW_RETURNS)


def read_flow_returns(answer: Answer, tz: ZoneInfo) -> list[ReturnRecord]:
    if answer.status != 200:
        raise error_for(answer, call=LIST_FLOW_RETURNS, data_404=True)
    return parse_returns(answer.body, tz, LIST_FLOW_RETURNS)


def download_request(endpoints: Endpoints, token: Token, url: str) -> PortalRequest:
    """A GET of a listed return file; the token only ever goes to the portal's own hosts."""
    absolute = urljoin(endpoints.consultation_base + "/", url)
    parts = urlsplit(absolute)
    base_scheme = urlsplit(endpoints.consultation_base).scheme
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", base_scheme) or host not in endpoints.download_hosts:
        raise InvalidInput(
            "L'adresse de téléchargement n'appartient pas à Net-entreprises : le jeton n'y est "
            "pas envoyé.",
            remedy="Ajoutez l'hôte à DSNLINK_PORTAL_DOWNLOAD_HOSTS s'il est légitime.",
            host=host,
        )
    return _get(absolute, token, DOWNLOAD)


def download_error(answer: Answer) -> Exception:
    return error_for(answer, call=DOWNLOAD, data_404=True)


def read_download(answer: Answer) -> bytes:
    """The content of a return file fetched in memory (see ``fetch`` of the clients)."""
    if answer.status != 200:
        raise download_error(answer)
    return answer.body


@dataclass
class WindowWalk(Generic[R]):
    """Steps ``[start, end)`` in windows the portal accepts; ``end=None`` means the server's now.

    The driver loops: ``window = walk.next_window()``, send ``walk.request(...)``, then
    ``walk.feed(window, answer)``, until ``next_window()`` returns ``None``.
    """

    call: str
    service: str
    start: datetime
    end: datetime | None
    width: int
    tz: ZoneInfo
    parse: Callable[[bytes, ZoneInfo, str], list[R]]
    key: Callable[[R], object]
    now: datetime = field(default_factory=lambda: datetime.now().astimezone())
    records: list[R] = field(default_factory=list)
    #: The width announced by the portal, once seen.
    announced: int | None = None
    _cursor: datetime | None = None

    def __post_init__(self) -> None:
        self.start = self._aware(self.start)
        self.end = self._aware(self.end) if self.end is not None else None
        self._cursor = self.start
        if self.end is not None and self.end < self.start:
            raise InvalidInput("La fin de la période précède son début.")

    def _aware(self, moment: datetime) -> datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=self.tz)

    def next_window(self) -> Window | None:
        cursor = self._cursor
        if cursor is None:
            return None
        limit = self.end if self.end is not None else self.now
        if cursor >= limit and not (self.end is None and cursor == self.start):
            return None
        stop = cursor + timedelta(minutes=self.width)
        if stop >= limit:
            # Last window: an open end lets the server use its own "now".
            return (cursor, self.end)
        return (cursor, stop)

    def request(self, endpoints: Endpoints, token: Token, window: Window) -> PortalRequest:
        parts = [stamp(window[0], self.tz)]
        if window[1] is not None:
            parts.append(stamp(window[1], self.tz))
        return _get(endpoints.consultation_url(self.service, *parts), token, self.call)

    def feed(self, window: Window, answer: Answer) -> None:
        announced = allowed_minutes(answer)
        if answer.status == 429 and announced and announced < self.width:
            self.width = announced  # same window again, narrower
            self.announced = announced
            return
        if answer.status != 200:
            raise error_for(answer, call=self.call)
        if announced:
            self.announced = announced
            self.width = announced
        found = self.parse(answer.body, self.tz, self.call)
        self.records = unique([*self.records, *found], self.key)
        self._cursor = window[1]


def deposits_walk(
    start: datetime, end: datetime | None, width: int, tz: ZoneInfo
) -> WindowWalk[DepositRecord]:
    return WindowWalk(
        LIST_DEPOSITS, "lister-depots", start, end, width, tz, parse_deposits, lambda r: r.idflux
    )


def declarant_returns_walk(
    start: datetime, end: datetime | None, width: int, tz: ZoneInfo
) -> WindowWalk[ReturnRecord]:
    return WindowWalk(
        LIST_DECLARANT_RETURNS,
        "lister-retours-declarant",
        start,
        end,
        width,
        tz,
        parse_returns,
        lambda r: r.key,
    )
