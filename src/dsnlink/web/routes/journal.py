"""Journal: the audit log (who did what, for whom, when; never a secret), filterable by
account, action, object and dates. Page ``/journal``, JSON ``/api/v1/journal``; the
``administration`` right, like ``dsnlink audit``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from dsnlink.accounts.rights import Operation
from dsnlink.errors import InvalidInput
from dsnlink.pipeline import listings
from dsnlink.pipeline.deadlines import PARIS
from dsnlink.setup import App
from dsnlink.store.records import User
from dsnlink.web.deps import render, require, services_dependency
from dsnlink.web.routes._ledger import PageNumber, PerPage, error_responses
from dsnlink.web.schemas import listing_json

pages = APIRouter(tags=["Journal (pages)"], include_in_schema=False)
api = APIRouter(prefix="/journal", tags=["Journal"], responses=error_responses(400, 401, 403, 422))

Auditor = Annotated[User, Depends(require(Operation.AUDIT_READ))]
AppDep = Annotated[App, Depends(services_dependency)]


class EntryOut(BaseModel):
    id: int
    at: str | None
    actor: str | None
    as_whom: str | None
    action: str
    object_type: str
    object_id: str | None
    detail: dict[str, Any]


class JournalPage(BaseModel):
    items: list[EntryOut]
    total: int
    page: int
    per_page: int
    pages: int


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    """A day (AAAA-MM-JJ, Paris) as the UTC instant it starts (or the next day's, for ``end``)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"Date illisible : « {value} ».", remedy="Écrivez AAAA-MM-JJ.") from exc
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), PARIS).astimezone(UTC)


DayQuery = Annotated[str | None, Query(max_length=10, description="Jour AAAA-MM-JJ.")]
TextQuery = Annotated[str | None, Query(max_length=64)]


@api.get("", response_model=JournalPage, summary="Le journal d'audit, du plus récent")
def get_journal(
    user: Auditor,
    app: AppDep,
    actor: TextQuery = None,
    action: Annotated[str | None, Query(max_length=64, description="Début de l'action.")] = None,
    object_type: TextQuery = None,
    since: DayQuery = None,
    until: DayQuery = None,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> Response:
    found = listings.journal(
        app.db,
        actor=actor,
        action=action,
        object_type=object_type,
        since=_day(since),
        until=_day(until, end=True),
        page=page,
        per_page=per_page,
    ).to_dict()
    return listing_json(found)


@pages.get("/journal", response_class=HTMLResponse)
def journal_page(
    request: Request,
    user: Auditor,
    app: AppDep,
    compte: TextQuery = None,
    action: TextQuery = None,
    objet: TextQuery = None,
    du: DayQuery = None,
    au: DayQuery = None,
    page: PageNumber = 1,
) -> Response:
    result = listings.journal(
        app.db,
        actor=compte or None,
        action=action or None,
        object_type=objet or None,
        since=_day(du),
        until=_day(au, end=True),
        page=page,
    )
    filters = {
        "compte": compte or "",
        "action": action or "",
        "objet": objet or "",
        "du": du or "",
        "au": au or "",
    }
    return render(
        request,
        "journal/list.html",
        user=user,
        result=result,
        filters=filters,
        actions=listings.journal_actions(app.db),
    )
