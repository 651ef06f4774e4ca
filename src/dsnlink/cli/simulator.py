"""``dsnlink simulator``: serve the local Net-entreprises and control a running one.

``serve`` runs it in this process; the other commands talk to a running simulator through its
control API (``/_admin/``) at ``--url``.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from dsnlink.cli.output import console, emit, err_console, json_option
from dsnlink.errors import SimulatorError

DEFAULT_PORT = 8765
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"

url_option = click.option(
    "--url",
    default=DEFAULT_URL,
    show_default=True,
    help="Adresse du simulateur en marche.",
)
ca_option = click.option(
    "--ca",
    "ca_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Certificat de l'autorité du simulateur (serve --tls l'affiche).",
)


@click.group("simulator")
def simulator() -> None:
    """Le simulateur Net-entreprises local (API-DSN, retours, pannes, horloge)."""


@simulator.command("serve")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True, help="Port d'écoute.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d'écoute.")
@click.option("--tls", is_flag=True, help="HTTPS avec une autorité de certification locale.")
@click.option(
    "--tls-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Dossier où écrire le certificat de l'autorité (défaut : un dossier temporaire).",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fichier SQLite de l'état (défaut : en mémoire).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Configuration YAML ou JSON (comptes, pannes, délais).",
)
@click.option("--public-url", help="Base absolue des URL de téléchargement annoncées.")
@json_option
def serve(
    port: int,
    host: str,
    tls: bool,
    tls_dir: Path | None,
    state: Path | None,
    config_file: Path | None,
    public_url: str | None,
    json_output: bool,
) -> None:
    """Lance le simulateur jusqu'à Ctrl-C."""
    from dsnlink.simulator.config import SimulatorConfig, load_config
    from dsnlink.simulator.server import running_simulator

    config = load_config(config_file) if config_file else SimulatorConfig()
    if state is not None:
        config.state_path = state
    if public_url:
        config.public_base_url = public_url
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]Attention :[/] le simulateur écoute sur {host} ; son API d'administration "
            "(/_admin/) n'a pas d'authentification.",
            markup=True,
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with running_simulator(config, port=port, tls=tls, tls_dir=tls_dir, host=host) as server:
        info = {
            "url": server.base_url,
            "ca": str(server.ca_pem) if server.ca_pem else None,
            "state": str(config.state_path) if config.state_path else None,
        }

        def render(data: dict[str, Any]) -> None:
            console.print(f"Simulateur Net-entreprises : [bold]{data['url']}[/]")
            if data["ca"]:
                console.print(f"Autorité de certification à faire confiance : {data['ca']}")
            console.print(f"État : {data['state'] or 'en mémoire'}")
            console.print("Ctrl-C pour arrêter.")

        emit(info, json_output=json_output, render=render)
        sys.stdout.flush()  # a supervisor reading the address through a pipe needs it now
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass


def _admin(url: str, ca_file: Path | None, method: str, path: str, body: Any = None) -> Any:
    import ssl

    import httpx

    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
    )
    try:
        with httpx.Client(base_url=url.rstrip("/"), verify=verify, timeout=10) as client:
            response = client.request(method, f"/_admin{path}", json=body)
    except httpx.HTTPError as exc:
        raise SimulatorError(
            f"Le simulateur ne répond pas à {url}.",
            remedy="Lancez-le avec « dsnlink simulator serve » ou corrigez --url.",
            url=url,
        ) from exc
    data = response.json() if response.content else None
    if response.status_code >= 400:
        error = (data or {}).get("error", {})
        raise SimulatorError(
            error.get("message", "Le simulateur a refusé la demande."),
            remedy=error.get("remedy"),
            status=response.status_code,
        )
    return data


@simulator.group("clock")
def clock() -> None:
    """L'horloge virtuelle du simulateur."""


@clock.command("advance")
@click.argument("duration")
@url_option
@ca_option
@json_option
def clock_advance(duration: str, url: str, ca_file: Path | None, json_output: bool) -> None:
    """Avance l'horloge (3d, 2h, 90m, 1h30m…)."""
    data = _admin(url, ca_file, "POST", "/clock", {"advance": duration})
    emit(
        data, json_output=json_output, render=lambda d: console.print(f"Heure simulée : {d['now']}")
    )


@clock.command("show")
@url_option
@ca_option
@json_option
def clock_show(url: str, ca_file: Path | None, json_output: bool) -> None:
    """Affiche l'heure simulée."""
    data = _admin(url, ca_file, "GET", "/clock")
    emit(
        data, json_output=json_output, render=lambda d: console.print(f"Heure simulée : {d['now']}")
    )


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


@simulator.command("deposits")
@url_option
@ca_option
@json_option
def deposits(url: str, ca_file: Path | None, json_output: bool) -> None:
    """Les dépôts reçus par le simulateur."""
    data = _admin(url, ca_file, "GET", "/deposits")

    def render(d: dict[str, Any]) -> None:
        _table(
            "Dépôts reçus",
            ["idflux", "reçu le", "déclarant", "établissement", "statut", "salariés"],
            [
                [
                    x["idflux"],
                    x["at"],
                    x["declarant_siret"],
                    x["employer_siret"],
                    x["status"],
                    x["employees"],
                ]
                for x in d["deposits"]
            ],
        )
        console.print(f"Dépôts en double : {d['duplicates']}")

    emit(data, json_output=json_output, render=render)


@simulator.command("accounts")
@url_option
@ca_option
@json_option
def accounts(url: str, ca_file: Path | None, json_output: bool) -> None:
    """Les comptes Net-entreprises du simulateur."""
    data = _admin(url, ca_file, "GET", "/accounts")

    def render(d: list[dict[str, Any]]) -> None:
        _table(
            "Comptes",
            ["SIRET", "nom", "prénom", "services", "inscrit DSN", "échecs", "bloqué"],
            [
                [
                    a["siret"],
                    a["nom"],
                    a["prenom"],
                    ",".join(a["services"]),
                    "oui" if a["dsn_registered"] else "non",
                    a["failures"],
                    "oui" if a["locked"] else "non",
                ]
                for a in d
            ],
        )

    emit(data, json_output=json_output, render=render)


COMMANDS = [simulator]
