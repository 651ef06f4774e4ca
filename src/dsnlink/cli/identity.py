"""``dsnlink identity …``: the Net-entreprises tab of a user account.

The password is typed hidden (twice) or read from standard input (``--password-stdin``),
never from the command line, and never shown again. Changing an identity asks the acting
user to confirm their own dsnlink password first (``DSNLINK_PASSWORD`` in scripts).
"""

from __future__ import annotations

import click

from dsnlink.cli._session import (
    acting_user,
    as_option,
    confirm_own_password,
    open_installation,
    read_secret,
    read_stdin_secret,
)
from dsnlink.cli._views import identity_dict, print_identities, with_header
from dsnlink.cli.output import console, emit, err_console, json_option
from dsnlink.store.records import Environment

ENVIRONMENT_OPTION = click.option(
    "--environment",
    type=click.Choice([e.value for e in Environment]),
    default=Environment.SIMULATOR.value,
    show_default=True,
    help="Plateforme Net-entreprises : production, test éditeurs, MSA, simulateur local, "
    "adresses personnalisées.",
)
USER_OPTION = click.option(
    "--user", "owner", metavar="IDENTIFIANT", help="Compte concerné (défaut : vous)."
)


@click.group()
def identity() -> None:
    """Identités Net-entreprises (SIRET, nom, prénom, mot de passe) des comptes."""


@identity.command("set")
@USER_OPTION
@click.option("--siret", required=True, help="SIRET du compte Net-entreprises (14 chiffres).")
@click.option("--nom", required=True, help="Nom, exactement comme sur Net-entreprises.")
@click.option("--prenom", required=True, help="Prénom, exactement comme sur Net-entreprises.")
@ENVIRONMENT_OPTION
@click.option("--password-stdin", is_flag=True, help="Lit le mot de passe sur l'entrée standard.")
@click.option(
    "--keep-password", is_flag=True, help="Garde le mot de passe enregistré (modification)."
)
@as_option
@json_option
def identity_set(
    owner: str | None,
    siret: str,
    nom: str,
    prenom: str,
    environment: str,
    password_stdin: bool,
    keep_password: bool,
    as_login: str | None,
    json_output: bool,
) -> None:
    """Enregistre l'identité Net-entreprises d'un compte."""
    # Imported here: --help loads no database, vault or linter code.
    from dsnlink.accounts import IdentityInput
    from dsnlink.connectivity.identity_lint import check_identity, previous_values

    with open_installation() as app:
        actor = acting_user(app, as_login)
        target = owner or actor.user.login
        confirm = confirm_own_password(actor.user.login)
        password: str | None = None
        if not keep_password:
            password = (
                read_stdin_secret()
                if password_stdin
                else read_secret("Mot de passe Net-entreprises", confirm=True)
            )
        values = IdentityInput(siret, nom, prenom, Environment(environment), password).checked()
        lint = check_identity(
            siret=siret,
            nom=nom,
            prenom=prenom,
            password=password,
            previous=previous_values(app, actor.user, target, values.environment),
        )
        saved = app.accounts.identities.set(
            actor.user, confirm=confirm, owner_login=target, values=values
        )
        data = identity_dict(saved, target)
    if not json_output:
        for finding in lint.warnings:
            err_console.print(f"[yellow]Attention :[/] {finding.message}")
    emit(
        data,
        json_output=json_output,
        render=lambda _d: console.print(
            f"Identité Net-entreprises de « {target} » ({environment}) enregistrée ; "
            "elle sera vérifiée au prochain test de connexion."
        ),
    )


@identity.command("show")
@USER_OPTION
@as_option
@json_option
def identity_show(owner: str | None, as_login: str | None, json_output: bool) -> None:
    """Affiche les identités d'un compte et leur état (jamais le mot de passe)."""
    with open_installation() as app:
        actor = acting_user(app, as_login)
        target = owner or actor.user.login
        rows = [identity_dict(i, target) for i in app.accounts.identities.show(actor.user, target)]
    emit(rows, json_output=json_output, render=with_header(app.installation, print_identities))


@identity.command("delete")
@USER_OPTION
@ENVIRONMENT_OPTION
@as_option
@json_option
def identity_delete(
    owner: str | None, environment: str, as_login: str | None, json_output: bool
) -> None:
    """Supprime une identité et son mot de passe chiffré."""
    with open_installation() as app:
        actor = acting_user(app, as_login)
        target = owner or actor.user.login
        confirm = confirm_own_password(actor.user.login)
        app.accounts.identities.delete(
            actor.user, confirm=confirm, owner_login=target, environment=Environment(environment)
        )
    emit(
        {"owner": target, "environment": environment, "deleted": True},
        json_output=json_output,
        render=lambda _d: console.print(f"Identité de « {target} » ({environment}) supprimée."),
    )


COMMANDS = [identity]
