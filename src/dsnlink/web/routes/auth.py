"""Logging in and out, the home page, and who is logged in (``/api/v1/session``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from dsnlink.accounts.rights import Operation, allowed
from dsnlink.errors import AccessError
from dsnlink.redaction import register_secret
from dsnlink.store.records import Identity, Mode, User
from dsnlink.web.deps import CurrentUser, Services, now, optional_user, render, sessions
from dsnlink.web.labels import IDENTITY_STATES
from dsnlink.web.schemas import ERROR_RESPONSES, UserOut, user_out
from dsnlink.web.sessions import COOKIE_NAME

pages = APIRouter()
api = APIRouter(tags=["session"], responses=ERROR_RESPONSES)


def _safe_next(target: str | None) -> str:
    """Only a local path: a login link must not send the user to another site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/"
    return target


def _set_cookie(request: Request, response: Response, cookie: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def _log_in(request: Request, ctx: Services, login: str, password: str) -> tuple[User, str]:
    register_secret(password)
    user = ctx.accounts.users.authenticate(login, password)
    store = sessions(request)
    old = request.cookies.get(COOKIE_NAME)
    previous = store.find(old, now())
    if previous is not None:
        # Rotation: whatever session the browser had is dropped, a new id is issued.
        store.close(previous.id)
    _session, cookie = store.open(user.id, now())
    return user, cookie


@pages.get("/", response_class=HTMLResponse)
def home(request: Request, ctx: Services, user: CurrentUser) -> Response:
    # The sheet's procedure, where to start: every account for an administrator (with the
    # state of its credentials), one's own otherwise; in monoposte, the Administrateur.
    accounts: list[tuple[User, list[Identity]]] = []
    if allowed(user, Operation.USERS_LIST, own=True):
        from dsnlink.web.routes.accounts import visible_identities

        accounts = [(u, visible_identities(ctx, user, u)) for u in ctx.accounts.users.list(user)]
    return render(
        request,
        "accueil.html",
        title="Centre de maintenance",
        accounts=accounts,
        states=IDENTITY_STATES,
        monoposte=ctx.installation.mode is Mode.MONOPOSTE,
    )


@pages.get("/connexion", response_class=HTMLResponse)
def login_page(request: Request, suivant: str | None = None) -> Response:
    if optional_user(request) is not None:
        return RedirectResponse(_safe_next(suivant), status_code=303)
    return render(request, "connexion.html", suivant=_safe_next(suivant), login="")


@pages.post("/connexion", response_class=HTMLResponse)
def login_submit(
    request: Request,
    ctx: Services,
    login: Annotated[str, Form()],
    password: Annotated[str, Form()],
    suivant: Annotated[str, Form()] = "/",
) -> Response:
    try:
        _user, cookie = _log_in(request, ctx, login, password)
    except AccessError as exc:
        return render(
            request,
            "connexion.html",
            status_code=401 if exc.code != "access.throttled" else 429,
            suivant=_safe_next(suivant),
            login=login,
            error=exc,
        )
    response = RedirectResponse(_safe_next(suivant), status_code=303)
    _set_cookie(request, response, cookie)
    return response


@pages.post("/deconnexion")
def logout(request: Request) -> Response:
    store = sessions(request)
    session = store.find(request.cookies.get(COOKIE_NAME), now())
    if session is not None:
        store.close(session.id)
    response = RedirectResponse("/connexion", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


class LoginIn(BaseModel):
    login: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


@api.post("/session", response_model=UserOut, summary="Se connecter (cookie de session)")
def api_login(request: Request, ctx: Services, body: LoginIn) -> Response:
    user, cookie = _log_in(request, ctx, body.login, body.password)
    response = Response(
        user_out(user).model_dump_json(), media_type="application/json", status_code=200
    )
    _set_cookie(request, response, cookie)
    return response


@api.get("/session", response_model=UserOut, summary="Le compte connecté")
def api_whoami(user: CurrentUser) -> UserOut:
    return user_out(user)


@api.delete("/session", status_code=204, summary="Se déconnecter")
def api_logout(request: Request) -> Response:
    logout(request)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response
