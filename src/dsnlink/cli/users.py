"""``dsnlink users …`` and ``dsnlink rights …``: local accounts and their rights."""

from __future__ import annotations

import click

from dsnlink.cli._session import (
    acting_user,
    as_option,
    open_installation,
    read_secret,
    read_stdin_secret,
)
from dsnlink.cli._views import print_users, user_dict, with_header
from dsnlink.cli.output import console, emit, json_option
from dsnlink.store.records import Module

MODULE_CHOICE = click.Choice([m.value for m in Module])


def _new_password(from_stdin: bool, login: str) -> str:
    if from_stdin:
        return read_stdin_secret()
    return read_secret(f"Nouveau mot de passe dsnlink de {login}", confirm=True)


def _done(message: str, data: dict[str, object], json_output: bool) -> None:
    emit(data, json_output=json_output, render=lambda _d: console.print(message))


@click.group()
def users() -> None:
    """Comptes utilisateurs de l'installation."""


@users.command("list")
@as_option
@json_option
def users_list(as_login: str | None, json_output: bool) -> None:
    """Liste les comptes et leurs droits."""
    with open_installation() as app:
        actor = acting_user(app, as_login)
        rows = [user_dict(u) for u in app.accounts.users.list(actor.user)]
    emit(rows, json_output=json_output, render=with_header(app.installation, print_users))


@users.command("show")
@click.argument("login")
@as_option
@json_option
def users_show(login: str, as_login: str | None, json_output: bool) -> None:
    """Affiche un compte."""
    with open_installation() as app:
        actor = acting_user(app, as_login)
        data = user_dict(app.accounts.users.get(actor.user, login))
    emit(data, json_output=json_output, render=lambda d: print_users([d], title="Utilisateur"))


@users.command("create")
@click.argument("login")
@click.option("--name", "display_name", help="Nom affiché (défaut : l'identifiant).")
@click.option("--right", "rights", multiple=True, type=MODULE_CHOICE, help="Droit (répétable).")
@click.option("--password-stdin", is_flag=True, help="Lit le mot de passe sur l'entrée standard.")
@as_option
@json_option
def users_create(
    login: str,
    display_name: str | None,
    rights: tuple[str, ...],
    password_stdin: bool,
    as_login: str | None,
    json_output: bool,
) -> None:
    """Crée un compte (mot de passe demandé deux fois, saisie masquée)."""
    with open_installation() as app:
        actor = acting_user(app, as_login)
        password = _new_password(password_stdin, login)
        user = app.accounts.users.create(
            actor.user,
            login=login,
            display_name=display_name or login,
            password=password,
            rights=[Module(r) for r in rights],
        )
    _done(f"Compte « {user.login} » créé.", user_dict(user), json_output)


@users.command("edit")
@click.argument("login")
@click.option("--name", "display_name", required=True, help="Nouveau nom affiché.")
@as_option
@json_option
def users_edit(login: str, display_name: str, as_login: str | None, json_output: bool) -> None:
    """Change le nom affiché d'un compte."""
    with open_installation() as app:
        actor = acting_user(app, as_login)
        user = app.accounts.users.edit(actor.user, login, display_name=display_name)
    _done(f"Compte « {user.login} » modifié.", user_dict(user), json_output)


def _set_disabled(login: str, disabled: bool, as_login: str | None, json_output: bool) -> None:
    with open_installation() as app:
        actor = acting_user(app, as_login)
        user = app.accounts.users.set_disabled(actor.user, login, disabled)
    word = "désactivé" if disabled else "réactivé"
    _done(f"Compte « {user.login} » {word}.", user_dict(user), json_output)


@users.command("disable")
@click.argument("login")
@as_option
@json_option
def users_disable(login: str, as_login: str | None, json_output: bool) -> None:
    """Désactive un compte (il ne peut plus rien faire)."""
    _set_disabled(login, True, as_login, json_output)


@users.command("enable")
@click.argument("login")
@as_option
@json_option
def users_enable(login: str, as_login: str | None, json_output: bool) -> None:
    """Réactive un compte."""
    _set_disabled(login, False, as_login, json_output)


@users.command("delete")
@click.argument("login")
@click.option("--yes", is_flag=True, help="Ne pas demander de confirmation.")
@as_option
@json_option
def users_delete(login: str, yes: bool, as_login: str | None, json_output: bool) -> None:
    """Supprime un compte, ses identités Net-entreprises et ses rattachements."""
    with open_installation() as app:
        actor = acting_user(app, as_login)
        if not yes:
            click.confirm(f"Supprimer définitivement le compte « {login} » ?", abort=True)
        app.accounts.users.delete(actor.user, login)
    _done(f"Compte « {login} » supprimé.", {"login": login, "deleted": True}, json_output)


@users.command("passwd")
@click.argument("login", required=False)
@click.option("--password-stdin", is_flag=True, help="Lit le mot de passe sur l'entrée standard.")
@as_option
@json_option
def users_passwd(
    login: str | None, password_stdin: bool, as_login: str | None, json_output: bool
) -> None:
    """Change le mot de passe d'un compte (le vôtre par défaut)."""
    with open_installation() as app:
        actor = acting_user(app, as_login)
        target = login or actor.user.login
        app.accounts.users.change_password(
            actor.user,
            target,
            new_password=_new_password(password_stdin, target),
            current_password=actor.password,
        )
    _done(f"Mot de passe de « {target} » changé.", {"login": target, "changed": True}, json_output)


@click.group()
def rights() -> None:
    """Droits des comptes, par module."""


def _change_rights(
    login: str, modules: tuple[str, ...], grant: bool, as_login: str | None, json_output: bool
) -> None:
    chosen = [Module(m) for m in modules]
    with open_installation() as app:
        actor = acting_user(app, as_login)
        kwargs = {"grant": chosen} if grant else {"revoke": chosen}
        user = app.accounts.users.change_rights(actor.user, login, **kwargs)
    _done(f"Droits de « {user.login} » modifiés.", user_dict(user), json_output)


@rights.command("grant")
@click.argument("login")
@click.argument("modules", nargs=-1, required=True, type=MODULE_CHOICE)
@as_option
@json_option
def rights_grant(
    login: str, modules: tuple[str, ...], as_login: str | None, json_output: bool
) -> None:
    """Accorde des droits : configuration, administration, payslips, declarations."""
    _change_rights(login, modules, True, as_login, json_output)


@rights.command("revoke")
@click.argument("login")
@click.argument("modules", nargs=-1, required=True, type=MODULE_CHOICE)
@as_option
@json_option
def rights_revoke(
    login: str, modules: tuple[str, ...], as_login: str | None, json_output: bool
) -> None:
    """Retire des droits."""
    _change_rights(login, modules, False, as_login, json_output)


COMMANDS = [users, rights]
