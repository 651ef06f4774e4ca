"""Taux PAS: per employer and declared month, the rates the DGFiP sent in its CRM 94, the
changes since the previous rate highlighted, the employees of the DSN without a rate (the
default scale applies), and the CSV/JSON export for the payroll.

Pages under ``/taux``, JSON under ``/api/v1/rates``; ``payslips`` or ``declarations``, like
``dsnlink rates``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from dsnlink.accounts.rights import Operation
from dsnlink.errors import NotFound
from dsnlink.pipeline import listings
from dsnlink.pipeline.months import MONTH_PATTERN, check_month
from dsnlink.pipeline.rates import export_rates, rate_row
from dsnlink.setup import App
from dsnlink.store.records import User
from dsnlink.web.deps import render, require, services_dependency
from dsnlink.web.routes._ledger import (
    SIRET_PATTERN,
    PageNumber,
    error_responses,
)
from dsnlink.web.schemas import listing_json

pages = APIRouter(tags=["Taux PAS (pages)"], include_in_schema=False)
api = APIRouter(
    prefix="/rates", tags=["Taux PAS"], responses=error_responses(400, 401, 403, 404, 422)
)

Reader = Annotated[User, Depends(require(Operation.PAS_RATES_READ))]
AppDep = Annotated[App, Depends(services_dependency)]
Format = Literal["csv", "json"]


class RateOut(BaseModel):
    siret: str
    mois: str
    nir: str
    matricule: str | None
    nom: str | None
    taux: str | None
    taux_precedent: str | None
    change: bool
    identifiant_crm: str
    valide_jusqu_au: str
    publie_le: str
    idflux: str


class MonthOut(BaseModel):
    month: str
    count: int
    changed: int


class WithoutRate(BaseModel):
    nir: str
    matricule: str | None
    nom: str | None


class RateTableOut(BaseModel):
    siret: str
    month: str | None
    months: list[MonthOut]
    items: list[RateOut]
    total: int
    page: int
    per_page: int
    pages: int
    without_rate: list[WithoutRate]


def _employers(app: App) -> list[dict[str, str]]:
    # The page's employer choice needs the SIRET and name only, not whole records.
    return listings.employer_choices(app.db)


def _table(
    app: App, siret: str, month: str | None, changes: bool, page: int, per_page: int
) -> dict[str, Any]:
    months = listings.rate_months(app.db, siret)
    month = month or (months[0]["month"] if months else None)
    if month is None:
        return {
            "siret": siret,
            "month": None,
            "months": months,
            "items": [],
            "total": 0,
            "page": 1,
            "per_page": per_page,
            "pages": 1,
            "without_rate": [],
        }
    table = listings.rate_table(
        app.db, siret, month, changes_only=changes, page=page, per_page=per_page
    )
    return {
        "siret": siret,
        "month": month,
        "months": months,
        "items": [rate_row(r) for r in table.rates],
        "total": table.total,
        "page": table.page,
        "per_page": table.per_page,
        "pages": table.pages,
        "without_rate": table.without_rate,
    }


def _export(app: App, siret: str, month: str | None, fmt: str) -> Response:
    months = listings.rate_months(app.db, siret)
    month = month or (months[0]["month"] if months else None)
    if month is None:
        raise NotFound(
            f"Aucun taux PAS reçu pour l'employeur {siret}.",
            remedy="Les taux arrivent avec le CRM 94, quelques jours après le dépôt de la DSN.",
            siret=siret,
        )
    text = export_rates(listings.all_rates(app.db, siret, month), fmt)
    name = f"taux-pas-{siret}-{month.replace('/', '-')}.{fmt}"
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    return Response(
        text.encode("utf-8"),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


SiretRequired = Annotated[str, Query(pattern=SIRET_PATTERN, description="SIRET de l'employeur.")]
MonthQuery = Annotated[
    str | None, Query(pattern=MONTH_PATTERN, description="Mois déclaré MM/AAAA (défaut : dernier).")
]


@api.get("", response_model=RateTableOut, summary="Les taux PAS d'un employeur pour un mois")
def get_rates(
    user: Reader,
    app: AppDep,
    siret: SiretRequired,
    month: MonthQuery = None,
    changes: Annotated[bool, Query(description="Seulement les taux qui ont changé.")] = False,
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 100,
) -> Response:
    return listing_json(_table(app, siret, month, changes, page, per_page))


@api.get(
    "/export",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {}, "application/json": {}},
            "description": "Les taux pour la paie.",
        }
    },
    summary="Exporter les taux PAS (CSV séparé par « ; », ou JSON)",
)
def export(
    user: Reader,
    app: AppDep,
    siret: SiretRequired,
    month: MonthQuery = None,
    format: Format = "csv",
) -> Response:
    return _export(app, siret, month, format)


# --- pages ------------------------------------------------------------------------------------


@pages.get("/taux-pas", response_class=HTMLResponse)
def rates_page(
    request: Request,
    user: Reader,
    app: AppDep,
    siret: Annotated[str | None, Query(max_length=14)] = None,
    mois: Annotated[str | None, Query(max_length=7)] = None,
    changements: Annotated[str | None, Query(max_length=3)] = None,
    page: PageNumber = 1,
) -> Response:
    employers = _employers(app)
    chosen = siret or (employers[0]["siret"] if employers else None)
    table = _table(app, chosen, check_month(mois), bool(changements), page, 100) if chosen else None
    return render(
        request,
        "rates/table.html",
        user=user,
        employers=employers,
        siret=chosen,
        table=table,
        changements=bool(changements),
    )


@pages.get("/taux-pas/export")
def export_page(
    user: Reader,
    app: AppDep,
    siret: Annotated[str, Query(pattern=SIRET_PATTERN)],
    mois: Annotated[str | None, Query(max_length=7)] = None,
    format: Format = "csv",
) -> Response:
    return _export(app, siret, check_month(mois), format)
