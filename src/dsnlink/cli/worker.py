"""``dsnlink worker``: run the pipeline's steps from the réseau job queue (PostgreSQL)."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

import click

from dsnlink.cli.output import emit, err_console, json_option
from dsnlink.errors import WorkerError


@click.command("worker")
@click.option(
    "--concurrency",
    # At most 10: the process has 10 database connections; more work means more workers.
    type=click.IntRange(1, 10),
    default=None,
    help="Étapes menées en même temps par ce worker, 10 au plus (défaut : "
    "DSNLINK_WORKER_CONCURRENCY) ; au-delà, lancez un worker de plus.",
)
@click.option("--status", is_flag=True, help="Afficher les workers actifs et la file, puis sortir.")
@json_option
def worker(concurrency: int | None, status: bool, json_output: bool) -> None:
    """Fait avancer les dépôts d'une installation réseau (à lancer sur un ou plusieurs postes)."""
    from dsnlink.cli._session import open_installation
    from dsnlink.jobs.queue import queue_status
    from dsnlink.jobs.queue_schema import has_queue_schema

    with open_installation() as app:
        if app.db.is_sqlite:
            raise WorkerError(
                "Les workers servent aux installations réseau (PostgreSQL).",
                remedy="En monoposte, lancez « dsnlink run ».",
            )
        if not has_queue_schema(app.db):
            raise WorkerError(
                "La file des tâches n'existe pas dans la base de données.",
                remedy="Lancez « dsnlink upgrade » (une fois, sur un poste).",
            )
        settings = app.settings
        if status:
            emit(
                queue_status(app.db, stalled_seconds=settings.worker_stalled_seconds),
                json_output=json_output,
                render=_render_status,
            )
            return
        _run(app, concurrency or settings.worker_concurrency, json_output)


def _run(app: Any, concurrency: int, json_output: bool) -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from dsnlink.jobs.locks import runner_running
    from dsnlink.jobs.queue import QueueTuning, build_queue
    from dsnlink.maintenance.schedule import BackupStep
    from dsnlink.pipeline.setup import open_pipeline
    from dsnlink.setup import database_url

    if runner_running(app.db):
        raise WorkerError(
            "Un « dsnlink run » travaille déjà sur cette installation.",
            remedy="Arrêtez-le : sur une installation réseau, les workers le remplacent.",
        )
    settings = app.settings
    tuning = QueueTuning.from_settings(settings)
    name = f"{socket.gethostname()}:{os.getpid()}"
    queue = build_queue(database_url(settings), tuning)

    async def main() -> None:
        # Steps are synchronous (database, HTTP): each runs in a thread of this pool.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(concurrency + 4, thread_name_prefix="dsnlink-step")
        )
        async with queue.open_async():
            await queue.run_worker_async(
                name=name,
                concurrency=concurrency,
                additional_context={"pipeline": pipeline, "backup": backup},
                update_heartbeat_interval=tuning.heartbeat_seconds,
                stalled_worker_timeout=tuning.stalled_seconds,
                delete_jobs="successful",
                install_signal_handlers=True,
            )

    with open_pipeline(app) as pipeline:
        backup = BackupStep(settings, app.db, pipeline)
        _announce("worker_started", json_output, name=name, concurrency=concurrency)
        asyncio.run(main())
        _announce("worker_stopped", json_output, name=name)


def _announce(event: str, json_output: bool, **facts: Any) -> None:
    if json_output:
        click.echo(json.dumps({"event": event, **facts}, ensure_ascii=False), err=False)
        return
    text = {
        "worker_started": "Worker {name} démarré ({concurrency} étape(s) à la fois).",
        "worker_stopped": "Worker {name} arrêté.",
    }[event]
    err_console.print(text.format(**facts))


def _render_status(data: dict[str, Any]) -> None:
    from rich.table import Table

    workers = data["workers"]
    err_console.print(f"{len(workers)} worker(s) actif(s).")
    for w in workers:
        err_console.print(
            f"  n° {w['id']} : {w['running']} tâche(s) en cours, signe de vie {w['last_heartbeat']}"
        )
    table = Table("tâche", "en attente", "en cours", "réussies", "en échec")
    for task, counts in sorted(data["jobs"].items()):
        table.add_row(
            task,
            str(counts.get("todo", 0)),
            str(counts.get("doing", 0)),
            str(counts.get("succeeded", 0)),
            str(counts.get("failed", 0)),
        )
    err_console.print(table)


COMMANDS = [worker]
