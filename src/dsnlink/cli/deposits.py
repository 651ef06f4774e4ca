"""``dsnlink deposit``, ``status``, ``run``, ``watch``: automatic deposit of DSN files."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import click

from dsnlink.cli._pipeline import background_pipeline, pipeline_session
from dsnlink.cli._session import as_option
from dsnlink.cli.output import console, emit, err_console, json_option
from dsnlink.errors import DsnlinkError, InvalidInput, PipelineError
from dsnlink.pipeline.states import EnvoiState

S = EnvoiState
#: States after which a deposit command has nothing more to wait for.
_SETTLED = {S.RETURNS_PENDING, S.COMPLETE, S.REJECTED, S.HELD, S.ATTENTION_NEEDED, S.CHECKED}


@click.command("deposit")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--test-first", is_flag=True, help="Déposer d'abord en test, le réel ensuite.")
@click.option(
    "--force",
    is_flag=True,
    help="Déposer même si une DSN mensuelle réelle existe déjà pour ce mois (à éviter).",
)
@click.option("--no-wait", is_flag=True, help="Enregistrer seulement ; « dsnlink run » déposera.")
@as_option
@json_option
def deposit(
    files: tuple[Path, ...],
    test_first: bool,
    force: bool,
    no_wait: bool,
    as_login: str | None,
    json_output: bool,
) -> None:
    """Contrôle et dépose des fichiers DSN sur Net-entreprises (jamais deux fois)."""
    from rich.progress import Progress

    from dsnlink.jobs.handoff import advance_envois
    from dsnlink.pipeline.intake import receive
    from dsnlink.pipeline.views import envoi_row

    results: list[dict[str, Any]] = []
    errors: list[DsnlinkError] = []
    with pipeline_session(as_login) as session:
        p = session.pipeline
        ids: list[str] = []
        for path in files:
            try:
                intake = receive(
                    p,
                    path.read_bytes(),
                    name=path.name,
                    acting_login=session.user.login,
                    test_first=test_first or None,
                    force=force,
                )
            except DsnlinkError as exc:
                errors.append(exc)
                results.append({"file": path.name, "error": exc.to_dict()})
                continue
            ids.extend(e.id for e in intake.envois)
            results.append(
                {
                    "file": path.name,
                    "message": intake.message,
                    "already_received": intake.already_received,
                    "blocking": intake.file.blocking,
                    "findings": [
                        f.__dict__ for f in intake.file.findings if f.severity != "information"
                    ],
                }
            )
        if ids and not no_wait:
            with Progress(console=err_console, disable=json_output, transient=True) as bar:
                task = bar.add_task("Dépôts", total=len(ids))
                wanted = set(ids)

                def on_step(envoi: Any) -> None:
                    if envoi.id in wanted and envoi.state in _SETTLED:
                        bar.update(task, completed=_settled(p, ids))

                def settled() -> bool:
                    done = _settled(p, ids)
                    bar.update(task, completed=done)
                    return done == len(ids)

                # In this process, or by the workers / the running « dsnlink run ».
                advance_envois(session.app, p, ids, settled=settled, on_step=on_step)
                bar.update(task, completed=_settled(p, ids))
        envois = [envoi_row(p.ledger, p.ledger.get_envoi(i)) for i in ids]
    data = {"files": results, "envois": envois}
    emit(data, json_output=json_output, render=_render_deposit)
    failed = [e for e in envois if e["state"] in {"rejected", "held", "attention_needed"}]
    if errors:
        raise SystemExit(errors[0].exit_code)
    if failed or any(r.get("blocking") for r in results):
        raise SystemExit(PipelineError.exit_code)


def _settled(p: Any, ids: list[str]) -> int:
    return sum(p.ledger.get_envoi(i).state in _SETTLED for i in ids)


def _render_deposit(data: dict[str, Any]) -> None:
    from rich.markup import escape

    for item in data["files"]:
        if "error" in item:
            err_console.print(
                f"[red]{escape(item['file'])}[/] : {escape(item['error']['message'])}"
            )
            if item["error"].get("remedy"):
                err_console.print(f"  [yellow]Que faire :[/] {escape(item['error']['remedy'])}")
        else:
            console.print(f"{escape(item['file'])} : {escape(item['message'])}")
            for f in item["findings"][:20]:
                console.print(f"  - ligne {f['line']} : {escape(f['message'])} ({f['severity']})")
    if data["envois"]:
        _envoi_table(data["envois"])


def _envoi_table(rows: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table("Fichier", "SIRET", "Mois", "Rôle", "État", "Flux (idflux)", "Erreur")
    for r in rows:
        role = {"test": "test", "real": "réel (après test)", "single": ""}.get(r["role"], "")
        table.add_row(
            escape(r["file"]),
            r["siret"],
            r["month"],
            role,
            r["state_label"],
            r["idflux"] or "—",
            escape(r["error_message"] or r["error"] or ""),
        )
    console.print(table)


@click.command("status")
@click.option("--envoi", "envoi_id", help="Détail d'un dépôt : historique et retours.")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([s.value for s in EnvoiState]),
    help="Seulement les dépôts dans cet état (répétable).",
)
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@as_option
@json_option
def status(
    envoi_id: str | None,
    states: tuple[str, ...],
    limit: int,
    as_login: str | None,
    json_output: bool,
) -> None:
    """Où en sont les dépôts : états, flux, erreurs."""
    from dsnlink.pipeline.views import envoi_detail
    from dsnlink.pipeline.views import status as status_view

    with pipeline_session(as_login) as session:
        ledger = session.pipeline.ledger
        if envoi_id:
            detail = envoi_detail(ledger, envoi_id)
            emit(detail, json_output=json_output, render=_render_detail)
            return
        view = status_view(ledger, states=[EnvoiState(s) for s in states] or None, limit=limit)
    emit(view, json_output=json_output, render=_render_status)


def _render_status(view: dict[str, Any]) -> None:
    from dsnlink.pipeline.states import LABELS

    counts = ", ".join(f"{LABELS[EnvoiState(k)]} : {v}" for k, v in view["counts"].items())
    console.print(f"Dépôts — {counts or 'aucun'}")
    if view["envois"]:
        _envoi_table(view["envois"])


def _render_detail(detail: dict[str, Any]) -> None:
    from rich.markup import escape

    _envoi_table([detail])
    for event in detail["events"]:
        console.print(f"  {event['at']}  {event['to_label']}  {escape(event['detail'])}")
    for ret in detail["returns"]:
        console.print(f"  retour {ret['nature']} {ret['kind'] or ''} : {ret['status']}")


@click.command("run")
@click.option("--until-idle", is_flag=True, help="S'arrêter quand plus rien n'est à faire.")
@click.option("--interval", type=click.FloatRange(0.1), default=5.0, show_default=True)
def run(until_idle: bool, interval: float) -> None:
    """Fait avancer les dépôts : envoi, vérifications, relève des retours, alertes."""
    from dsnlink.jobs.locks import runner_lock
    from dsnlink.jobs.runner import Runner
    from dsnlink.maintenance.schedule import BackupStep

    with background_pipeline() as (app, pipeline):
        settings = app.settings
        runner = Runner(
            pipeline,
            concurrency=settings.pipeline_concurrency,
            per_identity=settings.pipeline_identity_concurrency,
            periodic=[BackupStep(settings, app.db, pipeline)],
        )
        with runner_lock(app.db, settings.data_dir / "runner.lock"):
            if until_idle:
                done = runner.run_until_idle()
                runner.sync_returns()
                runner.run_until_idle()
                err_console.print(f"{done} étape(s) effectuée(s).")
                return
            try:
                runner.run_forever(interval=interval)
            except KeyboardInterrupt:
                runner.stop()


@click.command("watch")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--test-first", is_flag=True, help="Déposer d'abord en test, le réel ensuite.")
@click.option("--interval", type=click.FloatRange(0.1), default=2.0, show_default=True)
@click.option("--once", is_flag=True, help="Deux passages puis s'arrêter (scripts, essais).")
@as_option
def watch(
    folder: Path, test_first: bool, interval: float, once: bool, as_login: str | None
) -> None:
    """Surveille un dossier : chaque fichier DSN déposé par la paie y est déposé, une fois."""
    from dsnlink.jobs.locks import runner_lock
    from dsnlink.jobs.runner import Runner
    from dsnlink.maintenance.schedule import BackupStep
    from dsnlink.pipeline.watch import Watcher

    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"{folder} n'est pas un dossier.")
    with pipeline_session(as_login) as session:
        settings = session.app.settings
        watcher = Watcher(
            session.pipeline,
            folder,
            acting_login=session.user.login,
            test_first=test_first or None,
        )
        runner = Runner(
            session.pipeline,
            concurrency=settings.pipeline_concurrency,
            per_identity=settings.pipeline_identity_concurrency,
            periodic=[BackupStep(settings, session.app.db, session.pipeline)],
        )
        with runner_lock(session.app.db, settings.data_dir / "runner.lock"):
            if once:
                for _ in range(2):
                    for picked in watcher.scan_once():
                        console.print(f"{picked.name} : {picked.message}")
                    runner.run_until_idle()
                watcher.refresh_results()
                return
            console.print(f"Surveillance de {folder} (Ctrl+C pour arrêter)…")
            thread = threading.Thread(
                target=runner.run_forever, kwargs={"interval": interval}, daemon=True
            )
            thread.start()
            try:
                watcher.run(interval=interval)
            except KeyboardInterrupt:
                pass
            finally:
                watcher.stop()
                runner.stop()
                thread.join(timeout=30)


COMMANDS = [deposit, status, run, watch]
