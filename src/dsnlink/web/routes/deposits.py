"""Dépôts: upload a DSN file, read its check report, deposit it (test first or not); the list of
envois with their state, idflux and AEE/ARE; one envoi's detail with its history and returns.

Pages under ``/depots``, the same operations under ``/api/v1/deposits``; both need the
``declarations`` right, like ``dsnlink deposit`` and ``dsnlink status``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from dsnlink.accounts.rights import Operation
from dsnlink.errors import DsnlinkError, InvalidInput
from dsnlink.pipeline import listings
from dsnlink.pipeline.context import Pipeline
from dsnlink.pipeline.intake import Intake, receive
from dsnlink.pipeline.model import CheckResult
from dsnlink.pipeline.months import MONTH_PATTERN, check_month
from dsnlink.pipeline.sql import SqlLedger
from dsnlink.pipeline.states import LABELS, EnvoiState
from dsnlink.pipeline.views import envoi_detail
from dsnlink.setup import App
from dsnlink.store.records import User
from dsnlink.web.deps import render, require, services_dependency
from dsnlink.web.routes import _uploads as uploads
from dsnlink.web.routes._ledger import (
    SIRET_PATTERN,
    PageNumber,
    PerPage,
    error_responses,
    run_due,
    status_of,
    web_pipeline,
)
from dsnlink.web.schemas import listing_json

pages = APIRouter(tags=["Dépôts (pages)"], include_in_schema=False)
api = APIRouter(
    prefix="/deposits",
    tags=["Dépôts"],
    responses=error_responses(400, 401, 403, 404, 409, 413, 422, 502),
)

Declarant = Annotated[User, Depends(require(Operation.DEPOSITS_READ))]
Depositor = Annotated[User, Depends(require(Operation.DEPOSITS_MAKE))]
AppDep = Annotated[App, Depends(services_dependency)]
TestFirst = Literal["policy", "yes", "no"]
_TEST_FIRST: dict[str, bool | None] = {"policy": None, "yes": True, "no": False}


# --- models of the JSON API -------------------------------------------------------------------


class FindingOut(BaseModel):
    code: str
    severity: str
    message: str
    line: int | None = None
    rubrique: str | None = None


class DeclarationOut(BaseModel):
    siret: str
    month: str
    nature: str
    type: str
    test: bool
    employees: int
    #: Why this declaration could not be deposited by the person (no identity...), if so.
    problem: str | None = None


class CheckReport(BaseModel):
    name: str
    size: int
    sha256: str
    blocking: bool
    depositable: bool
    findings: list[FindingOut]
    declarations: list[DeclarationOut]


class DepositRow(BaseModel):
    id: str
    file: str
    siret: str
    employer: str | None
    month: str
    nature: str
    type: str
    test: bool
    role: str
    state: str
    state_label: str
    idflux: str | None
    answer: str | None
    answer_anomalies: int | None
    attempts: int
    error: str | None
    error_message: str | None
    created_at: str | None
    deposited_at: str | None
    updated_at: str | None


class DepositPage(BaseModel):
    items: list[DepositRow]
    total: int
    page: int
    per_page: int
    pages: int
    counts: dict[str, int]


class EventOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    at: str
    from_: str | None = Field(default=None, alias="from")
    to: str
    to_label: str
    actor: str
    detail: str


class ReturnOut(BaseModel):
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
    envoi_id: str | None
    size: int


class FileOut(BaseModel):
    id: str
    name: str
    size: int
    sha256: str
    received_at: str | None
    acting_login: str
    blocking: bool
    source: str
    findings: list[FindingOut]


class DepositDetail(BaseModel):
    envoi: DepositRow
    file: FileOut
    events: list[EventOut]
    returns: list[ReturnOut]


class RunOut(BaseModel):
    ran: bool
    steps: int
    listed: int


class IntakeOut(BaseModel):
    file: str
    message: str
    already_received: bool
    blocking: bool
    findings: list[FindingOut]
    envois: list[DepositRow]
    run: RunOut


# --- shared logic -----------------------------------------------------------------------------


def _finding(f: Any) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity,
        "message": f.message,
        "line": f.line,
        "rubrique": f.rubrique,
    }


def check_report(
    pipeline: Pipeline, data: bytes, *, name: str, login: str
) -> tuple[dict[str, Any], CheckResult | None]:
    """The check of ``data`` as the person will deposit it; nothing is recorded."""
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    try:
        result = pipeline.checker.check(data)
    except DsnlinkError as exc:  # not a DSN at all
        report = {
            "name": name,
            "size": len(data),
            "sha256": sha,
            "blocking": True,
            "depositable": False,
            "findings": [
                {
                    "code": exc.code,
                    "severity": "bloquant",
                    "message": exc.message,
                    "line": None,
                    "rubrique": None,
                }
            ],
            "declarations": [],
        }
        return report, None
    declarations = []
    for d in result.declarations:
        problem = None
        try:
            pipeline.identities.choose(d.declared_siret, login)
        except DsnlinkError as exc:
            problem = exc.message + (f" {exc.remedy}" if exc.remedy else "")
        declarations.append(
            {
                "siret": d.declared_siret,
                "month": d.month,
                "nature": d.nature,
                "type": d.type,
                "test": d.is_test,
                "employees": len(d.employees),
                "problem": problem,
            }
        )
    blocking = result.blocking or not result.declarations
    report = {
        "name": name,
        "size": len(data),
        "sha256": sha,
        "blocking": blocking,
        "depositable": not blocking and all(d["problem"] is None for d in declarations),
        "findings": [_finding(f) for f in result.findings if f.severity != "information"],
        "declarations": declarations,
    }
    return report, result


def _deposit(
    request: Request,
    app: App,
    user: User,
    data: bytes,
    *,
    name: str,
    test_first: bool | None,
    force: bool,
) -> dict[str, Any]:
    with web_pipeline(request, app) as pipeline:
        intake = receive(
            pipeline,
            data,
            name=name,
            acting_login=user.login,
            test_first=test_first,
            force=force,
            source="web",
        )
        run = (
            run_due(app, pipeline)
            if intake.envois and not intake.already_received
            else {"ran": False, "steps": 0, "listed": 0}
        )
    return _intake_out(app, intake, run)


def _intake_out(app: App, intake: Intake, run: dict[str, Any]) -> dict[str, Any]:
    ids = [e.id for e in intake.envois]
    rows = listings.deposits(app.db, ids=ids, per_page=listings.MAX_PER_PAGE).items if ids else []
    return {
        "file": intake.file.name,
        "message": intake.message,
        "already_received": intake.already_received,
        "blocking": intake.file.blocking,
        "findings": [_finding(f) for f in intake.file.findings if f.severity != "information"],
        "envois": rows,
        "run": run,
    }


def _detail(app: App, envoi_id: str) -> dict[str, Any]:
    detail = envoi_detail(SqlLedger(app.db), envoi_id)  # NotFound for an unknown id
    (row,) = listings.deposits(app.db, ids=[envoi_id]).items
    return {
        "envoi": row,
        "file": listings.file_of(app.db, envoi_id),
        "events": detail["events"],
        "returns": detail["returns"],
    }


def _states(values: list[str] | None) -> list[EnvoiState] | None:
    if not values:
        return None
    try:
        return [EnvoiState(v) for v in values if v]
    except ValueError as exc:
        raise InvalidInput(
            "État de dépôt inconnu.", remedy="Choisissez un état dans la liste."
        ) from exc


# --- JSON API ---------------------------------------------------------------------------------

StateQuery = Annotated[
    list[EnvoiState] | None, Query(description="Seulement les dépôts dans ces états.")
]
SiretQuery = Annotated[str | None, Query(pattern=SIRET_PATTERN, description="SIRET déclaré.")]
MonthQuery = Annotated[str | None, Query(pattern=MONTH_PATTERN, description="Mois MM/AAAA.")]


@api.get("", response_model=DepositPage, summary="Les dépôts, du plus récent au plus ancien")
def list_deposits(
    user: Declarant,
    app: AppDep,
    state: StateQuery = None,
    siret: SiretQuery = None,
    month: MonthQuery = None,
    idflux: Annotated[str | None, Query(max_length=50)] = None,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> Response:
    result = listings.deposits(
        app.db,
        states=state,
        siret=siret,
        month=month,
        idflux=idflux,
        page=page,
        per_page=per_page,
        counts=True,
    )
    return listing_json({**result.to_dict(), "counts": result.counts})


@api.post(
    "/check",
    max_body_size=uploads.MAX_BODY_BYTES,
    response_model=CheckReport,
    summary="Contrôler un fichier DSN sans rien enregistrer ni déposer",
)
async def check_file(
    request: Request,
    user: Depositor,
    app: AppDep,
    file: Annotated[UploadFile, File(description="Le fichier DSN.")],
) -> dict[str, Any]:
    data = await uploads.read_limited(file)
    name = uploads.file_name(file)
    with web_pipeline(request, app) as pipeline:
        report, _ = check_report(pipeline, data, name=name, login=user.login)
    return report


@api.post(
    "",
    max_body_size=uploads.MAX_BODY_BYTES,
    response_model=IntakeOut,
    status_code=201,
    summary="Contrôler puis déposer un fichier DSN (jamais deux fois)",
)
async def deposit_file(
    request: Request,
    user: Depositor,
    app: AppDep,
    file: Annotated[UploadFile, File(description="Le fichier DSN.")],
    test_first: Annotated[
        TestFirst, Form(description="Déposer d'abord en test : policy (règle de l'employeur).")
    ] = "policy",
    force: Annotated[bool, Form(description="Même si une DSN réelle existe déjà.")] = False,
) -> dict[str, Any]:
    from starlette.concurrency import run_in_threadpool

    data = await uploads.read_limited(file)
    name = uploads.file_name(file)
    return await run_in_threadpool(
        _deposit,
        request,
        app,
        user,
        data,
        name=name,
        test_first=_TEST_FIRST[test_first],
        force=force,
    )


@api.post("/run", response_model=RunOut, summary="Faire avancer les dépôts et relever les retours")
def run_now(request: Request, user: Depositor, app: AppDep) -> dict[str, Any]:
    with web_pipeline(request, app) as pipeline:
        return run_due(app, pipeline, sync=True)


@api.get("/{envoi_id}", response_model=DepositDetail, summary="Un dépôt : historique et retours")
def get_deposit(envoi_id: str, user: Declarant, app: AppDep) -> dict[str, Any]:
    return _detail(app, envoi_id)


# --- pages ------------------------------------------------------------------------------------

_STATE_CHOICES = [(s.value, LABELS[s]) for s in EnvoiState]


@pages.get("/depots", response_class=HTMLResponse)
def deposits_page(
    request: Request,
    user: Declarant,
    app: AppDep,
    etat: Annotated[str | None, Query()] = None,
    siret: Annotated[str | None, Query(max_length=14)] = None,
    mois: Annotated[str | None, Query(max_length=7)] = None,
    idflux: Annotated[str | None, Query(max_length=50)] = None,
    page: PageNumber = 1,
    releve: Annotated[int | None, Query(ge=-1)] = None,
) -> Response:
    states = _states([etat] if etat else None)
    month = check_month(mois)
    result = listings.deposits(
        app.db,
        states=states,
        siret=siret or None,
        month=month,
        idflux=idflux or None,
        page=page,
        counts=True,
    )
    filters = {"etat": etat or "", "siret": siret or "", "mois": mois or "", "idflux": idflux or ""}
    return render(
        request,
        "deposits/list.html",
        user=user,
        result=result,
        counts=result.counts,
        labels={s.value: LABELS[s] for s in EnvoiState},
        states=_STATE_CHOICES,
        filters=filters,
        releve=releve,
    )


@pages.get("/depots/nouveau", response_class=HTMLResponse)
def new_deposit_page(request: Request, user: Depositor) -> Response:
    return render(
        request,
        "deposits/new.html",
        user=user,
        error=None,
        max_mb=uploads.MAX_UPLOAD_BYTES // (1024 * 1024),
    )


@pages.post("/depots/controle", response_class=HTMLResponse, max_body_size=uploads.MAX_BODY_BYTES)
async def check_page(
    request: Request,
    user: Depositor,
    app: AppDep,
    fichier: Annotated[UploadFile, File()],
    test_first: Annotated[TestFirst, Form()] = "policy",
) -> Response:
    from starlette.concurrency import run_in_threadpool

    try:
        data = await uploads.read_limited(fichier)
    except InvalidInput as exc:
        return render(
            request,
            "deposits/new.html",
            user=user,
            error=exc,
            max_mb=uploads.MAX_UPLOAD_BYTES // (1024 * 1024),
            status_code=status_of(exc),
        )
    name = uploads.file_name(fichier)

    def work() -> tuple[dict[str, Any], str | None]:
        with web_pipeline(request, app) as pipeline:
            report, _ = check_report(pipeline, data, name=name, login=user.login)
        token = None
        if report["depositable"]:
            token = uploads.stage(app.settings.data_dir, data, name=name, login=user.login).token
        return report, token

    report, token = await run_in_threadpool(work)
    return render(
        request,
        "deposits/check.html",
        user=user,
        report=report,
        token=token,
        test_first=test_first,
        error=None,
    )


@pages.post("/depots/deposer", response_class=HTMLResponse)
def deposit_page(
    request: Request,
    user: Depositor,
    app: AppDep,
    token: Annotated[str, Form(max_length=64)],
    test_first: Annotated[TestFirst, Form()] = "policy",
    force: Annotated[bool, Form()] = False,
) -> Response:
    data_dir = app.settings.data_dir
    try:
        staged, data = uploads.take(data_dir, token, login=user.login)
        out = _deposit(
            request,
            app,
            user,
            data,
            name=staged.name,
            test_first=_TEST_FIRST[test_first],
            force=force,
        )
    except DsnlinkError as exc:
        return render(
            request,
            "deposits/new.html",
            user=user,
            error=exc,
            max_mb=uploads.MAX_UPLOAD_BYTES // (1024 * 1024),
            status_code=status_of(exc),
        )
    uploads.drop(data_dir, token)
    if len(out["envois"]) == 1:
        return RedirectResponse(f"/depots/{out['envois'][0]['id']}", status_code=303)
    return render(request, "deposits/result.html", user=user, out=out)


@pages.post("/depots/releve")
def run_page(request: Request, user: Depositor, app: AppDep) -> Response:
    with web_pipeline(request, app) as pipeline:
        run = run_due(app, pipeline, sync=True)
    listed = run["listed"] if run["ran"] else -1
    return RedirectResponse(f"/depots?releve={listed}", status_code=303)


@pages.get("/depots/{envoi_id}", response_class=HTMLResponse)
def deposit_detail_page(request: Request, envoi_id: str, user: Declarant, app: AppDep) -> Response:
    detail = _detail(app, envoi_id)
    return render(request, "deposits/detail.html", user=user, **detail)
