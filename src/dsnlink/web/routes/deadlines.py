"""Échéances: per employer, the due date of the monthly DSN (5th or 15th of the next month,
noon) and where it stands: deposited, late, in progress, missing, overdue, to examine.

Page ``/echeances``, JSON ``/api/v1/deadlines``; ``declarations`` or ``payslips``, like
``dsnlink deadlines``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from dsnlink.accounts.rights import Operation
from dsnlink.pipeline import listings
from dsnlink.pipeline.deadlines import PARIS, previous_month
from dsnlink.pipeline.months import MONTH_PATTERN, check_month
from dsnlink.setup import App
from dsnlink.store.records import User
from dsnlink.web.deps import render, require, services_dependency
from dsnlink.web.routes._ledger import error_responses, read_clock
from dsnlink.web.schemas import listing_json

pages = APIRouter(tags=["Échéances (pages)"], include_in_schema=False)
api = APIRouter(
    prefix="/deadlines", tags=["Échéances"], responses=error_responses(400, 401, 403, 422)
)

Reader = Annotated[User, Depends(require(Operation.DEADLINES_READ))]
AppDep = Annotated[App, Depends(services_dependency)]


class DeadlineOut(BaseModel):
    siret: str
    name: str
    month: str
    due: str
    status: str
    label: str
    deposited_at: str | None
    envoi_id: str | None


class DeadlineBoard(BaseModel):
    month: str
    items: list[DeadlineOut]


def _board(request: Request, app: App, month: str | None) -> dict[str, Any]:
    with read_clock(app) as clock:
        now = clock.now()
    month = month or previous_month(now.astimezone(PARIS).date())
    items = listings.deadline_board(
        app.db, month=month, now=now, default_day=app.settings.deadline_day
    )
    return {"month": month, "items": items}


@api.get("", response_model=DeadlineBoard, summary="Échéances de la DSN mensuelle par employeur")
def get_deadlines(
    request: Request,
    user: Reader,
    app: AppDep,
    month: Annotated[
        str | None, Query(pattern=MONTH_PATTERN, description="Mois déclaré (défaut : le dernier).")
    ] = None,
) -> Response:
    return listing_json(_board(request, app, month))


@pages.get("/echeances", response_class=HTMLResponse)
def deadlines_page(
    request: Request,
    user: Reader,
    app: AppDep,
    mois: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    board = _board(request, app, check_month(mois))
    return render(request, "deadlines/board.html", user=user, board=board)
