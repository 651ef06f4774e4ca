"""The connection test and the connection settings of an installation, for one acting user.

This is where the pure parts meet the installation: settings from the ``settings`` table
(through the accounts' rights checks), the proxy password from the vault, the identity and its
password from the accounts (which refuse to open a password the portal already refused), the
database's revision, and afterwards the identity's new state and an audit entry.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from dsnlink.accounts.base import Services, audit, current_actor
from dsnlink.accounts.passwords import PasswordHasher
from dsnlink.accounts.records_service import INSTALLATION_SCOPE
from dsnlink.connectivity.host_steps import TargetHost
from dsnlink.connectivity.report import ConnectionReport
from dsnlink.connectivity.settings import ResolvedConnection
from dsnlink.connectivity.settings_store import ConnectionSettingsService, user_scope
from dsnlink.connectivity.steps import StepResult
from dsnlink.connectivity.test import (
    Authenticator,
    DatabaseStatus,
    IdentityUnderTest,
    login_state,
    run_connection_test_async,
)
from dsnlink.errors import CredentialError, NotFound, PermissionDenied
from dsnlink.setup import App
from dsnlink.store.records import Identity, IdentityState, User
from dsnlink.store.schema import current_revision, head_revision
from dsnlink.store.sql import utc_now

if TYPE_CHECKING:
    from dsnlink.portal.client import PortalClient
    from dsnlink.portal.transport import TransportOptions


class _ActorSettings:
    """The ``settings`` table seen by one user, rights checked by the accounts service."""

    def __init__(self, app: App, actor: User) -> None:
        self._app = app
        self._actor = actor

    def get(self, scope: str, key: str) -> Any | None:
        row = self._app.accounts.settings.get(self._actor, scope, key)
        return None if row is None else row.value

    def put(self, scope: str, key: str, value: Any) -> None:
        self._app.accounts.settings.put(self._actor, scope, key, value)

    def delete(self, scope: str, key: str) -> None:
        self._app.accounts.settings.delete(self._actor, scope, key)


class _LazyVault:
    """The vault, opened only when a proxy password is read or written."""

    def __init__(self, app: App) -> None:
        self._app = app

    def put_secret(self, ref: Any, value: str) -> None:
        self._app.vault.put_secret(ref, value)

    def get_secret(self, ref: Any) -> str | None:
        with self._app.store.read() as r:
            if r.secrets.get_sealed(ref) is None:
                return None  # nothing sealed: no need for the master key
        return self._app.vault.get_secret(ref)

    def delete_secret(self, ref: Any) -> None:
        with self._app.store.write() as r:
            r.secrets.delete_sealed(ref)


def connection_settings(app: App, actor: User) -> ConnectionSettingsService:
    return ConnectionSettingsService(_ActorSettings(app, actor), _LazyVault(app))


def user_id_of(app: App, login: str) -> int:
    with app.store.read() as r:
        user = r.users.by_login(login)
    if user is None:
        raise NotFound(f"L'utilisateur « {login} » n'existe pas.", login=login)
    return user.id


def scope_for(app: App, login: str | None) -> str:
    return INSTALLATION_SCOPE if login is None else user_scope(user_id_of(app, login))


async def _database_status(app: App) -> DatabaseStatus:
    def check() -> DatabaseStatus:
        kind = "sqlite" if app.db.is_sqlite else "postgresql"
        # A StoreError (server down, refused) becomes the step's failure with its remedy.
        return DatabaseStatus(kind, app.db.describe(), current_revision(app.db), head_revision())

    return await asyncio.to_thread(check)


@dataclass(frozen=True)
class Prepared:
    identity: Identity | None
    under_test: IdentityUnderTest | None
    note: str | None


def _prepare_identity(app: App, actor: User, owner_login: str, environment: str | None) -> Prepared:
    identities = app.accounts.identities.show(actor, owner_login)
    if environment is not None:
        identities = [i for i in identities if i.environment.value == environment]
    if not identities:
        return Prepared(None, None, None)
    identity = identities[0]
    password: SecretStr | None = None
    note = None
    try:
        password = SecretStr(app.accounts.identities.open_password(actor, identity.id))
    except CredentialError:
        pass  # the state says it: the test explains and makes no attempt
    except PermissionDenied as exc:
        note = exc.message
    under_test = IdentityUnderTest(
        login=owner_login,
        siret=identity.siret,
        nom=identity.nom,
        prenom=identity.prenom,
        password=password,
        state=identity.state.value,
        last_success=identity.last_login_at,
    )
    return Prepared(identity, under_test, note)


HostsFor = Callable[[Identity | None], Sequence[TargetHost]]
AuthenticatorFor = Callable[[ResolvedConnection, Identity | None], Authenticator]


def run_for_user(
    app: App,
    actor: User,
    *,
    owner_login: str | None,
    hosts_for: HostsFor,
    authenticator_for: AuthenticatorFor | None,
    environment: str | None = None,
    environ_proxies: dict[str, str] | None = None,
    fallback_ca_bundle: Path | None = None,
    context: dict[str, object] | None = None,
    typed: IdentityUnderTest | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> ConnectionReport:
    """The connection test for ``owner_login`` (default: the actor), then its consequences.

    ``typed``: credentials typed but not saved yet (the web's Net-entreprises tab tests them
    before « Enregistrer », as the sheet asks); they are tested instead of the stored identity,
    whose state is then left alone (the attempt is still audited). ``on_step`` sees each step
    as it ends.
    """
    login = owner_login or actor.login
    owner_id = user_id_of(app, login)
    connection = connection_settings(app, actor).resolve(owner_id, environ_proxies=environ_proxies)
    if connection.settings.ca_bundle is None and fallback_ca_bundle is not None:
        # The process-wide CA bundle (DSNLINK_PORTAL_CA_BUNDLE) when none is stored.
        settings = connection.settings.model_copy(update={"ca_bundle": fallback_ca_bundle})
        connection = dataclasses.replace(connection, settings=settings)
    prepared = _prepare_identity(app, actor, login, environment)
    if typed is not None:
        if prepared.identity is None:
            # Entering credentials for the first time needs the same right as saving them.
            app.accounts.identities.check_can_set(actor, login)
        prepared = Prepared(prepared.identity, typed, None)
    authenticate = None
    if (prepared.identity is not None or typed is not None) and authenticator_for is not None:
        authenticate = authenticator_for(connection, prepared.identity)
    context = {"user": login, **(context or {})}
    if prepared.identity is not None:
        context["environment"] = prepared.identity.environment.value
        last = prepared.identity.last_login_at
        context["last_success"] = last.isoformat() if last else None
    if prepared.note:
        context["note"] = prepared.note

    async def database() -> DatabaseStatus:
        return await _database_status(app)

    report = asyncio.run(
        run_connection_test_async(
            connection,
            hosts_for(prepared.identity),
            identity=prepared.under_test,
            authenticate=authenticate,
            database=database,
            context=context,
            on_step=on_step,
        )
    )
    _record(app, actor, None if typed is not None else prepared.identity, report)
    return report


def _record(app: App, actor: User, identity: Identity | None, report: ConnectionReport) -> None:
    state = login_state(report)
    if identity is not None and report.context.get("authentication_attempts"):
        new_state = IdentityState(state) if state else IdentityState.FAILING
        app.accounts.identities.record_state(
            actor, identity.id, new_state, detail=report.step("login").code
        )
    ctx = Services(app.store, PasswordHasher(app.settings.password_hash_profile), utc_now)
    with app.store.write() as r:
        fresh = current_actor(r, actor)
        audit(
            r,
            ctx,
            fresh,
            "connection.test",
            "user",
            str(report.context.get("user")),
            as_whom=f"identity:{identity.id}" if identity is not None else None,
            status=report.status.value,
            marks={m.id: m.status.value for m in report.marks},
            attempts=report.context.get("authentication_attempts", 0),
            failed_steps=[s.id for s in report.steps if s.status.value == "failure"],
        )


def run_installation_test(
    app: App,
    actor: User,
    *,
    owner_login: str | None = None,
    environment: str | None = None,
    environ_proxies: dict[str, str] | None = None,
    typed: IdentityUnderTest | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> ConnectionReport:
    """The connection test against the configured Net-entreprises environment."""
    from dsnlink.connectivity.portal_bridge import (
        PROFILE_ENVIRONMENTS,
        portal_authenticator,
        portal_hosts,
    )
    from dsnlink.portal.core import config_from_settings

    config = config_from_settings(app.settings)
    endpoints = config.endpoints
    simulator = endpoints.profile == "simulator"
    fallback_ca = app.settings.portal_ca_bundle

    def authenticator_for(
        connection: ResolvedConnection, _identity: Identity | None
    ) -> Authenticator:
        return portal_authenticator(connection, config, ca_is_simulator=simulator)

    return run_for_user(
        app,
        actor,
        owner_login=owner_login,
        hosts_for=lambda _identity: portal_hosts(endpoints),
        authenticator_for=authenticator_for,
        environment=environment or PROFILE_ENVIRONMENTS.get(endpoints.profile),
        environ_proxies=environ_proxies,
        fallback_ca_bundle=fallback_ca,
        context={"profile": endpoints.profile},
        typed=typed,
        on_step=on_step,
    )


# --- every portal call ----------------------------------------------------------------------


class _StoredSettings:
    """The ``settings`` table read by the program itself (workers, deposits): no acting user,
    read only."""

    def __init__(self, app: App) -> None:
        self._app = app

    def get(self, scope: str, key: str) -> Any | None:
        with self._app.store.read() as r:
            row = r.settings.get(scope, key)
        return None if row is None else row.value

    def put(self, scope: str, key: str, value: Any) -> None:
        raise PermissionDenied("Les paramètres de connexion se modifient par un utilisateur.")

    def delete(self, scope: str, key: str) -> None:
        raise PermissionDenied("Les paramètres de connexion se modifient par un utilisateur.")


def transport_options_for(app: App, user_id: int | None = None) -> TransportOptions:
    """The portal client's options for the installation (or one user): how every portal call
    honours the stored connection settings.

    When no connection setting is stored at all (a fresh installation, or one configured by
    environment variables only), the process settings ``DSNLINK_PORTAL_*`` apply unchanged.
    """
    from dsnlink.connectivity.portal_bridge import transport_options
    from dsnlink.portal.transport import options_from_settings

    service = ConnectionSettingsService(_StoredSettings(app), _LazyVault(app))
    stored = service.stored(INSTALLATION_SCOPE) or (
        service.stored(user_scope(user_id)) if user_id is not None else {}
    )
    if not stored:
        return options_from_settings(app.settings)
    connection = service.resolve(user_id)
    if connection.settings.ca_bundle is None and app.settings.portal_ca_bundle is not None:
        settings = connection.settings.model_copy(
            update={"ca_bundle": app.settings.portal_ca_bundle}
        )
        connection = dataclasses.replace(connection, settings=settings)
    return transport_options(connection, ca_is_simulator=app.settings.portal_profile == "simulator")


def portal_client_for(app: App, user_id: int | None = None) -> PortalClient:
    """A portal client for this installation that goes the way its settings say."""
    from dsnlink.portal.client import PortalClient
    from dsnlink.portal.core import config_from_settings

    return PortalClient(config_from_settings(app.settings), transport_options_for(app, user_id))
