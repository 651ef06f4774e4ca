"""One error shape for the JSON API, and the French error page, from the project's exceptions.

Every :class:`~dsnlink.errors.DsnlinkError` maps to an HTTP status by its family; the body is
always ``{"error": {"code", "message", "details"}}`` with the message in French. Pages get the
same facts rendered in ``erreur.html``; an unauthenticated page request is sent to the login
page instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from dsnlink import errors as e
from dsnlink.logs import get_logger

log = get_logger("dsnlink.web")

API_PREFIX = "/api/v1"

#: Most specific first: the first class the error is an instance of gives the status.
STATUS_BY_CLASS: tuple[tuple[type[e.DsnlinkError], int], ...] = (
    (e.UploadTooLarge, 413),
    (e.NotAuthenticated, 401),
    (e.AuthenticationFailed, 401),
    (e.LoginThrottled, 429),
    (e.ReauthenticationRequired, 403),
    (e.CrossSiteRequest, 403),
    (e.AccessError, 403),
    (e.InvalidInput, 422),
    (e.NotFound, 404),
    (e.Conflict, 409),
    (e.BackupInProgress, 409),
    (e.BackupTargetError, 409),
    (e.BackupCorrupt, 422),
    (e.BackupToolMissing, 503),
    (e.NormeError, 422),
    (e.ReturnParseError, 422),
    (e.PipelineError, 409),
    # Refused credentials are a state to fix, not a fault of the gateway.
    (e.CredentialError, 409),
    (e.ServiceUnavailable, 503),
    (e.PortalError, 502),
    (e.ConfigurationError, 503),
    (e.VaultError, 500),
    (e.StoreError, 500),
    (e.SimulatorError, 500),
)

#: French messages for the HTTP errors raised by the framework itself.
HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "La requête est mal formée."),
    401: ("access.not_authenticated", "Vous n'êtes pas connecté, ou votre session a expiré."),
    403: ("access.permission_denied", "Vous n'avez pas le droit d'effectuer cette opération."),
    404: ("not_found", "Cette page ou cette ressource n'existe pas."),
    405: ("method_not_allowed", "Cette opération n'est pas possible à cette adresse."),
    413: ("too_large", "Le fichier envoyé est trop volumineux."),
    415: ("unsupported_media_type", "Le format de la requête n'est pas accepté."),
    422: ("invalid_input", "Une valeur saisie est incorrecte."),
}


def status_for(exc: e.DsnlinkError) -> int:
    for cls, status in STATUS_BY_CLASS:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX) or request.url.path == "/openapi.json"


def _page(request: Request, status: int, code: str, message: str, remedy: str | None) -> Response:
    # Imported here: deps imports this module for the exceptions it raises.
    from dsnlink.web.deps import render

    return render(
        request,
        "erreur.html",
        status_code=status,
        error_code=code,
        message=message,
        remedy=remedy,
    )


def _login_redirect(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/connexion?suivant={quote(target, safe='')}", status_code=303)


async def dsnlink_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, e.DsnlinkError)
    status = status_for(exc)
    if status >= 500:
        # The code says what happened; no traceback (its locals could hold typed values).
        log.warning("web_error", code=exc.code, path=request.url.path)
    details: dict[str, Any] = {"remedy": exc.remedy, **exc.to_dict()["context"]}
    headers: dict[str, str] = {}
    retry = exc.context.get("retry_after_seconds")
    if isinstance(retry, int):
        headers["Retry-After"] = str(retry)
    if wants_json(request):
        return JSONResponse(
            error_body(exc.code, exc.message, details), status_code=status, headers=headers
        )
    if isinstance(exc, e.NotAuthenticated) and request.method in {"GET", "HEAD"}:
        return _login_redirect(request)
    return _page(request, status, exc.code, exc.message, exc.remedy)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code, message = HTTP_MESSAGES.get(exc.status_code, ("http_error", "La requête a échoué."))
    headers = dict(exc.headers or {})
    if wants_json(request):
        return JSONResponse(
            error_body(code, message, None), status_code=exc.status_code, headers=headers
        )
    return _page(request, exc.status_code, code, message, None)


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Only the location and the kind of each problem: the input itself may be a password.
    fields = [
        {"field": ".".join(str(p) for p in err.get("loc", ())), "type": err.get("type")}
        for err in exc.errors()
    ]
    message = "Une valeur saisie est incorrecte ou manquante."
    if wants_json(request):
        return JSONResponse(
            error_body("invalid_input", message, {"fields": fields}), status_code=422
        )
    return _page(request, 422, "invalid_input", message, None)


async def internal_error_handler(request: Request, exc: Exception) -> Response:
    log.error("web_internal_error", path=request.url.path, exc_info=exc)
    message = "Une erreur interne est survenue."
    if wants_json(request):
        return JSONResponse(error_body("internal", message, None), status_code=500)
    return _page(
        request, 500, "internal", message, "Réessayez ; si cela persiste, voyez le journal."
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(e.DsnlinkError, dsnlink_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(Exception, internal_error_handler)
