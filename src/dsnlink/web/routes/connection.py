"""The user page's *Connexion* tab: how this account reaches Net-entreprises (direct, proxy,
the system's settings) and the mode (Normal, Étendu, Sécurisé), as the sheet's window shows.

Saved for the account (scope ``user:<id>``, key by key over the installation's), or for the
whole installation by an administrator. The proxy password is write-only, sealed in the vault.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, SecretStr

from dsnlink.connectivity.service import connection_settings, scope_for
from dsnlink.connectivity.settings import MODE_LABELS, TYPE_LABELS, ConnectionMode, ConnectionType
from dsnlink.errors import DsnlinkError, InvalidInput, PermissionDenied
from dsnlink.redaction import register_secret
from dsnlink.setup import App
from dsnlink.store.records import Module, User
from dsnlink.web.deps import CurrentUser, Services, render
from dsnlink.web.labels import DONE
from dsnlink.web.schemas import ERROR_RESPONSES

pages = APIRouter()
api = APIRouter(tags=["connexion"], responses=ERROR_RESPONSES)

Scope = Literal["user", "installation"]


class ProxyIn(BaseModel):
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    tls: bool = False
    login: str | None = Field(default=None, max_length=256)


class ConnectionIn(BaseModel):
    type: ConnectionType
    mode: ConnectionMode
    proxy: ProxyIn | None = None
    #: Write-only. Left out keeps the stored one; an empty string removes it.
    proxy_password: SecretStr | None = None
    #: ``installation``: for every account (configuration right needed).
    scope: Scope = "user"


class ConnectionOut(BaseModel):
    login: str
    type: ConnectionType
    mode: ConnectionMode
    proxy: ProxyIn | None
    proxy_password_stored: bool
    connect_timeout: float
    read_timeout: float
    retries: int
    #: Where each setting comes from: ``user``, ``installation`` or ``default``.
    sources: dict[str, str]


def _target(ctx: App, actor: User, login: str) -> User:
    return ctx.accounts.users.get(actor, login)


def read_connection(ctx: App, actor: User, login: str) -> ConnectionOut:
    target = _target(ctx, actor, login)
    resolved = connection_settings(ctx, actor).resolve(target.id)
    proxy = resolved.settings.proxy
    return ConnectionOut(
        login=target.login,
        type=resolved.type,
        mode=resolved.mode,
        proxy=ProxyIn(**proxy.model_dump()) if proxy else None,
        proxy_password_stored=resolved.proxy_password is not None,
        connect_timeout=resolved.connect_timeout,
        read_timeout=resolved.read_timeout,
        retries=resolved.profile.retries,
        sources=dict(resolved.sources),
    )


def write_connection(ctx: App, actor: User, login: str, body: ConnectionIn) -> ConnectionOut:
    target = _target(ctx, actor, login)
    if body.scope == "installation" and Module.CONFIGURATION not in actor.rights:
        raise PermissionDenied(
            "Seul un administrateur (droit « configuration ») règle la connexion de toute "
            "l'installation.",
        )
    scope = scope_for(ctx, None if body.scope == "installation" else target.login)
    changes: dict[str, Any] = {"type": body.type.value, "mode": body.mode.value}
    if body.proxy is not None:
        changes["proxy"] = body.proxy.model_dump()
    kwargs: dict[str, Any] = {}
    if body.proxy_password is not None:
        secret = body.proxy_password.get_secret_value()
        if secret:
            register_secret(secret)
        kwargs["proxy_password"] = secret or None
    connection_settings(ctx, actor).update(scope, changes, **kwargs)
    return read_connection(ctx, actor, target.login)


def _render(
    request: Request,
    ctx: App,
    actor: User,
    login: str,
    *,
    status_code: int = 200,
    error: DsnlinkError | None = None,
    done: str | None = None,
) -> Response:
    target = _target(ctx, actor, login)
    current = read_connection(ctx, actor, login)
    return render(
        request,
        "connexion_reseau.html",
        status_code=status_code,
        title=f"Connexion — {target.login}",
        target=target,
        tab="connexion",
        current=current,
        types=TYPE_LABELS,
        modes=MODE_LABELS,
        error=error,
        done=DONE.get(done or ""),
    )


@pages.get("/comptes/{login}/connexion", response_class=HTMLResponse)
def connection_tab(
    request: Request, ctx: Services, user: CurrentUser, login: str, fait: str | None = None
) -> Response:
    return _render(request, ctx, user, login, done=fait)


@pages.post("/comptes/{login}/connexion", response_class=HTMLResponse)
def connection_save(
    request: Request,
    ctx: Services,
    user: CurrentUser,
    login: str,
    type: Annotated[ConnectionType, Form()],
    mode: Annotated[ConnectionMode, Form()],
    proxy_host: Annotated[str, Form()] = "",
    proxy_port: Annotated[str, Form()] = "",
    proxy_tls: Annotated[bool, Form()] = False,
    proxy_login: Annotated[str, Form()] = "",
    proxy_password: Annotated[str, Form()] = "",
    forget_proxy_password: Annotated[bool, Form()] = False,
    scope: Annotated[Scope, Form()] = "user",
) -> Response:
    try:
        proxy = None
        if proxy_host.strip():
            if not proxy_port.strip().isdigit():
                raise InvalidInput("Le port du proxy doit être un nombre (par exemple 3128).")
            proxy = ProxyIn(
                host=proxy_host.strip(),
                port=int(proxy_port),
                tls=proxy_tls,
                login=proxy_login.strip() or None,
            )
        secret: SecretStr | None = None
        if forget_proxy_password:
            secret = SecretStr("")
        elif proxy_password:
            secret = SecretStr(proxy_password)
        body = ConnectionIn(type=type, mode=mode, proxy=proxy, proxy_password=secret, scope=scope)
        write_connection(ctx, user, login, body)
    except DsnlinkError as exc:
        if exc.code.startswith("access"):
            raise
        return _render(request, ctx, user, login, status_code=422, error=exc)
    except ValueError:  # pydantic: a port out of range, a host with a space or a slash
        error = InvalidInput(
            "Un paramètre du proxy est incorrect : adresse sans espace ni « / », port de 1 à 65535."
        )
        return _render(request, ctx, user, login, status_code=422, error=error)
    url = f"/comptes/{quote(login, safe='')}/connexion?fait=connexion"
    return RedirectResponse(url, status_code=303)


@api.get(
    "/users/{login}/connection", response_model=ConnectionOut, summary="Paramètres de connexion"
)
def api_connection(ctx: Services, user: CurrentUser, login: str) -> ConnectionOut:
    return read_connection(ctx, user, login)


@api.put(
    "/users/{login}/connection",
    response_model=ConnectionOut,
    summary="Changer les paramètres de connexion",
)
def api_set_connection(
    ctx: Services, user: CurrentUser, login: str, body: ConnectionIn
) -> ConnectionOut:
    return write_connection(ctx, user, login, body)
