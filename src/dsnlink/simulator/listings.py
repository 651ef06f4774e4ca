"""Listing bodies: XML (1.0) and JSON (2.0) of deposits and returns.

XML is written as text so that an empty result is exactly ``<retours></retours>`` as on the
platform. JSON lists are arrays unless ``single_as_object`` (some platforms send a bare object
for a list of one element; most clients fail on it, hence off by default).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any
from xml.sax.saxutils import escape

from dsnlink.simulator.store import Row

ReturnUrl = Callable[[str, str], str]


def _group(rows: Sequence[Row], key: str) -> list[tuple[str, list[Row]]]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(str(row[key]), []).append(row)
    return list(groups.items())


def _return_fields(row: Row, stamp: Callable[[float], str], url: ReturnUrl) -> dict[str, str]:
    fields = {
        "publication": stamp(row["publication"]),
        "production": stamp(row["production"]),
        "nature": str(row["nature"]),
        "statut": str(row["statut"]),
        "id": str(row["id"]),
        "url": url(str(row["idflux"]), str(row["id"])),
    }
    if row["ops"]:
        fields["ops"] = str(row["ops"])
    return fields


def _xml_fields(fields: dict[str, str]) -> str:
    return "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())


def returns_xml(rows: Sequence[Row], stamp: Callable[[float], str], url: ReturnUrl) -> bytes:
    parts = ["<retours>"]
    for idflux, items in _group(rows, "idflux"):
        parts.append(f"<flux><id>{escape(idflux)}</id>")
        parts.extend(
            f"<retour>{_xml_fields(_return_fields(r, stamp, url))}</retour>" for r in items
        )
        parts.append("</flux>")
    parts.append("</retours>")
    return "".join(parts).encode("utf-8")


def _maybe_single(items: list[Any], single_as_object: bool) -> Any:
    return items[0] if single_as_object and len(items) == 1 else items


def returns_json(
    rows: Sequence[Row],
    stamp: Callable[[float], str],
    url: ReturnUrl,
    *,
    style: str,
    single_as_object: bool,
) -> bytes:
    retour_key = "Retour" if style == "mock" else "retour"
    flux = [
        {
            "id": idflux,
            retour_key: _maybe_single(
                [_return_fields(r, stamp, url) for r in items], single_as_object
            ),
        }
        for idflux, items in _group(rows, "idflux")
    ]
    body: dict[str, Any] = {"flux": _maybe_single(flux, single_as_object)}
    if style != "mock":
        body = {"retours": body}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _deposit_groups(
    rows: Sequence[Row], stamp: Callable[[float], str]
) -> list[tuple[dict[str, str], list[dict[str, str]]]]:
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for row in rows:
        key = (row["declarant_siret"], row["declarant_nom"], row["declarant_prenom"])
        groups.setdefault(key, []).append(
            {"idflux": row["idflux"], "date": stamp(row["at"]), "statut": row["status"]}
        )
    return [
        ({"siret": siret, "nom": nom, "prenom": prenom}, depots)
        for (siret, nom, prenom), depots in groups.items()
    ]


def deposits_xml(rows: Sequence[Row], stamp: Callable[[float], str]) -> bytes:
    parts = ["<depots>"]
    for who, depots in _deposit_groups(rows, stamp):
        parts.append(f"<declarant>{_xml_fields(who)}")
        parts.extend(f"<depot>{_xml_fields(d)}</depot>" for d in depots)
        parts.append("</declarant>")
    parts.append("</depots>")
    return "".join(parts).encode("utf-8")


def deposits_json(
    rows: Sequence[Row], stamp: Callable[[float], str], *, style: str, single_as_object: bool
) -> bytes:
    declarants = [
        {**who, "depot": _maybe_single(depots, single_as_object)}
        for who, depots in _deposit_groups(rows, stamp)
    ]
    body: dict[str, Any] = {"declarant": _maybe_single(declarants, single_as_object)}
    if style != "mock":
        body = {"depots": body}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
