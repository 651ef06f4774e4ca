"""A real installation (SQLite, vault, accounts) wired to a simulator over HTTP, for the
pipeline's integration tests and benchmark."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from stdnum import luhn

from dsnlink.accounts import ADMIN_LOGIN, IdentityInput
from dsnlink.norme import generate_monthly_dsn
from dsnlink.settings import Settings
from dsnlink.setup import App, init_installation
from dsnlink.simulator.server import RunningSimulator
from dsnlink.store.records import Environment, Module

ADMIN_PASSWORD = "Admin-demo-password-1"
USER_PASSWORD = "Dupont-demo-password-1"
#: The simulator's default declarant account (GIP-MDS's mock's).
DECLARANT = ("99900000300015", "declarant", "declarant", "Refonte01")


def siret(n: int) -> str:
    """A valid SIRET (SIREN and SIRET keys) for employer number ``n``."""
    base = f"7{n:07d}"
    siren = base + luhn.calc_check_digit(base)
    body = siren + "0001"
    return body + luhn.calc_check_digit(body)


class SimulatorClock:
    """The pipeline follows the simulator's virtual clock (tests, demo, benchmark)."""

    def __init__(self, sim: RunningSimulator) -> None:
        self.sim = sim

    def now(self) -> datetime:
        return self.sim.simulator.clock.now()


@dataclass
class World:
    app: App
    settings: Settings
    employers: list[str]


def settings_for(data_dir: Path, sim: RunningSimulator, **extra: object) -> Settings:
    """Settings of a test installation (SQLite unless ``database_url`` is in ``extra``)."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": None,
        "master_key": None,
        "keyring": False,
        "password_hash_profile": "fast-insecure-tests",
        "portal_profile": "simulator",
        "portal_simulator_url": sim.base_url,
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


def build_world(
    data_dir: Path,
    sim: RunningSimulator,
    employers: int,
    *,
    users: Sequence[tuple[str, tuple[str, str, str, str]]] = (("dupont", DECLARANT),),
    **extra: object,
) -> World:
    """An installation with ``users`` (login, simulator account) each linked to
    ``employers`` employers of their own."""
    settings = settings_for(data_dir, sim, **extra)
    app = init_installation(settings, name="Essais pipeline", admin_password=ADMIN_PASSWORD)
    accounts = app.accounts
    admin = accounts.users.authenticate(ADMIN_LOGIN, ADMIN_PASSWORD)
    sirets: list[str] = []
    for u, (login, account) in enumerate(users):
        accounts.users.create(
            admin,
            login=login,
            display_name=login.title(),
            password=USER_PASSWORD,
            rights=[Module.DECLARATIONS],
        )
        accounts.identities.set(
            admin,
            confirm=ADMIN_PASSWORD,
            owner_login=login,
            values=IdentityInput(*account[:3], Environment.SIMULATOR, account[3]),
        )
        for n in range(employers):
            number = siret(u * 100_000 + n + 1)
            accounts.employers.add(admin, siret=number, name=f"Employeur {n + 1}", due_day=15)
            accounts.employers.link(admin, siret=number, user_login=login)
            sirets.append(number)
    return World(app, settings, sirets)


def simulator_account(n: int) -> tuple[str, str, str, str]:
    """A declarant account of the simulator, number ``n`` (add it with ``account_spec``)."""
    return (siret(900_000 + n), f"decl{n}", "declarant", f"Refonte-{n:04d}")


def account_spec(account: tuple[str, str, str, str]) -> dict[str, object]:
    number, nom, prenom, password = account
    return {"siret": number, "nom": nom, "prenom": prenom, "password": password}


def dsn_for(number: str, *, month: str = "2026-01", employees: int = 3, seed: int = 0) -> bytes:
    return generate_monthly_dsn(employees, siret=number, month=month, test=False, seed=seed)
