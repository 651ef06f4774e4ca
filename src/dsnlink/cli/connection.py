"""``dsnlink connection …`` and ``dsnlink test-connection``: settings, linter, the blue ball."""

from __future__ import annotations

import sys

import click

from dsnlink.cli.output import console, emit, json_option

#: Exit code of ``connection lint`` when a value will certainly be refused.
EXIT_LINT_ERRORS = 2


@click.group("connection")
def connection_group() -> None:
    """Paramètres de connexion à Net-entreprises et vérification des identifiants."""


@connection_group.command("lint")
@click.option("--siret", required=True, help="SIRET du compte Net-entreprises.")
@click.option("--nom", required=True, help="Nom, tel qu'enregistré sur le portail.")
@click.option("--prenom", required=True, help="Prénom, tel qu'enregistré sur le portail.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Lire aussi le mot de passe sur l'entrée standard (tel quel, saut de ligne compris).",
)
@click.option("--previous-nom", help="Nom enregistré jusqu'ici (comparaison des accents).")
@click.option("--previous-prenom", help="Prénom enregistré jusqu'ici (comparaison des accents).")
@json_option
def lint_command(
    siret: str,
    nom: str,
    prenom: str,
    password_stdin: bool,
    previous_nom: str | None,
    previous_prenom: str | None,
    json_output: bool,
) -> None:
    """Montrer ce qui sera envoyé à Net-entreprises, caractère par caractère.

    Rien n'est modifié : les espaces, caractères invisibles, sauts de ligne, minuscules, accents
    et erreurs de SIRET sont signalés, et une valeur nettoyée est proposée.
    """
    from dsnlink.connectivity.linter import lint_identity
    from dsnlink.connectivity.render import render_lint

    password = None
    if password_stdin:
        # Read as is: a trailing newline pasted with the password is exactly what we look for,
        # so only the newline that ends the input line itself is removed.
        raw = sys.stdin.read()
        password = raw[:-1] if raw.endswith("\n") and raw.count("\n") == 1 else raw
    previous = {k: v for k, v in {"nom": previous_nom, "prenom": previous_prenom}.items() if v}
    report = lint_identity(
        siret=siret, nom=nom, prenom=prenom, motdepasse=password, previous=previous or None
    )
    emit(report.to_dict(), json_output=json_output, render=lambda _: render_lint(report, console))
    if not report.ok:
        sys.exit(EXIT_LINT_ERRORS)


COMMANDS = [connection_group]
