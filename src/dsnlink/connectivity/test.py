"""The connection test, "the blue ball": every check between this workstation and the portal.

Order of the report (independent steps run at the same time):

1. the settings and the credential linter's findings;
2. the proxy: reachable, and its authentication (its 407 told apart from the portal's);
3. for each host (authentication, deposit, listings, update feed): DNS, TCP, TLS, HTTP;
4. the installation's database (reachable, schema revision);
5. the update feed, and whether a newer version exists;
6. Net-entreprises authentication with the user's credentials: **at most one attempt per
   test**, and none at all when the identity is already known to be refused for its
   credentials since it was last changed (each new attempt brings the portal account closer to
   being locked); none either while the linter reports errors.

This module knows nothing of the store, the vault or the portal client: the caller hands over
the identity (already decrypted), one function that makes one authentication attempt, and one
that checks the database (see :mod:`dsnlink.connectivity.service`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import SecretStr

from dsnlink import __version__
from dsnlink.connectivity import probes
from dsnlink.connectivity.host_steps import TargetHost, host_steps, proxy_steps
from dsnlink.connectivity.linter import lint_identity
from dsnlink.connectivity.report import ConnectionReport, MarkSpec, build_mark
from dsnlink.connectivity.settings import (
    MODE_LABELS,
    TYPE_LABELS,
    ConnectionMode,
    ConnectionType,
    ResolvedConnection,
)
from dsnlink.connectivity.steps import (
    Budget,
    Outcome,
    Status,
    Step,
    StepContext,
    StepResult,
    run_steps,
)
from dsnlink.connectivity.update_feed import feed_step
from dsnlink.errors import (
    AccountLocked,
    CredentialError,
    DsnlinkError,
    NotRegisteredForDsn,
    PasswordExpired,
    SchemaMismatch,
    WrongCredentials,
)

#: Identity states that mean "refused for its credentials": no attempt until it is changed.
CREDENTIAL_FAILURE_STATES: dict[str, type[CredentialError]] = {
    "wrong_credentials": WrongCredentials,
    "password_expired": PasswordExpired,
    "not_registered": NotRegisteredForDsn,
    "locked": AccountLocked,
}


def state_of(error: CredentialError) -> str:
    for state, cls in CREDENTIAL_FAILURE_STATES.items():
        if isinstance(error, cls):
            return state
    return "wrong_credentials"


@dataclass(frozen=True)
class IdentityUnderTest:
    """The Net-entreprises identity of the user being tested, as stored."""

    login: str
    siret: str
    nom: str
    prenom: str
    password: SecretStr | None = field(default=None, repr=False)
    state: str = "untested"
    last_success: datetime | None = None
    #: Values it replaced, when known (the linter compares accents).
    previous: dict[str, str] | None = None

    @property
    def label(self) -> str:
        return f"{self.nom} {self.prenom} (SIRET {self.siret})"


@dataclass(frozen=True)
class DatabaseStatus:
    kind: str  # "sqlite" (monoposte) or "postgresql" (réseau)
    location: str  # without password
    revision: str | None
    expected: str | None


#: One authentication attempt; raises the ``PortalError`` subtree on refusal.
Authenticator = Callable[[IdentityUnderTest], Awaitable[None]]
DatabaseProbe = Callable[[], Awaitable[DatabaseStatus]]

MARKS = (
    MarkSpec(
        "authentication_server",
        "Adresse du serveur d'authentification",
        ("settings", "proxy.", "auth.", "deposit.", "listings."),
    ),
    MarkSpec("update_server", "Adresse du serveur de mise à jour", ("update.", "update_feed")),
    MarkSpec("netentreprises", "Adresse d'authentification Net Entreprise", ("lint", "login")),
)


# --- steps that are not per host ------------------------------------------------------------


def _settings_step(connection: ResolvedConnection) -> Step:
    async def run(_: StepContext) -> Outcome:
        s = connection.settings
        parts = [f"Type : {TYPE_LABELS[s.type]}", f"mode : {MODE_LABELS[s.mode]}"]
        warnings: list[str] = []
        if s.type is ConnectionType.PROXY and s.proxy is not None:
            parts.append(f"proxy : {s.proxy.host}:{s.proxy.port}{' (TLS)' if s.proxy.tls else ''}")
            if s.proxy.login and connection.proxy_password is None:
                warnings.append(
                    "un identifiant de proxy est indiqué mais aucun mot de passe n'est enregistré"
                )
            if s.proxy.login and not s.proxy.tls and s.mode is ConnectionMode.SECURISE:
                warnings.append("le mot de passe du proxy circule en clair jusqu'au proxy")
        if s.type is ConnectionType.SYSTEM:
            found = {k: v for k, v in connection.system_proxies.items() if k != "no"}
            if found:
                parts.append("proxy du système : " + ", ".join(sorted(set(found.values()))))
            else:
                parts.append("aucun proxy défini par le système")
        timeouts = f"délais : {connection.connect_timeout:g} s / {connection.read_timeout:g} s"
        parts.append(timeouts)
        if s.ca_bundle is not None and not s.ca_bundle.is_file():
            return Outcome.failure(
                f"Le fichier d'autorités de certification {s.ca_bundle} est introuvable.",
                "Corrigez le réglage ca_bundle (« dsnlink connection set --ca-bundle »).",
                "configuration",
            )
        detail = " ; ".join(parts) + "."
        if warnings:
            return Outcome.warning(
                detail + " Attention : " + " ; ".join(warnings) + ".",
                "Complétez les paramètres du proxy (« dsnlink connection set »).",
            )
        return Outcome.ok(detail, type=s.type.value, mode=s.mode.value)

    return Step("settings", "Paramètres de connexion", run, group="Configuration")


def _lint_step(identity: IdentityUnderTest | None) -> Step:
    async def run(_: StepContext) -> Outcome:
        if identity is None:
            return Outcome.skipped("Aucune identité Net-entreprises n'est enregistrée.")
        report = lint_identity(
            siret=identity.siret,
            nom=identity.nom,
            prenom=identity.prenom,
            motdepasse=identity.password.get_secret_value() if identity.password else None,
            previous=identity.previous,
        )
        shown = " ; ".join(f"{r.field} = {r.visible}" for r in report.fields)
        data = {"lint": report.to_dict()}
        if report.errors:
            messages = " ".join(f.message for f in report.errors)
            return Outcome.failure(
                f"Ce qui serait envoyé : {shown}. {messages}",
                "Corrigez l'identité (« dsnlink connection lint » montre la valeur nettoyée "
                "proposée), puis relancez le test.",
                "invalid_input",
                **data,
            )
        if report.warnings:
            return Outcome.warning(
                f"Ce qui sera envoyé : {shown}. " + " ".join(f.message for f in report.warnings),
                "Vérifiez ces points sur net-entreprises.fr ; ils peuvent être justes.",
                **data,
            )
        return Outcome.ok(f"Ce qui sera envoyé : {shown}.", **data)

    return Step("lint", "Saisie des identifiants", run, group="Configuration")


def _database_step(database: DatabaseProbe | None, timeout: float) -> Step:
    async def run(_: StepContext) -> Outcome:
        if database is None:
            return Outcome.skipped("Base de données non vérifiée.")
        status = await database()
        where = f"{status.kind} ({status.location})"
        if status.expected is not None and status.revision != status.expected:
            error = SchemaMismatch()
            return Outcome.failure(
                f"Base {where} joignable, mais au schéma {status.revision or 'vide'} au lieu de "
                f"{status.expected}.",
                error.remedy,
                error.code,
                revision=status.revision,
                expected=status.expected,
            )
        return Outcome.ok(
            f"Base {where} joignable, schéma {status.revision or 'inconnu'} à jour.",
            kind=status.kind,
            revision=status.revision,
        )

    return Step(
        "database", "Base de données de l'installation", run, group="Installation", timeout=timeout
    )


def _login_step(
    identity: IdentityUnderTest | None,
    authenticate: Authenticator | None,
    timeout: float,
    attempts: list[str],
) -> Step:
    async def run(_: StepContext) -> Outcome:
        if identity is None or authenticate is None:
            return Outcome.skipped(
                "Aucune identité Net-entreprises à tester pour cet utilisateur.",
                "Saisissez les identifiants Net-entreprises de l'utilisateur.",
            )
        known = CREDENTIAL_FAILURE_STATES.get(identity.state)
        if known is not None:
            error = known()
            return Outcome.failure(
                "Aucun essai fait : Net-entreprises a déjà refusé cette identité et elle n'a pas "
                "changé depuis ; chaque essai refusé rapproche du blocage du compte sur le "
                f"portail. Dernière réponse : {error.message}",
                error.remedy,
                error.code,
                attempted=False,
                state=identity.state,
            )
        if identity.password is None:
            return Outcome.skipped(
                "Aucun mot de passe Net-entreprises n'est enregistré pour cette identité.",
                "Saisissez le mot de passe Net-entreprises.",
            )
        if attempts:  # at most one attempt per test, whatever happens
            return Outcome.skipped("Une tentative a déjà été faite pendant ce test.")
        attempts.append(identity.login)
        try:
            await authenticate(identity)
        except CredentialError as exc:
            return Outcome.failure(
                exc.message, exc.remedy, exc.code, attempted=True, state=state_of(exc)
            )
        except DsnlinkError as exc:
            return Outcome.failure(exc.message, exc.remedy, exc.code, attempted=True)
        return Outcome.ok(
            f"Net-entreprises accepte les identifiants de {identity.label}.",
            attempted=True,
            state="ok",
        )

    return Step(
        "login",
        "Authentification Net-entreprises",
        run,
        ("lint", "auth.http"),
        "Net-entreprises",
        timeout=timeout,
    )


# --- the test -------------------------------------------------------------------------------


async def run_connection_test_async(
    connection: ResolvedConnection,
    hosts: Sequence[TargetHost],
    *,
    identity: IdentityUnderTest | None = None,
    authenticate: Authenticator | None = None,
    database: DatabaseProbe | None = None,
    current_version: str = __version__,
    context: dict[str, object] | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> ConnectionReport:
    """Run every step; never more than one authentication attempt.

    ``on_step`` sees each step's result as soon as it ends.
    """
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    feed_url = connection.settings.update_feed_url
    targets = [*hosts, TargetHost("update", "Serveur de mise à jour", feed_url)]
    extra_cas = probes.bundle_certificates(connection.settings.ca_bundle)
    auth_target = next((t for t in targets if t.role == "auth"), targets[0])
    steps: list[Step] = [_settings_step(connection), _lint_step(identity)]
    budget = Budget(connection.deadline)
    steps += proxy_steps(connection, auth_target, budget)
    proxy_checked = any(s.id == "proxy.auth" for s in steps)
    for target in targets:
        steps += host_steps(
            connection, target, budget=budget, extra_cas=extra_cas, proxy_checked=proxy_checked
        )
    # The database and the authentication are not network probes of the budget: each has the
    # whole connect + read time of the mode.
    call_time = connection.connect_timeout + connection.read_timeout
    steps.append(_database_step(database, call_time))
    steps.append(feed_step(connection, feed_url, current_version, budget))
    attempts: list[str] = []
    steps.append(_login_step(identity, authenticate, call_time, attempts))
    results = await run_steps(steps, on_result=on_step)
    marks = tuple(build_mark(spec, results) for spec in MARKS)
    info: dict[str, object] = {
        "type": connection.type.value,
        "mode": connection.mode.value,
        "hosts": {t.role: t.url for t in targets},
        "identity": identity.label if identity else None,
        "authentication_attempts": len(attempts),
        **(context or {}),
    }
    return ConnectionReport(
        started_at=started_at,
        duration=time.perf_counter() - started,
        marks=marks,
        steps=tuple(results),
        context=info,
    )


def run_connection_test(
    connection: ResolvedConnection,
    hosts: Sequence[TargetHost],
    *,
    identity: IdentityUnderTest | None = None,
    authenticate: Authenticator | None = None,
    database: DatabaseProbe | None = None,
    current_version: str = __version__,
    context: dict[str, object] | None = None,
) -> ConnectionReport:
    """Synchronous entry point (CLI; web handlers run it in a thread)."""
    return asyncio.run(
        run_connection_test_async(
            connection,
            hosts,
            identity=identity,
            authenticate=authenticate,
            database=database,
            current_version=current_version,
            context=context,
        )
    )


def login_state(report: ConnectionReport) -> str | None:
    """The identity state the test established, if it made an attempt (to record it)."""
    try:
        step = report.step("login")
    except KeyError:
        return None
    if not step.data.get("attempted"):
        return None
    state = step.data.get("state")
    return state if isinstance(state, str) else None


__all__ = [
    "CREDENTIAL_FAILURE_STATES",
    "DatabaseStatus",
    "IdentityUnderTest",
    "Status",
    "TargetHost",
    "login_state",
    "run_connection_test",
    "run_connection_test_async",
]
