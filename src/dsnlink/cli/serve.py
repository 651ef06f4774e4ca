"""``dsnlink serve``: the Centre de maintenance, the runner and the watched folder.

``--workers 1``: one process, one database handle: the web pages, the runner's steps and the
watched folder's deposits share it, so SQLite's writers queue on the same in-process lock.

``--workers N`` (the default: one per CPU): this process holds the runner's lock and runs the
runner and the watched folder (once), and uvicorn's supervisor starts N web processes on the
port (:mod:`dsnlink.web.served`; one listening socket each on Linux, so that the kernel spreads
the connections: :mod:`dsnlink.web.supervisor`), restarts one that dies, and stops them all
gracefully (each finishes its requests) on Ctrl+C or SIGTERM. A page is CPU-bound Python:
one process answers one request at a time whatever its threads, so N processes are what let
N cores answer. Across processes SQLite's writers wait for each other (busy timeout, every
write begun IMMEDIATE); the web's writes are a few rows each.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import threading
from typing import Any

import click

from dsnlink.cli._session import open_installation
from dsnlink.cli.output import emit, err_console, json_option
from dsnlink.errors import PipelineError
from dsnlink.logs import get_logger

log = get_logger("dsnlink.serve")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: More web processes than this bring nothing on a workstation and each holds its connections.
MAX_DEFAULT_WORKERS = 8


def default_workers() -> int:
    """One web process per CPU this process may run on, between 1 and 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d'écoute.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port."
)
@click.option(
    "--no-runner",
    is_flag=True,
    help="Ne pas faire avancer les dépôts dans ce processus (un « dsnlink run » s'en charge).",
)
@click.option("--interval", type=click.FloatRange(0.1), default=5.0, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Processus qui répondent aux pages (défaut : un par processeur, au plus 8).",
)
@json_option
def serve(
    host: str,
    port: int,
    no_runner: bool,
    interval: float,
    workers: int | None,
    json_output: bool,
) -> None:
    """Ouvre le Centre de maintenance dans le navigateur (et fait avancer les dépôts)."""
    import uvicorn

    from dsnlink.jobs.locks import runner_lock
    from dsnlink.jobs.runner import Runner
    from dsnlink.pipeline.setup import open_pipeline
    from dsnlink.web.app import create_app, warm

    with (
        open_installation() as app,
        open_pipeline(app) as pipeline,
        contextlib.ExitStack() as held,
    ):
        settings = app.settings
        threads: list[threading.Thread] = []
        stoppers: list[Any] = []
        runner_state = "disabled"
        runner: Runner | None = None
        if not no_runner:
            try:
                held.enter_context(runner_lock(app.db, settings.data_dir / "runner.lock"))
            except PipelineError as exc:
                runner_state = "elsewhere"
                err_console.print(f"[yellow]{exc.message}[/] Les dépôts avancent par lui.")
            else:
                from dsnlink.maintenance.schedule import BackupStep

                runner = Runner(
                    pipeline,
                    concurrency=settings.pipeline_concurrency,
                    per_identity=settings.pipeline_identity_concurrency,
                    # The scheduled backup, as « dsnlink run » takes it.
                    periodic=[BackupStep(settings, app.db, pipeline)],
                )
                threads.append(
                    threading.Thread(
                        target=runner.run_forever,
                        kwargs={"interval": interval},
                        name="runner",
                        daemon=True,
                    )
                )
                stoppers.append(runner.stop)
                runner_state = "running"
        watch_dir = settings.watch_dir
        if watch_dir is not None:
            from dsnlink.accounts import ADMIN_LOGIN
            from dsnlink.pipeline.watch import Watcher

            watcher = Watcher(pipeline, watch_dir, acting_login=settings.watch_user or ADMIN_LOGIN)
            threads.append(
                threading.Thread(
                    target=watcher.run, kwargs={"interval": 2.0}, name="watcher", daemon=True
                )
            )
            stoppers.append(watcher.stop)
        processes = workers or default_workers()
        url = f"http://{host}:{port}/"
        info = {
            "url": url,
            "installation": app.installation.name,
            "runner": runner_state,
            "watch_dir": str(watch_dir) if watch_dir else None,
            "workers": processes,
        }
        emit(
            info,
            json_output=json_output,
            render=lambda _d: err_console.print(
                f"Centre de maintenance : {url}  (Ctrl+C pour arrêter)"
            ),
        )
        if not _is_loopback(host):
            err_console.print(
                "[yellow]Attention : le serveur écoute au-delà de ce poste, sans HTTPS. "
                "Placez-le derrière un proxy HTTPS du réseau.[/]"
            )
        options: dict[str, Any] = {
            "host": host,
            "port": port,
            "log_level": settings.log_level.lower(),
            "access_log": settings.log_level in {"DEBUG", "INFO"},
            "server_header": False,
            "lifespan": "on",
        }
        if processes == 1:
            web = create_app(app, pipeline=pipeline)
            warm(web)
            # The Workers et file page shows this runner's figures.
            web.state.runner = runner
            config = uvicorn.Config(web, **options)
        else:
            config = uvicorn.Config(
                "dsnlink.web.served:create_worker_app", factory=True, workers=processes, **options
            )
        from dsnlink.web.supervisor import SpreadMultiprocess, listening_sockets

        # Bound before the runner starts: a port already taken stops here, having done nothing.
        sockets = listening_sockets(config, processes)
        for sock in sockets:
            held.callback(sock.close)
        for thread in threads:
            thread.start()
        try:
            if processes == 1:
                uvicorn.Server(config).run(sockets=sockets)
            else:
                SpreadMultiprocess(config, sockets=sockets).run()
        finally:
            for stop in stoppers:
                stop()
            for thread in threads:
                thread.join(timeout=30)


COMMANDS = [serve]
