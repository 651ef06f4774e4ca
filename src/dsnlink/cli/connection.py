"""``dsnlink connection …`` and ``dsnlink test-connection``: settings, linter, the blue ball."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from dsnlink.cli._session import acting_user, as_option, open_installation, read_stdin_secret
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


USER_OPTION = click.option(
    "--user",
    "owner",
    metavar="IDENTIFIANT",
    help="Réglages propres à ce compte (défaut : ceux de l'installation).",
)


def _show_data(app: Any, actor: Any, owner: str | None) -> dict[str, Any]:
    from dsnlink.connectivity.service import connection_settings, user_id_of

    service = connection_settings(app, actor)
    user_id = user_id_of(app, owner) if owner else None
    resolved = service.resolve(user_id)
    settings = resolved.settings.model_dump(mode="json")
    return {
        "user": owner,
        "settings": settings,
        "sources": resolved.sources,
        "proxy_pw_stored": resolved.proxy_password is not None,
        "connect_timeout": resolved.connect_timeout,
        "read_timeout": resolved.read_timeout,
        "retries": resolved.profile.retries,
    }


def _render_show(data: dict[str, Any]) -> None:
    from dsnlink.connectivity.settings import (
        MODE_LABELS,
        TYPE_LABELS,
        ConnectionMode,
        ConnectionType,
    )

    s = data["settings"]
    src = data["sources"]
    origin = {"installation": "installation", "user": "compte", "default": "défaut"}

    def line(label: str, value: str, key: str) -> None:
        console.print(f"{label:<28} {value}  [dim]({origin[src[key]]})[/]")

    who = f"du compte « {data['user']} »" if data["user"] else "de l'installation"
    console.print(f"[bold]Paramètres de connexion {who}[/]")
    line("Type de connexion", TYPE_LABELS[ConnectionType(s["type"])], "type")
    proxy = s["proxy"]
    if proxy:
        text = f"{proxy['host']}:{proxy['port']}" + (" (TLS)" if proxy["tls"] else "")
        if proxy["login"]:
            state = "enregistré" if data["proxy_pw_stored"] else "ABSENT"
            text += f", identifiant {proxy['login']}, mot de passe {state}"
        line("Proxy", text, "proxy")
    line("Mode de connexion", MODE_LABELS[ConnectionMode(s["mode"])], "mode")
    console.print(
        f"{'Délais':<28} connexion {data['connect_timeout']:g} s, lecture "
        f"{data['read_timeout']:g} s, {data['retries']} nouvel(s) essai(s) réseau"
    )
    line("Flux de mise à jour", s["update_feed_url"], "update_feed_url")
    line("Autorités supplémentaires", s["ca_bundle"] or "aucune", "ca_bundle")


@connection_group.command("show")
@USER_OPTION
@as_option
@json_option
def show_command(owner: str | None, as_login: str | None, json_output: bool) -> None:
    """Afficher les paramètres de connexion en vigueur (et d'où vient chaque valeur)."""
    with open_installation() as app:
        actor = acting_user(app, as_login)
        data = _show_data(app, actor.user, owner)
    emit(data, json_output=json_output, render=_render_show)


def _proxy_value(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        from dsnlink.errors import InvalidInput

        raise InvalidInput(
            f"Proxy « {text} » : attendu HÔTE:PORT (par exemple proxy.asso.local:3128)."
        )
    return host.strip("[]"), int(port)


@connection_group.command("set")
@USER_OPTION
@click.option(
    "--type", "type_", type=click.Choice(["direct", "proxy", "system"]), help="Type de connexion."
)
@click.option("--proxy", metavar="HÔTE:PORT", help="Adresse du proxy.")
@click.option("--proxy-tls/--no-proxy-tls", default=None, help="TLS jusqu'au proxy.")
@click.option("--proxy-login", metavar="IDENTIFIANT", help="Identifiant du proxy ('' : aucun).")
@click.option(
    "--proxy-password-stdin", is_flag=True, help="Lire le mot de passe du proxy sur l'entrée."
)
@click.option("--forget-proxy-password", is_flag=True, help="Effacer le mot de passe du proxy.")
@click.option(
    "--mode", type=click.Choice(["normal", "etendu", "securise"]), help="Mode de connexion."
)
@click.option("--update-feed-url", metavar="URL", help="Adresse du flux de mise à jour.")
@click.option(
    "--ca-bundle",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fichier PEM d'autorités supplémentaires ('' : aucun).",
)
@click.option("--connect-timeout", type=float, help="Délai de connexion (s) ; 0 : celui du mode.")
@click.option("--read-timeout", type=float, help="Délai de lecture (s) ; 0 : celui du mode.")
@click.option(
    "--reset",
    multiple=True,
    metavar="RÉGLAGE",
    help="Revenir à la valeur de l'installation (ou par défaut) pour ce réglage.",
)
@as_option
@json_option
def set_command(
    owner: str | None,
    type_: str | None,
    proxy: str | None,
    proxy_tls: bool | None,
    proxy_login: str | None,
    proxy_password_stdin: bool,
    forget_proxy_password: bool,
    mode: str | None,
    update_feed_url: str | None,
    ca_bundle: Path | None,
    connect_timeout: float | None,
    read_timeout: float | None,
    reset: tuple[str, ...],
    as_login: str | None,
    json_output: bool,
) -> None:
    """Modifier les paramètres de connexion (installation, ou un compte avec --user)."""
    from dsnlink.connectivity.service import connection_settings, scope_for

    changes: dict[str, Any] = {}
    unset = list(reset)
    if type_:
        changes["type"] = type_
    if mode:
        changes["mode"] = mode
    if update_feed_url:
        changes["update_feed_url"] = update_feed_url
    if ca_bundle is not None:
        if str(ca_bundle) in {"", "."}:
            unset.append("ca_bundle")
        else:
            changes["ca_bundle"] = str(ca_bundle.resolve())
    for key, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
        if value is not None:
            if value == 0:
                unset.append(key)
            else:
                changes[key] = value
    password: Any = ...
    if proxy_password_stdin:
        password = read_stdin_secret()
    elif forget_proxy_password:
        password = None
    with open_installation() as app:
        actor = acting_user(app, as_login)
        service = connection_settings(app, actor.user)
        scope = scope_for(app, owner)
        if proxy or proxy_tls is not None or proxy_login is not None:
            current = service.stored(scope).get("proxy") or {}
            if not current and scope != "installation":
                current = service.stored("installation").get("proxy") or {}
            merged = dict(current)
            if proxy:
                merged["host"], merged["port"] = _proxy_value(proxy)
            if proxy_tls is not None:
                merged["tls"] = proxy_tls
            if proxy_login is not None:
                merged["login"] = proxy_login or None
            changes["proxy"] = merged
        kwargs: dict[str, Any] = {}
        if password is not ...:
            kwargs["proxy_password"] = password
        service.update(scope, changes, unset=tuple(unset), **kwargs)
        data = _show_data(app, actor.user, owner)
    emit(data, json_output=json_output, render=_render_show)


#: Exit codes of ``test-connection`` (docs/cli.md).
EXIT_STEP_FAILED = 10
EXIT_CREDENTIALS = 11
CREDENTIAL_CODES = frozenset(
    {
        "portal.wrong_credentials",
        "portal.password_expired",
        "portal.not_registered",
        "portal.account_locked",
    }
)


@click.command("test-connection")
@click.option(
    "--user",
    "owner",
    metavar="IDENTIFIANT",
    help="Compte dont tester la connexion (défaut : vous).",
)
@click.option(
    "--environment",
    metavar="ENVIRONNEMENT",
    help="Identité à tester si le compte en a plusieurs (production, editors-test, msa, "
    "simulator, custom) ; défaut : celle du profil Net-entreprises configuré.",
)
@click.option(
    "--export",
    "export_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Écrire aussi le rapport (JSON, sans aucun secret) dans ce fichier.",
)
@as_option
@json_option
def test_connection_command(
    owner: str | None,
    environment: str | None,
    export_path: Path | None,
    as_login: str | None,
    json_output: bool,
) -> None:
    """Tester la connexion à Net-entreprises, comme la « boule bleue » : réseau, proxy,
    certificats, base de données, mises à jour, puis un seul essai d'authentification."""
    from dsnlink.cli.output import err_console
    from dsnlink.connectivity.render import render_report
    from dsnlink.connectivity.service import run_installation_test

    with open_installation() as app:
        actor = acting_user(app, as_login)
        if json_output:
            report = run_installation_test(
                app, actor.user, owner_login=owner, environment=environment
            )
        else:
            with err_console.status("Test de la connexion en cours…"):
                report = run_installation_test(
                    app, actor.user, owner_login=owner, environment=environment
                )
    if export_path is not None:
        report.export(export_path)
    emit(report.to_dict(), json_output=json_output, render=lambda _: render_report(report, console))
    if export_path is not None and not json_output:
        console.print(f"Rapport enregistré dans {export_path} (sans aucun secret).")
    login = report.step("login")
    if (
        login.status.value == "failure"
        and (login.code or "").startswith("portal.")
        and (
            login.code
            in {
                "portal.wrong_credentials",
                "portal.password_expired",
                "portal.not_registered",
                "portal.account_locked",
            }
        )
    ):
        sys.exit(EXIT_CREDENTIALS)
    if any(step.status.value == "failure" for step in report.steps):
        sys.exit(EXIT_STEP_FAILED)


COMMANDS = [connection_group, test_connection_command]
