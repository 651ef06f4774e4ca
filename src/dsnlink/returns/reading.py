"""Entry points: read a return file, or the answer to a deposit."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

from dsnlink.errors import ReturnParseError
from dsnlink.returns import safexml
from dsnlink.returns.model import Anomaly, DepositReport, Envoi, ReturnDocument
from dsnlink.returns.parser import nature_of_type, read_document
from dsnlink.returns.values import ValueReader

#: A return file bigger than this is not a return file (the largest CRMs weigh a few tens of MB).
MAX_BYTES = 512 * 1024 * 1024


def parse(source: bytes | Path, *, nature: int | None = None) -> ReturnDocument:
    """Parse a return file (bytes, or a path to read) into its model.

    The document's nature decides the class: :class:`DepositReport` (10),
    :class:`ConformityReport` (11), :class:`PasRateReport` (94) or :class:`GenericReport`.
    It is read from the root's ``type`` attribute; pass ``nature`` when it is known better
    (the listing of the returns gives it).

    Raises :class:`~dsnlink.errors.ReturnParseError` for anything that is not a readable
    ``rapport`` (with line and column for broken XML), and its subclass
    :class:`~dsnlink.errors.UnsafeXml` for a document declaring a DTD or entities.
    """
    data = _read(source) if isinstance(source, Path) else source
    return read_document(safexml.load(data), nature=nature)


def parse_deposit_report(data: bytes) -> DepositReport:
    """Parse the body of a deposit answer (200: AEE, 422: ARE), XML or JSON.

    The XML form is the one every source shows. The JSON form of the 2.0 deposit path was
    never seen; a JSON body is searched for the same names (``idflux``, ``type``,
    ``envoi_etat``, ``date_reception``…) wherever they sit.

    Raises :class:`~dsnlink.errors.ReturnParseError` when the body is neither an AEE nor an
    ARE, or when an AEE carries no idflux (the deposit could not be followed).
    """
    stripped = safexml.as_bytes(data).lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in {b"{", b"["}:
        report = _deposit_from_json(stripped)
    else:
        document = read_document(safexml.load(data), nature=10)
        if (document.type or "").upper() not in {"AEE", "ARE"}:
            raise ReturnParseError(
                f"La réponse au dépôt n'est ni un accusé d'enregistrement (AEE) ni un avis de "
                f"rejet (ARE) : type « {(document.type or '')[:40]} ».",
                remedy="Consultez le dépôt sur net-entreprises.fr pour connaître son sort.",
                type=document.type,
            )
        assert isinstance(document, DepositReport)
        report = document
    if report.accepted and not report.idflux:
        raise ReturnParseError(
            "L'accusé d'enregistrement ne contient pas d'identifiant de flux (idflux).",
            remedy="Consultez la liste des dépôts sur net-entreprises.fr pour retrouver le flux.",
        )
    return report


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ReturnParseError(
                f"Le fichier « {path.name} » est trop gros pour un fichier retour "
                f"({size // (1024 * 1024)} Mo).",
                remedy="Vérifiez que vous avez choisi le bon fichier.",
            )
        return path.read_bytes()
    except OSError as exc:
        reason = _OS_REASONS.get(type(exc), "erreur du système")
        raise ReturnParseError(
            f"Le fichier « {path} » ne peut pas être lu : {reason}.",
            remedy="Vérifiez le chemin et les droits d'accès au fichier.",
            errno=exc.errno,
        ) from exc


_OS_REASONS: dict[type[OSError], str] = {
    FileNotFoundError: "il n'existe pas",
    IsADirectoryError: "c'est un dossier",
    PermissionError: "accès refusé",
}


# --- the JSON deposit answer -----------------------------------------------------------------


def _deposit_from_json(data: bytes) -> DepositReport:
    try:
        tree = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ReturnParseError(
            "La réponse au dépôt n'est ni du XML ni du JSON lisible.",
            remedy="Consultez le dépôt sur net-entreprises.fr pour connaître son sort.",
        ) from exc
    found: dict[str, Any] = {}
    anomalies: list[dict[str, Any]] = []
    _walk(tree, found, anomalies)
    type_ = (_scalar(found.get("type")) or "").upper()
    state = _scalar(found.get("envoi_etat")) or _scalar(found.get("etat"))
    if type_ not in {"AEE", "ARE"}:
        if state not in {"OK", "KO"}:
            raise ReturnParseError(
                "La réponse JSON au dépôt ne dit pas si le dépôt est accepté.",
                remedy="Consultez le dépôt sur net-entreprises.fr pour connaître son sort.",
            )
        type_ = "AEE" if state == "OK" else "ARE"
    reader = ValueReader()
    envoi = Envoi(
        idflux=_scalar(found.get("idflux")),
        state=state or ("OK" if type_ == "AEE" else "KO"),
        test_or_real=_scalar(found.get("essai_reel")),
        emitter_siret=_scalar(found.get("emetteur_siret")),
        reception_date=reader.day_text(_scalar(found.get("date_reception")), "date_reception"),
        reception_time=reader.time_text(_scalar(found.get("heure_reception")), "heure_reception"),
        anomalies=tuple(
            Anomaly(
                code=_scalar(a.get("code")),
                category=_scalar(a.get("categorie")),
                message=" ".join((_scalar(a.get("message")) or "").split()) or None,
                level="envoi",
            )
            for a in anomalies
        ),
    )
    return DepositReport(
        type=type_,
        nature=nature_of_type(type_),
        envoi=envoi,
        warnings=tuple(reader.warnings),
    )


_WANTED = {"idflux", "type", "envoi_etat", "etat", "essai_reel", "emetteur_siret"}
_WANTED |= {"date_reception", "heure_reception"}


def _walk(tree: Any, found: dict[str, Any], anomalies: list[dict[str, Any]]) -> None:
    """Breadth first, so that a name near the top wins over the same name deeper down."""
    queue: deque[Any] = deque([tree])
    while queue:
        node = queue.popleft()
        if isinstance(node, list):
            queue.extend(node)
        elif isinstance(node, dict):
            lowered = {str(k).lower(): v for k, v in node.items()}
            if "code" in lowered and "message" in lowered:
                anomalies.append(lowered)
            for key, value in lowered.items():
                if isinstance(value, dict | list):
                    queue.append(value)
                elif key in _WANTED and key not in found:
                    found[key] = value


def _scalar(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value).strip() or None
