"""The API-DSN routes, with the checks of GIP-MDS's mock in its order: encoding (415/406) and
path or field format (400/422), then authorization (401/403), then the window (429), then the
business answer.
"""

from __future__ import annotations

import asyncio
import re
import zlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from lxml import etree
from starlette.requests import Request

from dsnlink.simulator.accounts import AuthOutcome, Identity
from dsnlink.simulator.clock import from_paris_stamp
from dsnlink.simulator.http import Reply, accepts_gzip, empty, expires_in, media_type
from dsnlink.simulator.listings import deposits_json, deposits_xml, returns_json, returns_xml
from dsnlink.simulator.service import Caller, Simulator
from dsnlink.simulator.store import Row
from dsnlink.simulator.tokens import parse_authorization

Handler = Callable[[Simulator, Request, tuple[str, ...]], Awaitable[Reply]]

BASIC_REALM = 'Basic realm="net-entreprises.fr"'
EXPIRED_REALM = 'Basic realm="Expiration du mot de passe"'
TOKEN_REALM = 'DSNLogin realm="Jeton manquant ou invalide"'  # noqa: S105 - a realm
UNREGISTERED_REALM = 'DSNLogin realm="Utilisateur non-inscrit au service"'
MAX_IDFLUX = 50
MAX_RETURN_ID = 10

_V = r"(1\.0|2\.0)"
_SEG = r"([^/]+)"
#: (method, path pattern, route name); a trailing slash is optional everywhere.
ROUTE_TABLE: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"^/authentifier/(1\.0)/?$"), "authenticate"),
    ("POST", re.compile(rf"^/deposer-dsn/{_V}/?$"), "deposit"),
    ("GET", re.compile(rf"^/lister-depots/{_V}/{_SEG}(?:/{_SEG})?/?$"), "list_deposits"),
    ("GET", re.compile(rf"^/lister-retours-flux/{_V}/{_SEG}/?$"), "list_flow_returns"),
    (
        "GET",
        re.compile(rf"^/lister-retours-declarant/{_V}/{_SEG}(?:/{_SEG})?/?$"),
        "list_declarant_returns",
    ),
    ("GET", re.compile(rf"^/telecharger-retour/{_V}/{_SEG}/{_SEG}/?$"), "download"),
)

_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False
)
_FIELDS = {"siret": (14, 14), "nom": (1, 64), "prenom": (1, 39), "motdepasse": (1, 30)}


def parse_identifiants(body: bytes) -> tuple[int, dict[str, str]]:
    """(0, fields) or (400 | 422, partial fields) for an authentication body."""
    try:
        root = etree.fromstring(body, _SAFE_PARSER)
    except etree.XMLSyntaxError:
        return 400, {}
    if root.getroottree().docinfo.doctype:  # type: ignore[union-attr]
        return 400, {}
    fields: dict[str, str] = {}
    for child in root:
        if isinstance(child.tag, str):
            name = etree.QName(child).localname
            text = child.text or ""
            fields[name] = text if name == "motdepasse" else text.strip()
    if etree.QName(root).localname != "identifiants":
        return 422, fields
    for name, (low, high) in _FIELDS.items():
        if not low <= len(fields.get(name, "")) <= high:
            return 422, fields
    if not 1 <= len(fields.get("service", "")) <= 2:
        return 422, fields
    return 0, fields


async def authenticate(sim: Simulator, request: Request, _: tuple[str, ...]) -> Reply:
    if media_type(request) not in ("application/xml", "text/xml"):
        return empty(415)
    if accepts_gzip(request) is False:
        return empty(406)
    status, fields = parse_identifiants(await request.body())
    identity = None
    if {"siret", "nom", "prenom"} <= fields.keys():
        identity = Identity(fields["siret"], fields["nom"], fields["prenom"])
    if status:
        sim.record_attempt(identity, fields.get("service"), f"malformed:{status}")
        return empty(status)
    assert identity is not None
    outcome, token = sim.authenticate(identity, fields["motdepasse"], fields["service"])
    if outcome is AuthOutcome.LOCKED:
        return empty(403)
    if outcome is AuthOutcome.PASSWORD_EXPIRED:
        return empty(401, WWW_Authenticate=EXPIRED_REALM)
    if token is None:
        return empty(401, WWW_Authenticate=BASIC_REALM)
    return Reply(
        200,
        token.encode("ascii"),
        "application/octet-stream",
        {"Expires": expires_in(sim.now(), sim.config.expires_header_seconds)},
    )


def _authorize(sim: Simulator, request: Request) -> Caller | Reply:
    credentials = parse_authorization(request.headers.get("authorization"))
    if credentials is None:
        return empty(401, WWW_Authenticate=TOKEN_REALM)
    verdict, caller = sim.authorize(credentials)
    if verdict == "unregistered":
        return empty(401, WWW_Authenticate=UNREGISTERED_REALM)
    if caller is None:
        return empty(401, WWW_Authenticate=TOKEN_REALM)
    return caller


def _answer_type(version: str) -> str:
    # GIP-MDS's mock labels the same XML application/json on the 2.0 path.
    return "application/json" if version == "2.0" else "application/xml"


async def deposit(sim: Simulator, request: Request, params: tuple[str, ...]) -> Reply:
    version = params[0]
    if media_type(request) != "text/plain":
        return empty(415)
    if request.headers.get("content-encoding", "").strip().lower() != "gzip":
        return empty(415)
    if accepts_gzip(request) is False:
        return empty(406)
    body = _gunzip(await request.body(), sim.config.max_deposit_bytes)
    if isinstance(body, Reply):
        return body
    if not body:
        return empty(422)
    caller = _authorize(sim, request)
    if isinstance(caller, Reply):
        return caller
    # Reading and validating a large file takes a while: keep the event loop serving others.
    answer = await asyncio.to_thread(sim.deposit, caller, body, version)
    return Reply(200 if answer.accepted else 422, answer.document, _answer_type(version))


def _gunzip(data: bytes, limit: int) -> bytes | Reply:
    """The deposited file; 400 when not gzip, 413 past ``limit`` (a gzip bomb stops there)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(data, limit + 1)
        if len(body) > limit:
            return empty(413)
        if not inflater.eof:
            return empty(400)
    except zlib.error:
        return empty(400)
    return body


def _window(params: tuple[str, ...], now: datetime) -> tuple[datetime, datetime] | None:
    try:
        start = from_paris_stamp(params[1])
        end = from_paris_stamp(params[2]) if params[2] else now
    except ValueError:
        return None
    return (start, end) if start <= end else None


def _listing_headers(sim: Simulator, window: int | None = None) -> dict[str, str]:
    headers = {
        "Cache-Control": "no-cache",
        "Expires": expires_in(sim.now(), sim.config.expires_header_seconds),
    }
    if window is not None:
        headers["Accept-Ranges"] = f"minutes=0-{window}"
    return headers


async def _windowed(
    sim: Simulator, request: Request, params: tuple[str, ...], *, deposits: bool
) -> Reply | tuple[Caller, datetime, datetime, dict[str, str]]:
    if accepts_gzip(request) is False:
        return empty(406)
    bounds = _window(params, sim.now())
    if bounds is None:
        return empty(422)
    caller = _authorize(sim, request)
    if isinstance(caller, Reply):
        return caller
    config = sim.config
    if deposits:
        minutes = config.deposit_window_minutes
    elif caller.concentrator_only:
        minutes = config.concentrator_window_minutes
    else:
        minutes = config.declarant_window_minutes
    headers = _listing_headers(sim, minutes)
    start, end = bounds
    if end - start > timedelta(minutes=minutes):
        return Reply(429, headers={"Accept-Ranges": headers["Accept-Ranges"]})
    return caller, start, end, headers


async def list_deposits(sim: Simulator, request: Request, params: tuple[str, ...]) -> Reply:
    checked = await _windowed(sim, request, params, deposits=True)
    if isinstance(checked, Reply):
        return checked
    caller, start, end, headers = checked
    rows = sim.list_deposits(caller, start, end)
    config = sim.config
    if params[0] == "2.0":
        body = deposits_json(
            rows, sim.stamp, style=config.json_style, single_as_object=config.json_single_as_object
        )
    else:
        body = deposits_xml(rows, sim.stamp)
    return Reply(200, body, _answer_type(params[0]), headers)


def _url_maker(sim: Simulator, request: Request) -> Callable[[str, str], str]:
    base = (sim.config.public_base_url or str(request.base_url)).rstrip("/")
    return lambda idflux, return_id: f"{base}/telecharger-retour/1.0/{idflux}/{return_id}"


def _returns_body(sim: Simulator, request: Request, version: str, rows: list[Row]) -> bytes:
    url = _url_maker(sim, request)
    if version == "2.0":
        return returns_json(
            rows,
            sim.stamp,
            url,
            style=sim.config.json_style,
            single_as_object=sim.config.json_single_as_object,
        )
    return returns_xml(rows, sim.stamp, url)


async def list_declarant_returns(
    sim: Simulator, request: Request, params: tuple[str, ...]
) -> Reply:
    checked = await _windowed(sim, request, params, deposits=False)
    if isinstance(checked, Reply):
        return checked
    caller, start, end, headers = checked
    rows = sim.declarant_returns(caller, start, end)
    return Reply(
        200, _returns_body(sim, request, params[0], rows), _answer_type(params[0]), headers
    )


async def list_flow_returns(sim: Simulator, request: Request, params: tuple[str, ...]) -> Reply:
    if accepts_gzip(request) is False:
        return empty(406)
    idflux = params[1]
    if len(idflux) > MAX_IDFLUX:
        return empty(422)
    caller = _authorize(sim, request)
    if isinstance(caller, Reply):
        return caller
    rows = sim.flow_returns(caller, idflux)
    if rows is None:
        return empty(404)
    body = _returns_body(sim, request, params[0], rows)
    return Reply(200, body, _answer_type(params[0]), _listing_headers(sim))


async def download(sim: Simulator, request: Request, params: tuple[str, ...]) -> Reply:
    if accepts_gzip(request) is False:
        return empty(406)
    _, idflux, return_id = params
    if len(idflux) > MAX_IDFLUX or len(return_id) > MAX_RETURN_ID:
        return empty(422)
    caller = _authorize(sim, request)
    if isinstance(caller, Reply):
        return caller
    found = sim.download(caller, idflux, return_id)
    if found is None:
        return empty(404)
    content_type, content = found
    return Reply(200, content, content_type, _listing_headers(sim))


HANDLERS: dict[str, Handler] = {
    "authenticate": authenticate,
    "deposit": deposit,
    "list_deposits": list_deposits,
    "list_flow_returns": list_flow_returns,
    "list_declarant_returns": list_declarant_returns,
    "download": download,
}


def match_route(method: str, path: str) -> tuple[str | None, tuple[str, ...], bool]:
    """(route name, path parameters, path known for another method)."""
    other_method = False
    for route_method, pattern, name in ROUTE_TABLE:
        found = pattern.match(path)
        if found is None:
            continue
        if route_method != method:
            other_method = True
            continue
        return name, tuple(g or "" for g in found.groups()), False
    return None, (), other_method
