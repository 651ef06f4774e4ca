"""Listing answers (XML 1.0, JSON 2.0) normalised to the same records.

The JSON form is not settled: GIP-MDS's mock answers ``{"flux":[{"id":…,"Retour":[…]}]}``, a
production client of the sister API reads ``{"retours":{"flux":[…]}}``, and a list of one element
may come back as a bare object. Keys are compared without case and every shape is accepted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from lxml import etree

from dsnlink.errors import ProtocolError, ReturnParseError
from dsnlink.returns import safexml

#: The time zone the platform writes its timestamps in (assumed; not stated by GIP-MDS).
PARIS = ZoneInfo("Europe/Paris")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DepositRecord:
    """One deposit of the declarant, as the deposit listing gives it."""

    idflux: str
    deposited_at: datetime | None
    status: str
    siret: str | None = None


@dataclass(frozen=True, slots=True)
class ReturnRecord:
    """One return file available on the platform."""

    idflux: str
    return_id: str
    nature: str
    status: str
    published_at: datetime | None
    produced_at: datetime | None
    url: str
    ops: str | None = None
    delegataire: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.idflux, self.return_id)


def parse_stamp(text: str | None, tz: ZoneInfo) -> datetime | None:
    """``yyyyMMddHHmmss`` (or ISO 8601) in the portal's time zone; ``None`` when absent/odd."""
    if not text:
        return None
    text = text.strip()
    try:
        if len(text) == 14 and text.isdigit():
            # Sliced by hand: strptime costs more than the rest of a listing's parsing.
            return datetime(
                int(text[:4]),
                int(text[4:6]),
                int(text[6:8]),
                int(text[8:10]),
                int(text[10:12]),
                int(text[12:]),
                tzinfo=tz,
            )
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


# --- shape normalisation --------------------------------------------------------------------


def _lower_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_lower_keys(v) for v in node]
    return node


def _as_list(node: Any) -> list[Any]:
    if node is None or node == "":
        return []
    return node if isinstance(node, list) else [node]


def _text(node: Any) -> str | None:
    if node is None:
        return None
    if isinstance(node, dict):  # {"#text": …} or {"$": …} conversions of XML
        for key in ("#text", "$", "value"):
            if key in node:
                return _text(node[key])
        return None
    text = str(node).strip()
    return text or None


def _xml_to_tree(element: etree._Element) -> Any:
    """An XML element as nested dicts of lower-case local names; repeated names become lists."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        return (element.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        name = etree.QName(child.tag).localname.lower()
        value = _xml_to_tree(child)
        if name in out:
            existing = out[name]
            out[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            out[name] = value
    return out


def _document(body: bytes, call: str) -> tuple[str, Any]:
    """(root name, tree) of a listing answer, XML or JSON alike."""
    data = body.removeprefix(b"\xef\xbb\xbf").strip()
    if not data:
        return "", {}
    try:
        if data.startswith((b"{", b"[")):
            doc = _lower_keys(json.loads(data))
            if isinstance(doc, dict) and len(doc) == 1:
                ((name, inner),) = doc.items()
                if name in ("retours", "depots"):
                    return name, inner if inner not in (None, "") else {}
            return "", doc
        root = safexml.load(data)
        return etree.QName(root.tag).localname.lower(), _xml_to_tree(root)
    except (ValueError, ReturnParseError) as exc:
        raise ProtocolError(
            "La liste renvoyée par Net-entreprises est illisible (tronquée ou mal formée).",
            call=call,
        ) from exc


def _expect_mapping(node: Any, call: str) -> dict[str, Any]:
    if node == "" or node is None:
        return {}
    if not isinstance(node, dict):
        raise ProtocolError(
            "La liste renvoyée par Net-entreprises a une forme inattendue.", call=call
        )
    return node


def parse_returns(body: bytes, tz: ZoneInfo, call: str = "list_returns") -> list[ReturnRecord]:
    _root, tree = _document(body, call)
    if isinstance(tree, list):  # a bare list of flux
        tree = {"flux": tree}
    top = _expect_mapping(tree, call)
    records: list[ReturnRecord] = []
    for flux in _as_list(top.get("flux")):
        flux = _expect_mapping(flux, call)
        idflux = _text(flux.get("id")) or _text(flux.get("idflux")) or ""
        for item in _as_list(flux.get("retour")):
            item = _expect_mapping(item, call)
            return_id = _text(item.get("id")) or ""
            url = _text(item.get("url")) or ""
            if not idflux or not return_id:
                raise ProtocolError(
                    "Un retour listé par Net-entreprises n'a pas d'identifiant.", call=call
                )
            records.append(
                ReturnRecord(
                    idflux=idflux,
                    return_id=return_id,
                    nature=_text(item.get("nature")) or "",
                    status=_text(item.get("statut")) or "",
                    published_at=parse_stamp(_text(item.get("publication")), tz),
                    produced_at=parse_stamp(_text(item.get("production")), tz),
                    url=url,
                    ops=_text(item.get("ops")),
                    delegataire=_text(item.get("delegataire")),
                )
            )
    return records


def parse_deposits(body: bytes, tz: ZoneInfo, call: str = "list_deposits") -> list[DepositRecord]:
    _root, tree = _document(body, call)
    if isinstance(tree, list):
        tree = {"declarant": tree}
    top = _expect_mapping(tree, call)
    records: list[DepositRecord] = []
    for declarant in _as_list(top.get("declarant")):
        declarant = _expect_mapping(declarant, call)
        siret = _text(declarant.get("siret"))
        for item in _as_list(declarant.get("depot")):
            item = _expect_mapping(item, call)
            idflux = _text(item.get("idflux"))
            if not idflux:
                raise ProtocolError(
                    "Un dépôt listé par Net-entreprises n'a pas d'idflux.", call=call
                )
            records.append(
                DepositRecord(
                    idflux=idflux,
                    deposited_at=parse_stamp(_text(item.get("date")), tz),
                    status=_text(item.get("statut")) or "",
                    siret=siret,
                )
            )
    return records


def unique(records: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """Records in order, without the repeats that adjacent windows may both list."""
    seen: set[Hashable] = set()
    out: list[T] = []
    for record in records:
        k = key(record)
        if k not in seen:
            seen.add(k)
            out.append(record)
    return out
