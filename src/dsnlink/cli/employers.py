"""``dsnlink employers …`` and ``dsnlink audit``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import click

from dsnlink.cli._session import acting_user, as_option, open_installation
from dsnlink.cli._views import audit_dict, employer_dict, print_audit, print_employers, with_header
from dsnlink.cli.output import console, emit, json_option
from dsnlink.errors import InvalidInput
from dsnlink.store.records import Environment

if TYPE_CHECKING:
    from dsnlink.setup import App


def owners(app: App) -> tuple[dict[int, str], dict[int, str]]:
    """Logins by user id, and owners' logins by identity id (for display)."""
    with app.store.read() as r:
        logins = {u.id: u.login for u in r.users.all()}
        identities = {i.id: logins.get(i.owner_user_id, "?") for i in r.identities.all()}
    return logins, identities


@click.group()
def employers() -> None:
    """Employeurs déclarés et comptes autorisés à déclarer pour eux."""


@employers.command("add")
@click.argument("siret")
@click.argument("name")
@click.option("--due-day", type=click.Choice(["5", "15"]), default="15", show_default=True)
@as_option
@json_option
def employers_add(
    siret: str, name: str, due_day: str, as_login: str | None, json_output: bool
) -> None:
    """Ajoute un employeur (SIRET, nom, échéance de la DSN le 5 ou le 15)."""
    with open_installation() as app:
        actor = acting_user(app, as_login)
        e = app.accounts.employers.add(actor.user, siret=siret, name=name, due_day=int(due_day))
    emit(
        {"siret": e.siret, "name": e.name, "due_day": e.due_day},
        json_output=json_output,
        render=lambda _d: console.print(f"Employeur « {e.name} » ({e.siret}) ajouté."),
    )


@employers.command("list")
@as_option
@json_option
def employers_list(as_login: str | None, json_output: bool) -> None:
    """Liste les employeurs (ceux auxquels vous êtes rattaché, sans droit configuration)."""
    with open_installation() as app:
        actor = acting_user(app, as_login)
        logins, identity_owners = owners(app)
        rows = [
            employer_dict(v, logins, identity_owners)
            for v in app.accounts.employers.list(actor.user)
        ]
    emit(rows, json_output=json_output, render=with_header(app.installation, print_employers))


@employers.command("link")
@click.argument("siret")
@click.argument("login")
@click.option(
    "--identity-of",
    metavar="IDENTIFIANT",
    help="Utiliser l'identité Net-entreprises de ce compte (défaut : celle du déclarant).",
)
@click.option(
    "--environment",
    type=click.Choice([e.value for e in Environment]),
    help="Environnement de l'identité à utiliser.",
)
@as_option
@json_option
def employers_link(
    siret: str,
    login: str,
    identity_of: str | None,
    environment: str | None,
    as_login: str | None,
    json_output: bool,
) -> None:
    """Autorise un compte à déclarer pour un employeur, avec une identité donnée."""
    if identity_of and not environment:
        environment = Environment.SIMULATOR.value
    with open_installation() as app:
        actor = acting_user(app, as_login)
        link = app.accounts.employers.link(
            actor.user,
            siret=siret,
            user_login=login,
            identity_owner=identity_of,
            environment=Environment(environment) if environment else None,
        )
    emit(
        {"siret": siret, "user": login, "identity_id": link.identity_id},
        json_output=json_output,
        render=lambda _d: console.print(f"« {login} » peut déclarer pour {siret}."),
    )


@employers.command("unlink")
@click.argument("siret")
@click.argument("login")
@as_option
@json_option
def employers_unlink(siret: str, login: str, as_login: str | None, json_output: bool) -> None:
    """Retire à un compte le droit de déclarer pour un employeur."""
    with open_installation() as app:
        actor = acting_user(app, as_login)
        app.accounts.employers.unlink(actor.user, siret=siret, user_login=login)
    emit(
        {"siret": siret, "user": login, "unlinked": True},
        json_output=json_output,
        render=lambda _d: console.print(f"« {login} » ne déclare plus pour {siret}."),
    )


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
        except ValueError as exc:
            raise InvalidInput(
                f"Date illisible : {value}.", remedy="Exemple : 2026-03-01 ou 2026-03-01T08:00"
            ) from exc
    return parsed.astimezone(UTC) if parsed.tzinfo is None else parsed


@click.command()
@click.option("--since", metavar="DATE", help="Depuis cette date (AAAA-MM-JJ[THH:MM]).")
@click.option("--user", "user", metavar="IDENTIFIANT", help="Seulement les actions de ce compte.")
@click.option("--limit", default=200, show_default=True, help="Nombre d'entrées au plus.")
@as_option
@json_option
def audit(
    since: str | None, user: str | None, limit: int, as_login: str | None, json_output: bool
) -> None:
    """Journal d'audit : qui a fait quoi, pour le compte de qui, quand (jamais un secret)."""
    when = _since(since)
    with open_installation() as app:
        actor = acting_user(app, as_login)
        rows = [
            audit_dict(e)
            for e in app.accounts.audit.search(actor.user, since=when, login=user, limit=limit)
        ]
    emit(rows, json_output=json_output, render=with_header(app.installation, print_audit))


COMMANDS = [employers, audit]
