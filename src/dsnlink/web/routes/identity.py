"""The user page's *Net-entreprises* tab: confirm one's own password, type the credentials
with the linter's findings live, « Tester la connexion » with each step appearing, and
« Enregistrer ». The password is write-only: no page or answer ever contains it."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, SecretStr

from dsnlink.accounts import IdentityInput
from dsnlink.accounts.rights import Operation, require
from dsnlink.connectivity.identity_lint import check_identity, previous_values
from dsnlink.connectivity.linter import lint_identity
from dsnlink.connectivity.portal_bridge import PROFILE_ENVIRONMENTS
from dsnlink.connectivity.report import ConnectionReport
from dsnlink.connectivity.steps import StepResult
from dsnlink.connectivity.test import IdentityUnderTest
from dsnlink.errors import (
    DsnlinkError,
    ReauthenticationRequired,
    WrongCredentials,
)
from dsnlink.logs import get_logger
from dsnlink.redaction import register_secret
from dsnlink.setup import App
from dsnlink.store.records import Environment, Identity, User
from dsnlink.web.credential_checks import CredentialMemory
from dsnlink.web.deps import CurrentUser, Services, current_session, now, render, sessions
from dsnlink.web.errors import error_body
from dsnlink.web.labels import DONE, ENVIRONMENTS, IDENTITY_STATES
from dsnlink.web.schemas import ERROR_RESPONSES, IdentityOut, identity_out

log = get_logger("dsnlink.web.identity")

pages = APIRouter()
api = APIRouter(tags=["identité Net-entreprises"], responses=ERROR_RESPONSES)


def _memory(request: Request) -> CredentialMemory:
    memory: CredentialMemory = request.app.state.credential_memory
    return memory


def default_environment(ctx: App) -> Environment:
    return Environment(PROFILE_ENVIRONMENTS.get(ctx.settings.portal_profile, "production"))


def _tab_url(login: str) -> str:
    return f"/comptes/{quote(login, safe='')}/net-entreprises"


def _confirmed(request: Request) -> bool:
    return sessions(request).is_confirmed(current_session(request), now())


def _require_confirmed(request: Request) -> None:
    if not _confirmed(request):
        raise ReauthenticationRequired()


def _identity_for(ctx: App, actor: User, login: str, env: Environment) -> Identity | None:
    """The stored identity, when the actor may see it (configuration or declarations)."""
    try:
        identities = ctx.accounts.identities.show(actor, login)
    except DsnlinkError:
        return None
    return next((i for i in identities if i.environment is env), None)


def _check_may_set(ctx: App, actor: User, login: str) -> User:
    target = ctx.accounts.users.get(actor, login) if login != actor.login else actor
    require(actor, Operation.IDENTITY_SET, own=target.id == actor.id)
    return target


# --- pages ----------------------------------------------------------------------------------


def _render_tab(
    request: Request,
    ctx: App,
    actor: User,
    login: str,
    *,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    error: DsnlinkError | None = None,
    done: str | None = None,
) -> Response:
    target = _check_may_set(ctx, actor, login)
    env = Environment(values["environment"]) if values else default_environment(ctx)
    identity = _identity_for(ctx, actor, target.login, env)
    if values is None:
        values = {
            "siret": identity.siret if identity else "",
            "nom": identity.nom if identity else "",
            "prenom": identity.prenom if identity else "",
            "environment": env.value,
        }
    return render(
        request,
        "net_entreprises.html",
        status_code=status_code,
        title=f"Net-entreprises — {target.login}",
        target=target,
        tab="net-entreprises",
        confirmed=_confirmed(request),
        identity=identity,
        values=values,
        environments=ENVIRONMENTS,
        states=IDENTITY_STATES,
        error=error,
        done=DONE.get(done or ""),
    )


@pages.get("/comptes/{login}/net-entreprises", response_class=HTMLResponse)
def identity_tab(
    request: Request, ctx: Services, user: CurrentUser, login: str, fait: str | None = None
) -> Response:
    return _render_tab(request, ctx, user, login, done=fait)


@pages.post("/comptes/{login}/confirmer", response_class=HTMLResponse)
def confirm_page(
    request: Request,
    ctx: Services,
    user: CurrentUser,
    login: str,
    password: Annotated[str, Form()],
) -> Response:
    register_secret(password)
    _check_may_set(ctx, user, login)
    try:
        ctx.accounts.users.confirm_own_password(user, password)
    except DsnlinkError as exc:
        if exc.code not in {"access.authentication_failed", "access.throttled"}:
            raise
        return _render_tab(
            request, ctx, user, login, status_code=401 if "auth" in exc.code else 429, error=exc
        )
    sessions(request).confirm(current_session(request), now())
    return RedirectResponse(_tab_url(login) + "?fait=confirme", status_code=303)


@pages.post("/comptes/{login}/net-entreprises", response_class=HTMLResponse)
def identity_save_page(
    request: Request,
    ctx: Services,
    user: CurrentUser,
    login: str,
    siret: Annotated[str, Form()],
    nom: Annotated[str, Form()],
    prenom: Annotated[str, Form()],
    environment: Annotated[Environment, Form()],
    password: Annotated[str, Form()] = "",
) -> Response:
    values = {"siret": siret, "nom": nom, "prenom": prenom, "environment": environment.value}
    try:
        save_identity(
            request,
            ctx,
            user,
            login,
            IdentityIn(
                siret=siret,
                nom=nom,
                prenom=prenom,
                environment=environment,
                password=SecretStr(password) if password else None,
            ),
        )
    except DsnlinkError as exc:
        if exc.code.startswith("access") and exc.code != "access.reauthentication_required":
            raise
        return _render_tab(request, ctx, user, login, values=values, status_code=422, error=exc)
    return RedirectResponse(_tab_url(login) + "?fait=identite", status_code=303)


@pages.post("/comptes/{login}/net-entreprises/supprimer", response_class=HTMLResponse)
def identity_delete_page(
    request: Request,
    ctx: Services,
    user: CurrentUser,
    login: str,
    environment: Annotated[Environment, Form()],
) -> Response:
    try:
        delete_identity(request, ctx, user, login, environment, None)
    except DsnlinkError as exc:
        if exc.code.startswith("access") and exc.code != "access.reauthentication_required":
            raise
        return _render_tab(request, ctx, user, login, status_code=422, error=exc)
    return RedirectResponse(_tab_url(login) + "?fait=identite-supprimee", status_code=303)


# --- shared by pages and API ----------------------------------------------------------------


class IdentityIn(BaseModel):
    siret: str = Field(max_length=100)
    nom: str = Field(max_length=200)
    prenom: str = Field(max_length=200)
    environment: Environment | None = None
    #: Write-only; left out (or empty) keeps the stored password.
    password: SecretStr | None = Field(default=None)
    #: One's own dsnlink password, for API clients that did not confirm it in the session.
    confirm_password: SecretStr | None = Field(default=None)


def save_identity(
    request: Request, ctx: App, actor: User, login: str, body: IdentityIn
) -> Identity:
    # Rights first: a refusal must not depend on the values typed or on the confirmation.
    _check_may_set(ctx, actor, login)
    password = body.password.get_secret_value() if body.password else None
    if password:
        register_secret(password)
    else:
        password = None
    env = body.environment or default_environment(ctx)
    values = IdentityInput(body.siret, body.nom, body.prenom, env, password).checked()
    check_identity(
        siret=body.siret,
        nom=body.nom,
        prenom=body.prenom,
        password=password,
        previous=previous_values(ctx, actor, login, env),
    )
    if body.confirm_password is not None:
        confirm = body.confirm_password.get_secret_value()
        register_secret(confirm)
        saved = ctx.accounts.identities.set(
            actor, confirm=confirm, owner_login=login, values=values
        )
    else:
        _require_confirmed(request)
        saved = ctx.accounts.identities.set_confirmed(actor, owner_login=login, values=values)
    if password is not None:
        fingerprint = _memory(request).fingerprint(
            login, body.siret, body.nom, body.prenom, password
        )
        if _memory(request).verdict(fingerprint) is True:
            # These exact values just passed « Tester la connexion »: the sheet's green marks.
            saved = ctx.accounts.identities.mark_verified(actor, saved.id)
    return saved


def delete_identity(
    request: Request,
    ctx: App,
    actor: User,
    login: str,
    environment: Environment,
    confirm_password: SecretStr | None,
) -> None:
    target = ctx.accounts.users.get(actor, login) if login != actor.login else actor
    require(actor, Operation.IDENTITY_DELETE, own=target.id == actor.id)
    if confirm_password is not None:
        confirm = confirm_password.get_secret_value()
        register_secret(confirm)
        ctx.accounts.identities.delete(
            actor, confirm=confirm, owner_login=login, environment=environment
        )
    else:
        _require_confirmed(request)
        ctx.accounts.identities.delete_confirmed(actor, owner_login=login, environment=environment)


class TestIn(BaseModel):
    """Values typed on the tab. With a password, they are tested as typed (not saved);
    without, the stored identity is tested."""

    siret: str | None = Field(default=None, max_length=100)
    nom: str | None = Field(default=None, max_length=200)
    prenom: str | None = Field(default=None, max_length=200)
    environment: Environment | None = None
    password: SecretStr | None = None


def _typed(request: Request, login: str, body: TestIn) -> tuple[IdentityUnderTest | None, str]:
    if body.password is None or not body.password.get_secret_value():
        return None, ""
    _require_confirmed(request)
    password = body.password.get_secret_value()
    register_secret(password)
    siret, nom, prenom = body.siret or "", body.nom or "", body.prenom or ""
    fingerprint = _memory(request).fingerprint(login, siret, nom, prenom, password)
    if _memory(request).verdict(fingerprint) is False:
        raise WrongCredentials(
            "Net-entreprises a déjà refusé exactement ces identifiants : aucun nouvel essai "
            "n'est fait, pour ne pas bloquer le compte.",
            remedy="Corrigez la valeur fausse (copiez-collez depuis le portail), puis testez "
            "à nouveau.",
        )
    under_test = IdentityUnderTest(
        login=login, siret=siret, nom=nom, prenom=prenom, password=SecretStr(password)
    )
    return under_test, fingerprint


def _learn(request: Request, fingerprint: str, report: ConnectionReport) -> None:
    if not fingerprint:
        return
    login = report.step("login")
    if not login.data.get("attempted"):
        return
    if login.status.value == "ok":
        _memory(request).remember(fingerprint, accepted=True)
    elif login.data.get("state") in {
        "wrong_credentials",
        "password_expired",
        "not_registered",
        "locked",
    }:
        _memory(request).remember(fingerprint, accepted=False)


def check_test_allowed(ctx: App, actor: User, login: str) -> None:
    """What the connection test reads, checked up front: the account, its connection
    settings and its identities (each refused without the right)."""
    from dsnlink.connectivity.service import connection_settings

    target = ctx.accounts.users.get(actor, login)
    connection_settings(ctx, actor).resolve(target.id)
    ctx.accounts.identities.show(actor, login)


def run_test(
    request: Request,
    ctx: App,
    actor: User,
    login: str,
    body: TestIn,
    on_step: Any = None,
) -> ConnectionReport:
    from dsnlink.connectivity.service import run_installation_test

    typed, fingerprint = _typed(request, login, body)
    env = (body.environment or default_environment(ctx)).value
    report = run_installation_test(
        ctx, actor, owner_login=login, environment=env, typed=typed, on_step=on_step
    )
    _learn(request, fingerprint, report)
    return report


# --- API ------------------------------------------------------------------------------------


class LintIn(BaseModel):
    siret: str = Field(default="", max_length=100)
    nom: str = Field(default="", max_length=200)
    prenom: str = Field(default="", max_length=200)
    password: SecretStr | None = None
    previous_nom: str | None = Field(default=None, max_length=200)
    previous_prenom: str | None = Field(default=None, max_length=200)


class ConfirmIn(BaseModel):
    password: SecretStr


@api.post(
    "/lint/identity", summary="Vérifier des identifiants Net-entreprises (sans rien enregistrer)"
)
def api_lint(user: CurrentUser, body: LintIn) -> dict[str, Any]:
    # Not registered with the log redaction: this is called at every keystroke, and every
    # prefix of the password would be masked in logs. Nothing here logs the value.
    password = body.password.get_secret_value() if body.password is not None else None
    previous = {
        k: v
        for k, v in (("nom", body.previous_nom), ("prenom", body.previous_prenom))
        if v is not None
    }
    report = lint_identity(
        siret=body.siret, nom=body.nom, prenom=body.prenom, motdepasse=password, previous=previous
    )
    return report.to_dict()


@api.post("/session/confirm", status_code=204, summary="Confirmer son propre mot de passe")
def api_confirm(request: Request, ctx: Services, user: CurrentUser, body: ConfirmIn) -> Response:
    password = body.password.get_secret_value()
    register_secret(password)
    ctx.accounts.users.confirm_own_password(user, password)
    sessions(request).confirm(current_session(request), now())
    return Response(status_code=204)


@api.get(
    "/users/{login}/identities",
    response_model=list[IdentityOut],
    summary="Identités Net-entreprises",
)
def api_identities(ctx: Services, user: CurrentUser, login: str) -> list[IdentityOut]:
    return [identity_out(i) for i in ctx.accounts.identities.show(user, login)]


@api.put(
    "/users/{login}/identity",
    response_model=IdentityOut,
    summary="Enregistrer l'identité Net-entreprises",
)
def api_set_identity(
    request: Request, ctx: Services, user: CurrentUser, login: str, body: IdentityIn
) -> IdentityOut:
    return identity_out(save_identity(request, ctx, user, login, body))


@api.delete(
    "/users/{login}/identity",
    status_code=204,
    summary="Supprimer l'identité Net-entreprises (et son mot de passe chiffré)",
)
def api_delete_identity(
    request: Request,
    ctx: Services,
    user: CurrentUser,
    login: str,
    environment: Environment,
    body: ConfirmIn | None = None,
) -> Response:
    delete_identity(request, ctx, user, login, environment, body.password if body else None)
    return Response(status_code=204)


@api.post("/users/{login}/connection-test", summary="Tester la connexion (rapport complet)")
def api_connection_test(
    request: Request, ctx: Services, user: CurrentUser, login: str, body: TestIn
) -> dict[str, Any]:
    return run_test(request, ctx, user, login, body).to_dict()


@api.post(
    "/users/{login}/connection-test/stream",
    summary="Tester la connexion, étape par étape (NDJSON)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def api_connection_test_stream(
    request: Request, ctx: Services, user: CurrentUser, login: str, body: TestIn
) -> StreamingResponse:
    """One JSON object per line: each step as it ends (``"type": "step"``), then the report
    (``"type": "report"``) or the error (``"type": "error"``)."""
    # Refusals that need no network (rights, confirmation, values already refused) are
    # answered at once with the error shape and its status, before the stream starts.
    check_test_allowed(ctx, user, login)
    _typed(request, login, body)
    lines: queue.Queue[str | None] = queue.Queue()

    def on_step(step: StepResult) -> None:
        lines.put(json.dumps({"type": "step", **step.to_dict()}, ensure_ascii=False))

    def work() -> None:
        try:
            report = run_test(request, ctx, user, login, body, on_step=on_step)
            lines.put(json.dumps({"type": "report", **report.to_dict()}, ensure_ascii=False))
        except DsnlinkError as exc:
            error = error_body(exc.code, exc.message, {"remedy": exc.remedy})
            lines.put(json.dumps({"type": "error", **error}, ensure_ascii=False))
        except Exception as exc:  # noqa: BLE001 - the stream must end with an answer
            log.error("connection_test_crashed", error=type(exc).__name__)
            error = error_body("internal", "Une erreur interne est survenue.", None)
            lines.put(json.dumps({"type": "error", **error}, ensure_ascii=False))
        finally:
            lines.put(None)

    threading.Thread(target=work, name="connection-test", daemon=True).start()

    def stream() -> Iterator[str]:
        while (line := lines.get()) is not None:
            yield line + "\n"

    return StreamingResponse(stream(), media_type="application/x-ndjson")
