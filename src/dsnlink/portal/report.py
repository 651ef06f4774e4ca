"""Reading the deposit's AEE / ARE, in the XML of version 1.0 or the JSON of version 2.0.

The XML form is the GIP-MDS ``rapport``; the JSON form was never seen in the wild, so it is
read leniently: the same field names anywhere in the document, keys compared without case.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from dsnlink.errors import ReturnParseError, UnsafeXml

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True, slots=True)
class ReportAnomaly:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class DepositReport:
    kind: str  # "AEE" or "ARE"
    idflux: str
    accepted: bool
    received_at: datetime | None
    anomalies: tuple[ReportAnomaly, ...]
    test: bool | None


def safe_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML: no DTD, no entities, no network."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data.removeprefix(b"\xef\xbb\xbf"), parser)
    except etree.XMLSyntaxError as exc:
        raise ReturnParseError(detail=str(exc)[:200]) from exc
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeXml()
    return root


def _local(tag: object) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _xml_fields(root: etree._Element) -> Iterator[tuple[str, str, etree._Element]]:
    for el in root.iter():
        name = _local(el.tag)
        if name:
            yield name, (el.text or "").strip(), el


def _json_fields(node: Any, parent: str = "") -> Iterator[tuple[str, str, str]]:
    """(key, text, parent key) of every scalar in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            lowered = str(key).lower()
            if isinstance(value, dict | list):
                yield from _json_fields(value, lowered)
            else:
                yield lowered, "" if value is None else str(value).strip(), parent
    elif isinstance(node, list):
        for item in node:
            yield from _json_fields(item, parent)


def _received(day: str, hour: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(hour), PARIS)
    except ValueError:
        return None


def _build(kind: str, fields: dict[str, str], anomalies: list[ReportAnomaly]) -> DepositReport:
    idflux = fields.get("idflux", "")
    if not idflux or len(idflux) > 50:
        raise ReturnParseError("L'accusé de dépôt ne contient pas d'identifiant de flux valide.")
    state = fields.get("envoi_etat", "").upper()
    kind = kind.upper() or ("AEE" if state == "OK" else "ARE")
    accepted = state == "OK" if state else kind == "AEE"
    essai = fields.get("essai_reel", "")
    return DepositReport(
        kind=kind,
        idflux=idflux,
        accepted=accepted,
        received_at=_received(fields.get("date_reception", ""), fields.get("heure_reception", "")),
        anomalies=tuple(anomalies),
        test={"01": True, "02": False}.get(essai),
    )


def parse_deposit_answer(data: bytes) -> DepositReport:
    """The AEE or ARE of a deposit answer, XML or JSON."""
    stripped = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if stripped.startswith((b"{", b"[")):
        try:
            doc = json.loads(stripped)
        except ValueError as exc:
            raise ReturnParseError(detail="invalid JSON") from exc
        fields: dict[str, str] = {}
        anomalies: list[ReportAnomaly] = []
        pending: dict[str, str] = {}
        kind = ""
        for key, text, parent in _json_fields(doc):
            if key in ("code", "message") and parent in ("description", "envoi_anomalie"):
                pending[key] = text
                if "code" in pending and "message" in pending:
                    anomalies.append(ReportAnomaly(pending["code"], pending["message"]))
                    pending = {}
            elif key in ("type", "@type") and text.upper() in ("AEE", "ARE"):
                kind = text
            else:
                fields.setdefault(key, text)
        return _build(kind, fields, anomalies)
    root = safe_xml(stripped)
    if _local(root.tag) != "rapport":
        raise ReturnParseError("Ce document n'est pas un accusé de dépôt (rapport AEE/ARE).")
    fields = {}
    anomalies = []
    for name, text, el in _xml_fields(root):
        if name == "description":
            code = message = ""
            for child in el:
                if _local(child.tag) == "code":
                    code = (child.text or "").strip()
                elif _local(child.tag) == "message":
                    message = (child.text or "").strip()
            anomalies.append(ReportAnomaly(code, message))
        else:
            fields.setdefault(name, text)
    return _build(str(root.get("type", "")), fields, anomalies)
