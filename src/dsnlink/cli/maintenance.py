"""``dsnlink backup …``, ``dsnlink restore`` and ``dsnlink doctor``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from dsnlink.cli.output import console, emit, json_option
from dsnlink.settings import get_settings

# Folders are checked by dsnlink itself, with its French messages (moved, not writable…).
_DIR = click.Path(path_type=Path)
_FILE = click.Path(dir_okay=False, path_type=Path)


def say(text: str, *, markup: bool = False) -> None:
    # soft_wrap: a path is never cut by a line break (scripts and people copy it).
    console.print(text, markup=markup, soft_wrap=True)


def _paris(iso: str) -> str:
    from datetime import datetime

    from dsnlink.maintenance.schedule import PARIS

    return f"{datetime.fromisoformat(iso).astimezone(PARIS):%d/%m/%Y %H:%M} (heure de Paris)"


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} Mo"


@click.group("backup", invoke_without_command=True)
@click.option(
    "--to", "to", type=_DIR, help="Dossier où écrire la sauvegarde (sinon celui programmé)."
)
@json_option
@click.pass_context
def backup_group(ctx: click.Context, to: Path | None, json_output: bool) -> None:
    """Sauvegarde complète (base, fichiers retour, réglages) dans une archive vérifiable.

    Sans sous-commande : fait une sauvegarde maintenant, même pendant que dsnlink travaille.
    La clé maîtresse n'est jamais dans la sauvegarde (« dsnlink vault export-key »).
    """
    if ctx.invoked_subcommand is not None:
        return
    from dsnlink.maintenance.backup import take_backup

    result = take_backup(get_settings(), to.expanduser().resolve() if to else None)

    def render(d: dict[str, Any]) -> None:
        say(f"Sauvegarde écrite : {escape(d['file'])} ({_size(d['size'])}).")
        say(
            f"{sum(d['tables'].values())} ligne(s) dans {len(d['tables'])} table(s), "
            f"{d['returns']} fichier(s) retour, schéma {d['schema_revision']}."
        )
        say(
            "La clé maîtresse n'y est pas : gardez-en un export à part (« dsnlink vault "
            "export-key »)."
        )

    emit(result.to_dict(), json_output=json_output, render=render)


@backup_group.command("verify")
@click.argument("file", type=_FILE)
@json_option
def verify_command(file: Path, json_output: bool) -> None:
    """Vérifie une sauvegarde : la restaure à part et contrôle empreintes, intégrité, nombres."""
    from dsnlink.maintenance.restore import verify_backup

    report = verify_backup(file, pg_server_url=_pg_server())

    def render(d: dict[str, Any]) -> None:
        say(f"[green]✓[/] Sauvegarde valide : {escape(d['file'])}", markup=True)
        say(f"  faite le {d['created_at']} par dsnlink {d['program_version']}")
        for check in d["checks"]:
            say(f"  ✓ {check}")

    emit(report.to_dict(), json_output=json_output, render=render)


def _pg_server() -> str | None:
    """The réseau installation's server, where verify restores a dump into a scratch base."""
    from dsnlink.setup import database_url
    from dsnlink.store.database import normalise_url

    try:
        url = database_url(get_settings())
        return url if normalise_url(url).get_backend_name() == "postgresql" else None
    except Exception:  # noqa: BLE001 - no usable address: the dump is only listed
        return None


@backup_group.command("list")
@click.option("--to", "to", type=_DIR, help="Dossier des sauvegardes (sinon celui programmé).")
@json_option
def list_command(to: Path | None, json_output: bool) -> None:
    """Liste les sauvegardes d'un dossier (les fichiers partiels n'en sont pas)."""
    from dsnlink.cli._session import open_installation
    from dsnlink.maintenance.backup import default_target
    from dsnlink.maintenance.retention import list_backups
    from dsnlink.maintenance.schedule import load_schedule

    folder = to
    if folder is None:
        with open_installation() as app:
            schedule = load_schedule(app.db)
            folder = schedule.target if schedule else default_target(app.settings)
    items = [b.to_dict() for b in reversed(list_backups(folder))]
    data = {"folder": str(folder), "backups": items}

    def render(d: dict[str, Any]) -> None:
        say(f"Sauvegardes dans {escape(d['folder'])} :")
        if not d["backups"]:
            say("  aucune")
        for b in d["backups"]:
            state = "" if b["good"] else " [red]ENDOMMAGÉE[/]"
            say(f"  {escape(Path(b['file']).name)}  {_size(b['size'])}{state}", markup=True)

    emit(data, json_output=json_output, render=render)


@backup_group.group("schedule")
def schedule_group() -> None:
    """Sauvegardes programmées : quand, où, combien gardées."""


@schedule_group.command("set")
@click.option(
    "--frequency",
    type=click.Choice(["daily", "weekly", "monthly"]),
    required=True,
    help="Chaque jour, chaque semaine ou chaque mois.",
)
@click.option("--at", "at", default="02:00", show_default=True, help="Heure (HH:MM, Paris).")
@click.option("--weekday", default="lundi", show_default=True, help="Jour (weekly).")
@click.option("--day", type=int, default=1, show_default=True, help="Jour du mois (monthly).")
@click.option("--to", "to", type=_DIR, required=True, help="Dossier des sauvegardes.")
@click.option("--keep", type=int, default=5, show_default=True, help="Sauvegardes gardées.")
@click.option("--disable", is_flag=True, help="Suspendre les sauvegardes programmées.")
@click.option("--as", "as_login", metavar="IDENTIFIANT", help="Compte dsnlink qui agit.")
@json_option
def schedule_set(
    frequency: str,
    at: str,
    weekday: str,
    day: int,
    to: Path,
    keep: int,
    disable: bool,
    as_login: str | None,
    json_output: bool,
) -> None:
    """Programme les sauvegardes ; le dossier est vérifié tout de suite (existe, accessible en
    écriture, assez de place). Il faut le droit « administration » ou « configuration »."""
    from dsnlink.cli._session import acting_user, open_installation
    from dsnlink.maintenance.schedule import parse_schedule, save_schedule

    wanted = parse_schedule(
        frequency=frequency,
        at=at,
        target=to,
        keep=keep,
        weekday=weekday,
        day=day,
        enabled=not disable,
    )
    with open_installation() as app:
        user = acting_user(app, as_login).user
        saved = save_schedule(app.store, wanted, actor=user)
    _emit_schedule(saved.to_dict() | {"description": saved.describe()}, json_output)


@schedule_group.command("show")
@json_option
def schedule_show(json_output: bool) -> None:
    """Affiche la programmation, la dernière bonne sauvegarde et la prochaine."""
    from datetime import UTC, datetime

    from dsnlink.cli._session import open_installation
    from dsnlink.maintenance.schedule import backup_state, load_schedule

    with open_installation() as app:
        schedule = load_schedule(app.db)
        state = backup_state(app.db)
    data: dict[str, Any] = {"schedule": None, "state": state}
    if schedule is not None:
        data["schedule"] = schedule.to_dict() | {
            "description": schedule.describe(),
            "next": schedule.next_slot(datetime.now(UTC)).isoformat() if schedule.enabled else None,
        }
    _emit_schedule(data, json_output)


def _emit_schedule(data: dict[str, Any], json_output: bool) -> None:
    def render(d: dict[str, Any]) -> None:
        schedule = d.get("schedule", d) if "schedule" in d else d
        if schedule is None:
            say("Aucune sauvegarde programmée (« dsnlink backup schedule set »).")
        else:
            state = "" if schedule.get("enabled", True) else " (suspendue)"
            say(f"Sauvegardes : {escape(schedule['description'])}{state}.")
            if schedule.get("next"):
                say(f"Prochaine : {_paris(schedule['next'])}")
        st = d.get("state") or {}
        if st.get("last_good"):
            say(f"Dernière bonne : {_paris(st['last_good']['at'])} ({st['last_good']['file']})")
        if st.get("last_failure"):
            failure = st["last_failure"]
            say(f"Dernier échec : {_paris(failure['at'])} : {failure['message']}")

    emit(data, json_output=json_output, render=render)


@click.command("restore")
@click.argument("file", type=_FILE)
@click.option("--data-dir", type=_DIR, help="Nouveau dossier de données où restaurer.")
@click.option("--database-url", metavar="postgresql://…", help="Base où restaurer (réseau).")
@click.option("--yes", is_flag=True, help="Remplacer l'installation existante (après sauvegarde).")
@json_option
def restore_command(
    file: Path, data_dir: Path | None, database_url: str | None, yes: bool, json_output: bool
) -> None:
    """Restaure une sauvegarde, après l'avoir vérifiée entièrement.

    Dans un nouveau dossier (--data-dir), ou par-dessus l'installation actuelle avec --yes :
    une sauvegarde de sécurité de celle-ci est faite d'abord.
    """
    from dsnlink.maintenance.restore import restore_backup

    report = restore_backup(
        get_settings(), file, data_dir=data_dir, target_url=database_url, yes=yes
    )

    def render(d: dict[str, Any]) -> None:
        say(
            f"[green]✓[/] Sauvegarde vérifiée puis restaurée dans {escape(d['restored_to'])}.",
            markup=True,
        )
        if d["safety_backup"]:
            say(
                f"Sauvegarde de sécurité de l'installation remplacée : {escape(d['safety_backup'])}"
            )
        say(
            "Il faut la clé maîtresse de l'installation sauvegardée pour ouvrir ses secrets "
            "(export de « dsnlink vault export-key » ; voir docs/vault.md). Lancez ensuite "
            "« dsnlink doctor »."
        )

    emit(report.to_dict(), json_output=json_output, render=render)


@click.command("doctor")
@json_option
def doctor_command(json_output: bool) -> None:
    """État de santé de l'installation en un écran (code de sortie : 0 bon, 1 avertissements,
    2 problèmes)."""
    from dsnlink.maintenance.doctor import diagnose

    health = diagnose(get_settings())
    marks = {"ok": "[green]✓[/]", "warning": "[yellow]![/]", "failure": "[red]✗[/]"}

    def render(d: dict[str, Any]) -> None:
        for check in d["checks"]:
            say(f"{marks[check['status']]} {escape(check['message'])}", markup=True)
            if check["status"] != "ok" and check["remedy"]:
                say(f"    Que faire : {escape(check['remedy'])}")
        verdict = {"ok": "bonne santé", "warning": "à surveiller", "failure": "problèmes à régler"}
        say(f"Bilan : {verdict[d['status']]}.")

    emit(health.to_dict(), json_output=json_output, render=render)
    sys.exit(health.exit_code)


COMMANDS = [backup_group, restore_command, doctor_command]
