"""Employeurs: the SIRETs declared for, their due day and "test first" option (the pipeline's
policy, :mod:`dsnlink.pipeline.policies`), the users who may declare for each and with which
Net-entreprises identity. Seeing them needs ``configuration`` or ``declarations``
(a declarant sees the employers they are linked to); changing them needs ``configuration``.
Every check is the account service's (:mod:`dsnlink.accounts.employers`), as for the CLI.

Pages under ``/employeurs``, JSON under ``/api/v1/employers``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from dsnlink.accounts.employers import EmployerView
from dsnlink.accounts.rights import Operation, allowed
from dsnlink.errors import DsnlinkError, InvalidInput
from dsnlink.pipeline import listings, policies
from dsnlink.setup import App
from dsnlink.store.records import Environment, User
from dsnlink.web.deps import render, require, services_dependency
from dsnlink.web.routes._ledger import SIRET_PATTERN, PageNumber, error_responses, status_of

pages = APIRouter(tags=["Employeurs (pages)"], include_in_schema=False)
api = APIRouter(
    prefix="/employers",
    tags=["Employeurs"],
    responses=error_responses(400, 401, 403, 404, 409, 422),
)

Viewer = Annotated[User, Depends(require(Operation.EMPLOYERS_LIST))]
Admin = Annotated[User, Depends(require(Operation.EMPLOYERS_MANAGE))]
AppDep = Annotated[App, Depends(services_dependency)]

STATE_LABELS = {
    "untested": "non testée",
    "ok": "OK",
    "wrong_credentials": "identifiants refusés",
    "password_expired": "mot de passe expiré",
    "not_registered": "non inscrit au service DSN",
    "locked": "compte bloqué",
    "failing": "erreur réseau ou service",
}


class IdentityOut(BaseModel):
    owner: str
    environment: str
    siret: str
    nom: str
    prenom: str
    #: Shown to holders of ``declarations`` only (the state of credentials is theirs to see).
    state: str | None = None
    state_label: str | None = None


class LinkOut(BaseModel):
    login: str
    display_name: str
    #: The identity fixed for this employer; None: the user's own, chosen at deposit time.
    identity: IdentityOut | None


class EmployerOut(BaseModel):
    siret: str
    name: str
    due_day: int = Field(description="Jour d'échéance en vigueur (celui des échéances).")
    test_first: bool
    links: list[LinkOut]


class PolicyIn(BaseModel):
    due_day: int = Field(description="Jour d'échéance : 5 ou 15 (ou celui de l'installation).")
    test_first: bool = Field(description="Déposer d'abord en test, puis le réel si le test passe.")


class PolicyOut(BaseModel):
    siret: str
    due_day: int
    test_first: bool


class EmployerIn(BaseModel):
    siret: str = Field(pattern=SIRET_PATTERN, description="SIRET (14 chiffres).")
    name: str = Field(min_length=1, max_length=200)
    due_day: int = Field(default=15, description="Jour d'échéance : 5 ou 15.")


class LinkIn(BaseModel):
    identity_owner: str | None = Field(
        default=None, max_length=64, description="Compte dont l'identité est utilisée."
    )
    environment: Environment | None = None


#: Employers per page of ``/employeurs`` (the API lists them all).
PER_PAGE = 50


def employer_views(app: App, user: User) -> list[dict[str, Any]]:
    rows, _users = _views(app, user, app.accounts.employers.list(user))
    return rows


def _views(
    app: App, user: User, views: list[EmployerView]
) -> tuple[list[dict[str, Any]], dict[int, User]]:
    """The rows of ``views`` and every user by id (read once: the page's choices of accounts
    come from the same read)."""
    found = policies.policies(app.db)
    default_day = app.settings.deadline_day
    sees_state = allowed(user, Operation.IDENTITY_SHOW, own=False)
    with app.store.read() as r:
        users = {u.id: u for u in r.users.all()}
        identities = {i.id: i for i in r.identities.all()}
    out = []
    for view in views:
        links = []
        for link in view.links:
            member = users.get(link.user_id)
            if member is None:
                continue
            identity = identities.get(link.identity_id) if link.identity_id else None
            ident = None
            if identity is not None:
                owner = users.get(identity.owner_user_id)
                ident = {
                    "owner": owner.login if owner else "?",
                    "environment": identity.environment.value,
                    "siret": identity.siret,
                    "nom": identity.nom,
                    "prenom": identity.prenom,
                    "state": identity.state.value if sees_state else None,
                    "state_label": STATE_LABELS.get(identity.state.value) if sees_state else None,
                }
            links.append(
                {"login": member.login, "display_name": member.display_name, "identity": ident}
            )
        employer = view.employer
        policy = found.get(employer.siret)
        out.append(
            {
                "siret": employer.siret,
                "name": employer.name,
                "due_day": policies.due_day_in_force(policy, employer.due_day, default_day),
                "test_first": policy.test_first if policy else False,
                "links": links,
            }
        )
    return out, users


# --- JSON API ---------------------------------------------------------------------------------


@api.get("", response_model=list[EmployerOut], summary="Les employeurs et qui déclare pour eux")
def list_employers(user: Viewer, app: AppDep) -> list[dict[str, Any]]:
    return employer_views(app, user)


@api.post("", response_model=EmployerOut, status_code=201, summary="Ajouter un employeur")
def add_employer(body: EmployerIn, user: Admin, app: AppDep) -> dict[str, Any]:
    employer = app.accounts.employers.add(
        user, siret=body.siret, name=body.name, due_day=body.due_day
    )
    return {
        "siret": employer.siret,
        "name": employer.name,
        "due_day": employer.due_day,
        "test_first": False,
        "links": [],
    }


def set_policy(app: App, user: User, siret: str, *, due_day: int, test_first: bool) -> Any:
    from datetime import UTC, datetime

    return policies.set_policy(
        app.store,
        user,
        siret,
        due_day=due_day,
        test_first=test_first,
        default_day=app.settings.deadline_day,
        now=datetime.now(UTC),
    )


@api.put(
    "/{siret}/policy",
    response_model=PolicyOut,
    summary="Changer l'échéance et l'option « test d'abord » d'un employeur",
)
def put_policy(siret: str, body: PolicyIn, user: Admin, app: AppDep) -> dict[str, Any]:
    policy = set_policy(app, user, siret, due_day=body.due_day, test_first=body.test_first)
    return {"siret": siret, "due_day": policy.deadline_day, "test_first": policy.test_first}


@api.delete("/{siret}", status_code=204, summary="Supprimer un employeur")
def delete_employer(siret: str, user: Admin, app: AppDep) -> Response:
    app.accounts.employers.delete(user, siret)
    return Response(status_code=204)


@api.put(
    "/{siret}/links/{login}",
    status_code=204,
    summary="Autoriser un compte à déclarer pour l'employeur",
)
def link_user(siret: str, login: str, body: LinkIn, user: Admin, app: AppDep) -> Response:
    environment = body.environment
    if body.identity_owner and environment is None:
        environment = Environment.SIMULATOR
    app.accounts.employers.link(
        user,
        siret=siret,
        user_login=login,
        identity_owner=body.identity_owner,
        environment=environment,
    )
    return Response(status_code=204)


@api.delete("/{siret}/links/{login}", status_code=204, summary="Retirer ce droit à un compte")
def unlink_user(siret: str, login: str, user: Admin, app: AppDep) -> Response:
    app.accounts.employers.unlink(user, siret=siret, user_login=login)
    return Response(status_code=204)


# --- pages ------------------------------------------------------------------------------------


def _page(
    request: Request,
    app: App,
    user: User,
    *,
    page: int = 1,
    error: DsnlinkError | None = None,
    status: int = 200,
) -> Response:
    # A page of employers at a time: each row carries its own forms.
    views = app.accounts.employers.list(user)
    pages = max(1, -(-len(views) // PER_PAGE))
    page = min(max(1, page), pages)
    shown = views[(page - 1) * PER_PAGE : page * PER_PAGE]
    rows, users = _views(app, user, shown)
    logins = sorted(u.login for u in users.values() if not u.disabled)
    return render(
        request,
        "employers/list.html",
        status_code=status,
        user=user,
        employers=rows,
        result=listings.Page(rows, len(views), page, PER_PAGE),
        can_manage=allowed(user, Operation.EMPLOYERS_MANAGE, own=True),
        logins=logins,
        environments=[e.value for e in Environment],
        due_days=policies.allowed_due_days(app.settings.deadline_day),
        default_day=app.settings.deadline_day,
        error=error,
    )


@pages.get("/employeurs", response_class=HTMLResponse)
def employers_page(request: Request, user: Viewer, app: AppDep, page: PageNumber = 1) -> Response:
    return _page(request, app, user, page=page)


def _done_or_error(request: Request, app: App, user: User, action: Any) -> Response:
    try:
        action()
    except DsnlinkError as exc:
        return _page(request, app, user, error=exc, status=status_of(exc))
    return RedirectResponse("/employeurs", status_code=303)


@pages.post("/employeurs", response_class=HTMLResponse)
def add_page(
    request: Request,
    user: Admin,
    app: AppDep,
    siret: Annotated[str, Form(max_length=20)],
    name: Annotated[str, Form(max_length=300)],
    due_day: Annotated[int, Form()] = 15,
) -> Response:
    return _done_or_error(
        request,
        app,
        user,
        lambda: app.accounts.employers.add(
            user, siret=siret.replace(" ", ""), name=name, due_day=due_day
        ),
    )


@pages.post("/employeurs/{siret}/reglages", response_class=HTMLResponse)
def policy_page(
    request: Request,
    siret: str,
    user: Admin,
    app: AppDep,
    due_day: Annotated[str, Form(max_length=8)],
    test_first: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    def action() -> None:
        try:
            day = int(due_day)
        except ValueError:
            raise InvalidInput(
                f"Jour d'échéance illisible : « {due_day} ».",
                remedy="Choisissez l'un des jours proposés.",
                field="due_day",
            ) from None
        set_policy(app, user, siret, due_day=day, test_first=bool(test_first))

    return _done_or_error(request, app, user, action)


@pages.post("/employeurs/{siret}/supprimer", response_class=HTMLResponse)
def delete_page(request: Request, siret: str, user: Admin, app: AppDep) -> Response:
    return _done_or_error(request, app, user, lambda: app.accounts.employers.delete(user, siret))


@pages.post("/employeurs/{siret}/rattacher", response_class=HTMLResponse)
def link_page(
    request: Request,
    siret: str,
    user: Admin,
    app: AppDep,
    login: Annotated[str, Form(max_length=64)],
    identity_owner: Annotated[str, Form(max_length=64)] = "",
    environment: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    def action() -> None:
        if environment and environment not in {e.value for e in Environment}:
            raise InvalidInput(f"Environnement inconnu : « {environment} ».")
        env = Environment(environment) if environment else None
        if identity_owner and env is None:
            env = Environment.SIMULATOR
        app.accounts.employers.link(
            user,
            siret=siret,
            user_login=login,
            identity_owner=identity_owner or None,
            environment=env,
        )

    return _done_or_error(request, app, user, action)


@pages.post("/employeurs/{siret}/detacher/{login}", response_class=HTMLResponse)
def unlink_page(request: Request, siret: str, login: str, user: Admin, app: AppDep) -> Response:
    return _done_or_error(
        request,
        app,
        user,
        lambda: app.accounts.employers.unlink(user, siret=siret, user_login=login),
    )
