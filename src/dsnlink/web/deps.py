"""What every route needs: the installation's services, the logged-in user, rights, rendering.

Routes are plain ``def`` functions (FastAPI runs them in its thread pool), because the
services are synchronous; the dependencies that read the database are too, except
:func:`require`, which on SQLite looks the session up in the event loop (see
:func:`_current_user_async`); the others are ``async`` (no thread-pool hop for reading an
attribute).

- :func:`services` (as a dependency: :func:`services_dependency`) — the opened installation
  (:class:`dsnlink.setup.App`): ``.accounts``, ``.store``, ``.settings``, ``.installation``...
- :func:`current_user` — the user of the session cookie, read afresh from the store (a
  disabled or deleted account is logged out at once); otherwise :class:`NotAuthenticated`
  (a redirect to ``/connexion`` for pages, 401 for the API).
- :func:`require` — ``Depends(require(Operation.USERS_LIST))``: the user, if the rights RULES
  allow each operation on their own objects (services check again, with the target).
- :func:`pipeline` — the installation's pipeline (deposits, returns, rates), opened once.
- :func:`render` — a template with the installation, the user and the navigation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from dsnlink.accounts.rights import Operation, allowed
from dsnlink.errors import AccessError, AccountDisabled, NotAuthenticated, PermissionDenied
from dsnlink.pipeline.context import Pipeline
from dsnlink.setup import App
from dsnlink.store.records import Module, User
from dsnlink.store.snapshot import cached, snapshot_key
from dsnlink.store.sql_accounts import SqlUserRepo
from dsnlink.web.sessions import COOKIE_NAME, Session, SessionStore

if TYPE_CHECKING:
    from dsnlink.web.app import PipelineHolder


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    #: Shown to users allowed this operation on their own objects; None: to everyone.
    operation: Operation | None


#: Every area of the Centre de maintenance, in the order of the navigation bar.
NAVIGATION: tuple[NavItem, ...] = (
    NavItem("Comptes utilisateurs", "/comptes", None),
    NavItem("Employeurs", "/employeurs", Operation.EMPLOYERS_LIST),
    NavItem("Dépôts", "/depots", Operation.DEPOSITS_READ),
    NavItem("Retours", "/retours", Operation.RETURNS_READ),
    NavItem("Taux PAS", "/taux-pas", Operation.PAS_RATES_READ),
    NavItem("Échéances", "/echeances", Operation.DEADLINES_READ),
    NavItem("Journal", "/journal", Operation.AUDIT_READ),
    NavItem("Maintenance", "/maintenance", Operation.MAINTENANCE_READ),
)

MODULE_LABELS: dict[Module, str] = {
    Module.CONFIGURATION: "Configuration",
    Module.ADMINISTRATION: "Administration",
    Module.PAYSLIPS: "Bulletins de paie",
    Module.DECLARATIONS: "Déclarations",
}


def now() -> datetime:
    return datetime.now(UTC)


def services(request: Request) -> App:
    app: App = request.app.state.ctx
    return app


async def services_dependency(request: Request) -> App:
    """:func:`services` as a route dependency. ``async``: FastAPI runs a plain ``def``
    dependency in its thread pool, and that hop (twice through the event loop) costs far more
    than reading an attribute; under load it queues behind every other request's work."""
    return services(request)


def sessions(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


def templates(request: Request) -> Jinja2Templates:
    t: Jinja2Templates = request.app.state.templates
    return t


def current_session(request: Request) -> Session:
    known = getattr(request.state, "session", None)
    if isinstance(known, Session):
        return known
    session = sessions(request).find(request.cookies.get(COOKIE_NAME), now())
    if session is None:
        raise NotAuthenticated()
    request.state.session = session
    return session


def optional_user(request: Request) -> User | None:
    """The logged-in user, or None (the login page, the error page)."""
    known = getattr(request.state, "user", None)
    if isinstance(known, User):
        return known
    try:
        return current_user(request)
    except AccessError:  # not logged in, or the account was disabled meanwhile
        return None


def current_user(request: Request) -> User:
    known = getattr(request.state, "user", None)
    if isinstance(known, User):
        return known
    row, user = _look_up(request)
    return _conclude(request, row, user, now())


def _look_up(request: Request) -> tuple[Any, User | None]:
    """The session row of the request's cookie and its user, in one read transaction, each kept
    while the database has not changed (dsnlink.store.snapshot)."""
    store = sessions(request)
    user: User | None = None
    with services(request).db.read() as conn:
        snapshot = snapshot_key(conn)
        row = store.read(conn, snapshot, request.cookies.get(COOKIE_NAME))
        if row is not None:
            user_id: int = row.user_id
            user = cached(conn, snapshot, ("user", user_id), lambda: SqlUserRepo(conn).get(user_id))
    return row, user


def _conclude(request: Request, row: Any, user: User | None, at: datetime) -> User:
    """The user of a looked-up session, or the access error (the session ends, in the database,
    if its account was disabled or deleted meanwhile)."""
    session = sessions(request).settle(request.cookies.get(COOKIE_NAME), row, at)
    if session is None:
        raise NotAuthenticated()
    request.state.session = session
    if user is None or user.disabled:
        sessions(request).close(session.id)
        request.state.session = None
        if user is not None:
            raise AccountDisabled(login=user.login)
        raise NotAuthenticated()
    request.state.user = user
    return user


async def _current_user_async(request: Request) -> User:
    """:func:`current_user` for ``async`` dependencies.

    On SQLite the usual case runs in the event loop: a WAL read never waits for a writer, and
    with the snapshot cache it is a BEGIN, a PRAGMA and two dictionary lookups, less than the
    two thread switches of a hop to the thread pool. Whenever the session needs a write (its
    expiry, its ``last_seen_at`` moved on, an account disabled meanwhile), which may wait for
    another process's writer, and always on PostgreSQL (network round trips), the work goes to
    the thread pool."""
    known = getattr(request.state, "user", None)
    if isinstance(known, User):
        return known
    if services(request).db.is_sqlite:
        row, user = _look_up(request)
        at = now()
        cookie = request.cookies.get(COOKIE_NAME)
        if user is not None and not user.disabled and not sessions(request).writes(cookie, row, at):
            return _conclude(request, row, user, at)
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(current_user, request)


CurrentUser = Annotated[User, Depends(current_user)]
Services = Annotated[App, Depends(services_dependency)]


def require(*rights: Operation | Module) -> Callable[[Request], Awaitable[User]]:
    """A dependency returning the user if they hold every right given.

    An :class:`Operation` is checked against the rights RULES (on one's own objects); a
    :class:`Module` must be held as such.
    """

    async def dependency(request: Request) -> User:
        user = await _current_user_async(request)
        for right in rights:
            if isinstance(right, Operation):
                ok = allowed(user, right, own=True)
            else:
                ok = right in user.rights
            if not ok:
                raise PermissionDenied(login=user.login, needs=str(right.value))
        return user

    return dependency


def may(user: User | None, operation: Operation | None, *, own: bool = True) -> bool:
    if user is None:
        return False
    return operation is None or allowed(user, operation, own=own)


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """``template`` with what every page shows: installation, user, navigation."""
    user = optional_user(request)
    app = services(request)
    base: dict[str, Any] = {
        "installation": app.installation,
        "user": user,
        "navigation": [item for item in NAVIGATION if may(user, item.operation)],
        "current_path": request.url.path,
        "module_labels": MODULE_LABELS,
        "may": lambda op, own=True: may(user, op, own=own),
    }
    base.update(context)
    return templates(request).TemplateResponse(request, template, base, status_code=status_code)


def pipeline(request: Request) -> Pipeline:
    """The installation's pipeline (ledger, portal client…), opened once per application."""
    holder: PipelineHolder = request.app.state.pipeline
    return holder.get()


PipelineDep = Annotated[Pipeline, Depends(pipeline)]
