"""Comptes utilisateurs: the list, creating an account, and the *Compte* tab of a user page
(display name, password, rights check boxes, disable, delete). Rights are checked by the
accounts services, whatever the route; the last administrator is protected there too."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from dsnlink.accounts.rights import Operation, allowed
from dsnlink.errors import DsnlinkError, InvalidInput
from dsnlink.redaction import register_secret
from dsnlink.setup import App
from dsnlink.store.records import Identity, Module, User
from dsnlink.web.deps import CurrentUser, Services, render, require, sessions
from dsnlink.web.labels import DONE, IDENTITY_STATES
from dsnlink.web.schemas import ERROR_RESPONSES, UserOut, user_out

pages = APIRouter()
api = APIRouter(tags=["comptes"], responses=ERROR_RESPONSES)


def user_url(login: str, tab: str = "compte") -> str:
    return f"/comptes/{quote(login, safe='')}/{tab}"


def visible_identities(ctx: App, actor: User, target: User) -> list[Identity]:
    """``target``'s identities if ``actor`` may see them (declarations, or configuration +
    declarations for others'), else none: the list never reveals what the rights hide."""
    own = actor.id == target.id
    if not allowed(actor, Operation.IDENTITY_SHOW, own=own):
        return []
    with ctx.store.read() as r:
        return r.identities.all(target.id)


def _rights_from_form(form_rights: list[str]) -> set[Module]:
    return {Module(value) for value in form_rights if value in Module.__members__.values()}


def apply_rights(ctx: App, actor: User, login: str, wanted: set[Module]) -> User:
    target = ctx.accounts.users.get(actor, login)
    return ctx.accounts.users.change_rights(
        actor, login, grant=wanted - target.rights, revoke=target.rights - wanted
    )


# --- pages ----------------------------------------------------------------------------------


@pages.get("/comptes", response_class=HTMLResponse)
def accounts_page(
    request: Request, ctx: Services, user: CurrentUser, fait: str | None = None
) -> Response:
    if not allowed(user, Operation.USERS_LIST, own=True):
        # Without the configuration right, "Comptes utilisateurs" is one's own account.
        return RedirectResponse(user_url(user.login), status_code=303)
    users = ctx.accounts.users.list(user)
    rows = [(u, visible_identities(ctx, user, u)) for u in users]
    return render(
        request,
        "comptes.html",
        title="Comptes utilisateurs",
        rows=rows,
        states=IDENTITY_STATES,
        done=DONE.get(fait or ""),
    )


@pages.get("/comptes/nouveau", response_class=HTMLResponse)
def new_account_page(
    request: Request, user: Annotated[User, Depends(require(Operation.USERS_CREATE))]
) -> Response:
    return render(
        request, "compte_nouveau.html", title="Nouveau compte", values={}, modules=list(Module)
    )


@pages.post("/comptes/nouveau", response_class=HTMLResponse)
def new_account_submit(
    request: Request,
    ctx: Services,
    user: Annotated[User, Depends(require(Operation.USERS_CREATE))],
    login: Annotated[str, Form()],
    display_name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    password_confirm: Annotated[str, Form()],
    rights: Annotated[list[str] | None, Form()] = None,
) -> Response:
    register_secret(password)
    values = {"login": login, "display_name": display_name, "rights": rights or []}
    try:
        if password != password_confirm:
            raise InvalidInput("Les deux mots de passe saisis sont différents.")
        created = ctx.accounts.users.create(
            user,
            login=login,
            display_name=display_name,
            password=password,
            rights=_rights_from_form(rights or []),
        )
    except DsnlinkError as exc:
        return render(
            request,
            "compte_nouveau.html",
            status_code=422 if exc.code == "invalid_input" else 409,
            title="Nouveau compte",
            values=values,
            modules=list(Module),
            error=exc,
        )
    return RedirectResponse(user_url(created.login) + "?fait=cree", status_code=303)


@pages.get("/comptes/{login}", response_class=HTMLResponse)
def user_page(login: str, user: CurrentUser) -> Response:
    return RedirectResponse(user_url(login), status_code=303)


def _account_tab(
    request: Request,
    ctx: App,
    actor: User,
    login: str,
    *,
    status_code: int = 200,
    error: DsnlinkError | None = None,
    done: str | None = None,
) -> Response:
    target = ctx.accounts.users.get(actor, login)
    return render(
        request,
        "compte.html",
        status_code=status_code,
        title=f"Compte {target.login}",
        target=target,
        tab="compte",
        modules=list(Module),
        own=target.id == actor.id,
        error=error,
        done=DONE.get(done or ""),
    )


@pages.get("/comptes/{login}/compte", response_class=HTMLResponse)
def account_tab(
    request: Request, ctx: Services, user: CurrentUser, login: str, fait: str | None = None
) -> Response:
    return _account_tab(request, ctx, user, login, done=fait)


def _after(request: Request, ctx: App, actor: User, login: str, action: object) -> Response:
    """Run ``action``; on a refusal show the tab again with the French message."""
    try:
        done = action() if callable(action) else None
    except DsnlinkError as exc:
        if exc.code.startswith("access") and exc.code != "access.authentication_failed":
            raise
        status = 422 if exc.code in {"invalid_input", "access.authentication_failed"} else 409
        return _account_tab(request, ctx, actor, login, status_code=status, error=exc)
    assert isinstance(done, str)
    return RedirectResponse(user_url(login) + f"?fait={done}", status_code=303)


@pages.post("/comptes/{login}/compte", response_class=HTMLResponse)
def account_edit(
    request: Request,
    ctx: Services,
    user: CurrentUser,
    login: str,
    display_name: Annotated[str, Form()],
) -> Response:
    def action() -> str:
        ctx.accounts.users.edit(user, login, display_name=display_name)
        return "enregistre"

    return _after(request, ctx, user, login, action)


@pages.post("/comptes/{login}/mot-de-passe", response_class=HTMLResponse)
def account_password(
    request: Request,
    ctx: Services,
    user: CurrentUser,
    login: str,
    new_password: Annotated[str, Form()],
    new_password_confirm: Annotated[str, Form()],
    current_password: Annotated[str, Form()] = "",
) -> Response:
    register_secret(new_password)
    if current_password:
        register_secret(current_password)

    def action() -> str:
        if new_password != new_password_confirm:
            raise InvalidInput("Les deux mots de passe saisis sont différents.")
        target = ctx.accounts.users.get(user, login)
        ctx.accounts.users.change_password(
            user, login, new_password=new_password, current_password=current_password or None
        )
        if target.id != user.id:
            sessions(request).close_user(target.id)
        return "mot-de-passe"

    return _after(request, ctx, user, login, action)


@pages.post("/comptes/{login}/droits", response_class=HTMLResponse)
def account_rights(
    request: Request,
    ctx: Services,
    user: Annotated[User, Depends(require(Operation.RIGHTS_CHANGE))],
    login: str,
    rights: Annotated[list[str] | None, Form()] = None,
) -> Response:
    def action() -> str:
        apply_rights(ctx, user, login, _rights_from_form(rights or []))
        return "droits"

    return _after(request, ctx, user, login, action)


@pages.post("/comptes/{login}/desactiver", response_class=HTMLResponse)
def account_disable(
    request: Request,
    ctx: Services,
    user: Annotated[User, Depends(require(Operation.USERS_DISABLE))],
    login: str,
) -> Response:
    def action() -> str:
        target = ctx.accounts.users.set_disabled(user, login, True)
        sessions(request).close_user(target.id)
        return "desactive"

    return _after(request, ctx, user, login, action)


@pages.post("/comptes/{login}/activer", response_class=HTMLResponse)
def account_enable(
    request: Request,
    ctx: Services,
    user: Annotated[User, Depends(require(Operation.USERS_ENABLE))],
    login: str,
) -> Response:
    def action() -> str:
        ctx.accounts.users.set_disabled(user, login, False)
        return "active"

    return _after(request, ctx, user, login, action)


@pages.post("/comptes/{login}/supprimer", response_class=HTMLResponse)
def account_delete(
    request: Request,
    ctx: Services,
    user: Annotated[User, Depends(require(Operation.USERS_DELETE))],
    login: str,
) -> Response:
    try:
        target = ctx.accounts.users.get(user, login)
        ctx.accounts.users.delete(user, login)
    except DsnlinkError as exc:
        if exc.code.startswith("access"):
            raise
        return _account_tab(request, ctx, user, login, status_code=409, error=exc)
    sessions(request).close_user(target.id)
    return RedirectResponse("/comptes?fait=supprime", status_code=303)


# --- API ------------------------------------------------------------------------------------


class UserCreate(BaseModel):
    login: str = Field(min_length=1, max_length=200)
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)
    rights: list[Module] = []


class UserEdit(BaseModel):
    display_name: str = Field(min_length=1, max_length=200)


class RightsIn(BaseModel):
    rights: list[Module]


class PasswordIn(BaseModel):
    new_password: str = Field(min_length=1, max_length=1000)
    current_password: str | None = Field(default=None, max_length=1000)


def _out(ctx: App, actor: User, target: User) -> UserOut:
    return user_out(target, visible_identities(ctx, actor, target))


@api.get("/users", response_model=list[UserOut], summary="Liste des comptes")
def api_users(
    ctx: Services, user: Annotated[User, Depends(require(Operation.USERS_LIST))]
) -> list[UserOut]:
    return [_out(ctx, user, u) for u in ctx.accounts.users.list(user)]


@api.post("/users", response_model=UserOut, status_code=201, summary="Créer un compte")
def api_create_user(
    ctx: Services,
    user: Annotated[User, Depends(require(Operation.USERS_CREATE))],
    body: UserCreate,
) -> UserOut:
    register_secret(body.password)
    created = ctx.accounts.users.create(
        user,
        login=body.login,
        display_name=body.display_name,
        password=body.password,
        rights=body.rights,
    )
    return _out(ctx, user, created)


@api.get("/users/{login}", response_model=UserOut, summary="Un compte")
def api_user(ctx: Services, user: CurrentUser, login: str) -> UserOut:
    return _out(ctx, user, ctx.accounts.users.get(user, login))


@api.patch("/users/{login}", response_model=UserOut, summary="Modifier le nom détaillé")
def api_edit_user(ctx: Services, user: CurrentUser, login: str, body: UserEdit) -> UserOut:
    return _out(ctx, user, ctx.accounts.users.edit(user, login, display_name=body.display_name))


@api.put("/users/{login}/rights", response_model=UserOut, summary="Fixer les droits")
def api_rights(
    ctx: Services,
    user: Annotated[User, Depends(require(Operation.RIGHTS_CHANGE))],
    login: str,
    body: RightsIn,
) -> UserOut:
    return _out(ctx, user, apply_rights(ctx, user, login, set(body.rights)))


@api.put("/users/{login}/password", status_code=204, summary="Changer le mot de passe dsnlink")
def api_password(
    request: Request, ctx: Services, user: CurrentUser, login: str, body: PasswordIn
) -> Response:
    register_secret(body.new_password)
    if body.current_password:
        register_secret(body.current_password)
    target = ctx.accounts.users.get(user, login)
    ctx.accounts.users.change_password(
        user, login, new_password=body.new_password, current_password=body.current_password
    )
    if target.id != user.id:
        sessions(request).close_user(target.id)
    return Response(status_code=204)


@api.post("/users/{login}/disable", response_model=UserOut, summary="Désactiver un compte")
def api_disable(
    request: Request,
    ctx: Services,
    user: Annotated[User, Depends(require(Operation.USERS_DISABLE))],
    login: str,
) -> UserOut:
    target = ctx.accounts.users.set_disabled(user, login, True)
    sessions(request).close_user(target.id)
    return _out(ctx, user, target)


@api.post("/users/{login}/enable", response_model=UserOut, summary="Réactiver un compte")
def api_enable(
    ctx: Services,
    user: Annotated[User, Depends(require(Operation.USERS_ENABLE))],
    login: str,
) -> UserOut:
    return _out(ctx, user, ctx.accounts.users.set_disabled(user, login, False))


@api.delete("/users/{login}", status_code=204, summary="Supprimer un compte")
def api_delete(
    request: Request,
    ctx: Services,
    user: Annotated[User, Depends(require(Operation.USERS_DELETE))],
    login: str,
) -> Response:
    target = ctx.accounts.users.get(user, login)
    ctx.accounts.users.delete(user, login)
    sessions(request).close_user(target.id)
    return Response(status_code=204)
