"""``dsnlink demo``: a throw-away installation to look around, on the local simulator profile."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dsnlink.cli._views import (
    employer_dict,
    identity_dict,
    installation_dict,
    print_employers,
    print_identities,
    print_installation,
    print_users,
    user_dict,
)
from dsnlink.cli.employers import owners
from dsnlink.cli.output import console, emit, json_option
from dsnlink.store.records import Environment, Module

if TYPE_CHECKING:
    from dsnlink.setup import App

# The simulator answers for the same test account as GIP-MDS's public mock (docs/api-dsn).
SIMULATOR_ACCOUNT = ("99900000300015", "declarant", "declarant", "Refonte01")
DEMO_EMPLOYERS = [
    ("99900004500016", "Association Les Amis du Quartier", 15),
    ("99900005200012", "Boulangerie du Marché", 5),
]
DEMO_USERS = [
    ("Dupont", "Claire Dupont", [Module.DECLARATIONS, Module.PAYSLIPS]),
    ("Martin", "Paul Martin", [Module.PAYSLIPS, Module.ADMINISTRATION]),
]


def _populate(app: App, admin_password: str) -> None:
    from dsnlink.accounts import ADMIN_LOGIN, IdentityInput

    accounts = app.accounts
    admin = accounts.users.authenticate(ADMIN_LOGIN, admin_password)
    for login, name, rights in DEMO_USERS:
        accounts.users.create(
            admin,
            login=login,
            display_name=name,
            password=secrets.token_urlsafe(16),
            rights=rights,
        )
    siret, nom, prenom, password = SIMULATOR_ACCOUNT
    for owner in (ADMIN_LOGIN, "Dupont"):
        accounts.identities.set(
            admin,
            confirm=admin_password,
            owner_login=owner,
            values=IdentityInput(siret, nom, prenom, Environment.SIMULATOR, password),
        )
    for emp_siret, emp_name, due_day in DEMO_EMPLOYERS:
        accounts.employers.add(admin, siret=emp_siret, name=emp_name, due_day=due_day)
    first, second = DEMO_EMPLOYERS[0][0], DEMO_EMPLOYERS[1][0]
    accounts.employers.link(admin, siret=first, user_login="Dupont")
    accounts.employers.link(admin, siret=second, user_login=ADMIN_LOGIN)
    # Dupont also declares for the bakery, with the Administrateur's identity.
    accounts.employers.link(
        admin,
        siret=second,
        user_login="Dupont",
        identity_owner=ADMIN_LOGIN,
        environment=Environment.SIMULATOR,
    )


def _snapshot(app: App, admin_password: str) -> dict[str, Any]:
    from dsnlink.accounts import ADMIN_LOGIN

    accounts = app.accounts
    admin = accounts.users.authenticate(ADMIN_LOGIN, admin_password)
    users = accounts.users.list(admin)
    logins, identity_owners = owners(app)
    identities = [
        identity_dict(i, u.login) for u in users for i in accounts.identities.show(admin, u.login)
    ]
    return {
        "installation": installation_dict(app.installation, app.schema_revision),
        "data_dir": str(app.settings.data_dir),
        "users": [user_dict(u) for u in users],
        "identities": identities,
        "employers": [
            employer_dict(v, logins, identity_owners) for v in accounts.employers.list(admin)
        ],
    }


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Dossier de l'installation de démonstration (défaut : un dossier temporaire).",
)
@json_option
def demo(data_dir: Path | None, json_output: bool) -> None:
    """Crée une installation de démonstration, dépose des DSN et affiche les taux PAS.

    Un Administrateur, deux comptes (Dupont, Martin) avec leurs droits, deux employeurs et des
    identités Net-entreprises sur le simulateur local, démarré pour l'occasion ; une DSN
    réaliste par employeur, déposée, puis les retours et les taux PAS relevés après avoir
    avancé l'horloge du simulateur. Mot de passe de l'Administrateur :
    DSNLINK_ADMIN_PASSWORD s'il est défini, sinon tiré au hasard et affiché.
    """
    from dsnlink.pipeline.demo import deposit_and_collect
    from dsnlink.settings import Settings
    from dsnlink.setup import init_installation
    from dsnlink.simulator.server import running_simulator

    folder = data_dir or Path(tempfile.mkdtemp(prefix="dsnlink-demo-"))
    given = os.environ.get("DSNLINK_ADMIN_PASSWORD")
    admin_password = given or secrets.token_urlsafe(12)
    # The simulator runs in this process, on 127.0.0.1, for the demo's lifetime.
    with running_simulator() as sim:
        # A throw-away installation: its own key file, never the OS keyring or the usual
        # database; the portal is the simulator just started.
        settings = Settings(
            data_dir=folder,
            database_url=None,
            master_key=None,
            keyring=False,
            portal_profile="simulator",
            portal_simulator_url=sim.base_url,
        )
        with init_installation(
            settings, name="Démonstration dsnlink", admin_password=admin_password
        ) as app:
            _populate(app, admin_password)
            data = _snapshot(app, admin_password)
            data["pipeline"] = deposit_and_collect(
                app, sim, [siret for siret, _, _ in DEMO_EMPLOYERS], "Dupont"
            )

    def render(d: dict[str, Any]) -> None:
        print_installation(d["installation"])
        console.print(f"Dossier de données : {d['data_dir']}")
        print_users(d["users"])
        print_identities(d["identities"])
        print_employers(d["employers"])
        _print_pipeline(d["pipeline"])
        console.print(
            "Pour continuer avec cette installation :\n"
            f"  export DSNLINK_DATA_DIR={d['data_dir']}\n"
            "  dsnlink users list --as Administrateur\n"
            "  dsnlink serve          # le Centre de maintenance : http://127.0.0.1:8000/"
        )
        if not given:
            console.print(f"Mot de passe de démonstration de l'Administrateur : {admin_password}")

    emit(data, json_output=json_output, render=render)


def _print_pipeline(p: dict[str, Any]) -> None:
    from dsnlink.cli.deposits import _envoi_table
    from dsnlink.cli.rates import print_rates

    console.print(
        f"\nDSN de {p['month']} générées, déposées sur le simulateur local par Dupont ; "
        f"horloge du simulateur avancée de 4 jours ; {p['returns']} retours relevés "
        f"(doublons vus par le simulateur : {p['duplicates']})."
    )
    _envoi_table(p["envois"])
    print_rates(p)


COMMANDS = [demo]
