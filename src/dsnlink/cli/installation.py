"""``dsnlink init`` and ``dsnlink upgrade``."""

from __future__ import annotations

import click

from dsnlink.cli._session import read_secret
from dsnlink.cli._views import installation_dict, print_installation
from dsnlink.cli.output import console, emit, json_option
from dsnlink.settings import get_settings


@click.command()
@click.option("--name", default="dsnlink", show_default=True, help="Nom de l'installation.")
@click.option("--tiers-de-confiance", help="Nom du tiers de confiance, affiché partout.")
@click.option(
    "--database-url",
    metavar="postgresql://…",
    help="Installation réseau : base PostgreSQL partagée (sinon monoposte, SQLite).",
)
@json_option
def init(
    name: str, tiers_de_confiance: str | None, database_url: str | None, json_output: bool
) -> None:
    """Crée l'installation et le compte Administrateur.

    Le mot de passe de l'Administrateur est demandé deux fois (saisie masquée), ou lu dans
    DSNLINK_ADMIN_PASSWORD pour les scripts ; jamais sur la ligne de commande.
    """
    from dsnlink.setup import init_installation

    password = read_secret(
        "Mot de passe du compte Administrateur", env="DSNLINK_ADMIN_PASSWORD", confirm=True
    )
    settings = get_settings()
    with init_installation(
        settings,
        name=name,
        admin_password=password,
        tiers_de_confiance=tiers_de_confiance,
        database_url_option=database_url,
    ) as app:
        data = installation_dict(app.installation, app.schema_revision)
        data["data_dir"] = str(settings.data_dir)
        data["database"] = app.db.describe()

    def render(d: dict[str, object]) -> None:
        print_installation(d)
        console.print(f"Base de données : {d['database']}")
        console.print("Compte [bold]Administrateur[/] créé.")

    emit(data, json_output=json_output, render=render)


@click.command()
@json_option
def upgrade(json_output: bool) -> None:
    """Met la base de données à jour pour cette version de dsnlink (faites une sauvegarde)."""
    from dsnlink.setup import upgrade_database

    before, after = upgrade_database(get_settings())
    data = {"before": before, "after": after, "changed": before != after}

    def render(d: dict[str, object]) -> None:
        if d["changed"]:
            console.print(f"Base de données mise à jour : {d['before']} → {d['after']}.")
        else:
            console.print(f"La base de données est déjà à jour ({d['after']}).")

    emit(data, json_output=json_output, render=render)


COMMANDS = [init, upgrade]
