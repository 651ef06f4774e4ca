"""What the account commands share: opening the installation, the acting user, secrets typed.

The acting user comes from ``--as LOGIN`` or ``DSNLINK_USER``; on a monoposte installation
with a single account, it is the Administrateur. Their password comes from
``DSNLINK_PASSWORD`` (scripts) or a hidden prompt. Secrets are never read from arguments.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from dsnlink.errors import InvalidInput
from dsnlink.redaction import register_secret
from dsnlink.store.records import Mode, User

if TYPE_CHECKING:
    from dsnlink.setup import App

as_option = click.option(
    "--as",
    "as_login",
    metavar="IDENTIFIANT",
    help="Compte dsnlink qui agit (défaut : DSNLINK_USER, ou l'Administrateur en monoposte "
    "s'il est le seul compte).",
)


def open_installation() -> App:
    # Imported here: loading the store and the vault is for commands that run, not --help.
    from dsnlink.settings import get_settings
    from dsnlink.setup import open_app

    return open_app(get_settings())


def _default_login(app: App) -> str:
    env = os.environ.get("DSNLINK_USER")
    if env:
        return env
    with app.store.read() as r:
        users = r.users.all()
    if app.installation.mode is Mode.MONOPOSTE and len(users) == 1:
        return users[0].login
    raise InvalidInput(
        "Précisez le compte qui agit.",
        remedy="Ajoutez --as IDENTIFIANT, ou définissez DSNLINK_USER.",
    )


def read_secret(prompt: str, *, env: str | None = None, confirm: bool = False) -> str:
    """A secret from ``env`` (scripts) or a hidden prompt; never from the command line."""
    if env and os.environ.get(env) is not None:
        value = os.environ[env]
    elif not sys.stdin.isatty():
        raise InvalidInput(
            f"{prompt} : aucune saisie possible (pas de terminal).",
            remedy=f"Définissez {env} pour les scripts." if env else "Lancez dans un terminal.",
        )
    else:
        value = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    register_secret(value)
    return value


def read_stdin_secret() -> str:
    """One line from standard input (``--password-stdin``), without its line end."""
    line = sys.stdin.readline()
    value = line.rstrip("\r\n")
    if not value:
        raise InvalidInput("Aucun mot de passe lu sur l'entrée standard.")
    register_secret(value)
    return value


@dataclass(frozen=True)
class Acting:
    """The authenticated user, and the password they logged in with (for ``users passwd``)."""

    user: User
    password: str = field(repr=False)


def acting_user(app: App, as_login: str | None) -> Acting:
    login = as_login or _default_login(app)
    password = read_secret(f"Mot de passe dsnlink de {login}", env="DSNLINK_PASSWORD")
    return Acting(app.accounts.users.authenticate(login, password), password)


def confirm_own_password(login: str) -> str:
    """The acting user re-types their own password before changing credentials."""
    return read_secret(
        f"Confirmez votre propre mot de passe dsnlink ({login})", env="DSNLINK_PASSWORD"
    )
