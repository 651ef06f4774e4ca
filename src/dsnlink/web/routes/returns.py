"""Retours: the return files kept locally (AEE/ARE, CCO/BAN, CRM 94...), a parsed view whose
anomalies point at the DSN's line and rubrique, and the raw file as Net-entreprises sent it.

Pages under ``/retours``, JSON under ``/api/v1/returns``; ``declarations`` or ``payslips``,
like ``dsnlink returns list``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from dsnlink.accounts.rights import Operation
from dsnlink.errors import DsnlinkError
from dsnlink.pipeline import listings
from dsnlink.setup import App
from dsnlink.store.records import User
from dsnlink.web.deps import render, require, services_dependency
from dsnlink.web.routes._ledger import SIRET_PATTERN, PageNumber, PerPage, error_responses
from dsnlink.web.schemas import listing_json

pages = APIRouter(tags=["Retours (pages)"], include_in_schema=False)
api = APIRouter(
    prefix="/returns", tags=["Retours"], responses=error_responses(400, 401, 403, 404, 422)
)

Reader = Annotated[User, Depends(require(Operation.RETURNS_READ))]
AppDep = Annotated[App, Depends(services_dependency)]
KINDS = ["AEE", "ARE", "CCO", "BAN", "CRM94", "other"]
KIND_LABELS = {
    "AEE": "Accusé d'enregistrement (AEE)",
    "ARE": "Avis de rejet (ARE)",
    "CCO": "Certificat de conformité (CCO)",
    "BAN": "Bilan d'anomalies (BAN)",
    "CRM94": "CRM 94 : taux PAS de la DGFiP",
    "other": "Autre compte rendu",
}


class ReturnRow(BaseModel):
    idflux: str
    nature: str
    ops: str
    return_id: str
    kind: str | None
    status: str
    ok: bool | None
    anomalies: int
    blocking: int
    published_at: str | None
    fetched_at: str | None
    envoi_id: str | None
    siret: str | None
    month: str | None
    size: int


class ReturnPage(BaseModel):
    items: list[ReturnRow]
    total: int
    page: int
    per_page: int
    pages: int


class ParsedReturn(BaseModel):
    #: The row as stored.
    stored: ReturnRow
    #: The parsed document (``dsnlink returns show --json``), or None if it could not be read.
    document: dict[str, Any] | None
    #: Why it could not be read, in French.
    unreadable: str | None = None


def _parsed(app: App, idflux: str, nature: str, ops: str) -> tuple[dict[str, Any], Any, str | None]:
    from dsnlink.returns import parse

    row, content = listings.return_content(app.db, idflux, nature, ops)
    try:
        document = parse(content, nature=int(nature) if nature.isdigit() else None)
    except DsnlinkError as exc:
        return row, None, exc.message
    return row, document, None


OpsQuery = Annotated[str, Query(max_length=64, description="Organisme (vide le plus souvent).")]


@api.get("", response_model=ReturnPage, summary="Les retours conservés, du plus récent")
def list_returns(
    user: Reader,
    app: AppDep,
    kind: Annotated[str | None, Query(description="AEE, ARE, CCO, BAN, CRM94, other")] = None,
    idflux: Annotated[str | None, Query(max_length=50)] = None,
    siret: Annotated[str | None, Query(pattern=SIRET_PATTERN)] = None,
    with_anomalies: bool = False,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> Response:
    return listing_json(
        listings.returns(
            app.db,
            kind=kind,
            idflux=idflux,
            siret=siret,
            with_anomalies=with_anomalies,
            page=page,
            per_page=per_page,
        ).to_dict()
    )


@api.get("/{idflux}/{nature}", response_model=ParsedReturn, summary="Un retour, lu")
def get_return(
    idflux: str, nature: str, user: Reader, app: AppDep, ops: OpsQuery = ""
) -> dict[str, Any]:
    row, document, unreadable = _parsed(app, idflux, nature, ops)
    return {
        "stored": row,
        "document": document.to_dict() if document is not None else None,
        "unreadable": unreadable,
    }


def _raw(app: App, idflux: str, nature: str, ops: str) -> Response:
    _, content = listings.return_content(app.db, idflux, nature, ops)
    safe = "".join(
        c for c in f"retour-{idflux}-{nature}{'-' + ops if ops else ''}" if c.isalnum() or c in "-_"
    )
    return Response(
        content,
        media_type="application/xml",
        headers={
            "Content-Disposition": f'attachment; filename="{safe}.xml"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@api.get(
    "/{idflux}/{nature}/raw",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "Le fichier retour."}},
    summary="Le fichier retour tel que Net-entreprises l'a envoyé",
)
def get_raw(idflux: str, nature: str, user: Reader, app: AppDep, ops: OpsQuery = "") -> Response:
    return _raw(app, idflux, nature, ops)


# --- pages ------------------------------------------------------------------------------------


@pages.get("/retours", response_class=HTMLResponse)
def returns_page(
    request: Request,
    user: Reader,
    app: AppDep,
    type: Annotated[str | None, Query(max_length=10)] = None,
    idflux: Annotated[str | None, Query(max_length=50)] = None,
    siret: Annotated[str | None, Query(max_length=14)] = None,
    anomalies: Annotated[str | None, Query(max_length=3)] = None,
    page: PageNumber = 1,
) -> Response:
    result = listings.returns(
        app.db,
        kind=type or None,
        idflux=idflux or None,
        siret=siret or None,
        with_anomalies=bool(anomalies),
        page=page,
    )
    filters = {
        "type": type or "",
        "idflux": idflux or "",
        "siret": siret or "",
        "anomalies": anomalies or "",
    }
    return render(
        request,
        "returns/list.html",
        user=user,
        result=result,
        filters=filters,
        kinds=KIND_LABELS,
    )


@pages.get("/retours/{idflux}/{nature}", response_class=HTMLResponse)
def return_page(
    request: Request, idflux: str, nature: str, user: Reader, app: AppDep, ops: OpsQuery = ""
) -> Response:
    row, document, unreadable = _parsed(app, idflux, nature, ops)
    return render(
        request,
        "returns/detail.html",
        user=user,
        row=row,
        doc=document,
        unreadable=unreadable,
        kinds=KIND_LABELS,
    )


@pages.get("/retours/{idflux}/{nature}/brut")
def raw_page(idflux: str, nature: str, user: Reader, app: AppDep, ops: OpsQuery = "") -> Response:
    return _raw(app, idflux, nature, ops)
