"""A Net-entreprises world for the web tests: the simulator over HTTPS with its own CA, an
update feed on a local HTTPS server, and the connection settings that point at them (so that
the connection test never leaves 127.0.0.1)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import trustme

from dsnlink.connectivity.service import connection_settings
from dsnlink.settings import Settings
from dsnlink.setup import App, init_installation
from dsnlink.simulator.server import RunningSimulator, running_simulator
from dsnlink.store.records import Module, User
from tests.support.netservers import Route, https_server

ADMIN_PASSWORD = "Administrateur-e2e-1!"
USER_PASSWORD = "Utilisateur-e2e-1!"

FEED_PATH = "/pypi/dsnlink/json"

#: The Net-entreprises accounts of the sheet's two users, as the simulator knows them.
DUPONT = {"siret": "73282932000074", "nom": "DUPONT", "prenom": "MARIE"}
MARTIN = {"siret": "35600000000048", "nom": "MARTIN", "prenom": "PAUL"}
#: Their Net-entreprises passwords: canaries, searched for in every page, answer and log.
DUPONT_PASSWORD = "CANARY-Dupont-NE-7731"
MARTIN_PASSWORD = "CANARY-Martin-NE-4402"


@dataclass
class PortalWorld:
    sim: RunningSimulator
    ca_file: Path
    feed_url: str

    def env(self) -> dict[str, str]:
        """Process settings pointing the installation at this simulator."""
        return {
            "DSNLINK_PORTAL_PROFILE": "simulator",
            "DSNLINK_PORTAL_SIMULATOR_URL": self.sim.base_url,
            "DSNLINK_PORTAL_CA_BUNDLE": str(self.ca_file),
        }

    def configure(self, app: App, admin: User) -> None:
        """The installation's connection settings: direct, our CAs, our update feed."""
        connection_settings(app, admin).update(
            "installation",
            {"type": "direct", "ca_bundle": str(self.ca_file), "update_feed_url": self.feed_url},
        )


@contextlib.contextmanager
def portal_world(tmp_path: Path) -> Iterator[PortalWorld]:
    with running_simulator(tls=True, tls_dir=tmp_path / "sim-tls") as sim:
        sim.add_account({**DUPONT, "password": DUPONT_PASSWORD})
        sim.add_account({**MARTIN, "password": MARTIN_PASSWORD})
        assert sim.ca_pem is not None
        feed_ca = trustme.CA()
        ca_file = tmp_path / "trusted-cas.pem"
        ca_file.write_bytes(sim.ca_pem.read_bytes() + feed_ca.cert_pem.bytes())
        feed: dict[str, Any] = {"info": {"version": "0.1.0"}}
        routes = {FEED_PATH: Route(200, json.dumps(feed).encode())}
        with https_server(feed_ca.issue_cert("localhost"), routes) as feed_server:
            yield PortalWorld(sim, ca_file, feed_server.url(FEED_PATH))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    url: str
    world: PortalWorld
    data_dir: Path
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("dsnlink serve exited:\n" + log_path.read_text())
        try:
            if httpx.get(url + "connexion", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("dsnlink serve did not start:\n" + log_path.read_text())


Prepare = Callable[[App, User], None]


def portal_installation(
    settings: Settings,
    world: PortalWorld,
    rights: list[Module],
    *,
    admin_password: str = ADMIN_PASSWORD,
    user_password: str = USER_PASSWORD,
) -> tuple[App, User]:
    """A new installation whose connection settings point at ``world``: Administrateur, and
    Dupont and Martin holding ``rights``. The caller closes the app."""
    app = init_installation(
        settings,
        name="Association Les Amis",
        admin_password=admin_password,
        tiers_de_confiance="GUICHET ASSOCIATIONS URSSAF",
    )
    try:
        admin = app.accounts.users.authenticate("Administrateur", admin_password)
        world.configure(app, admin)
        for login, name in (("dupont", "Marie Dupont"), ("martin", "Paul Martin")):
            app.accounts.users.create(
                admin, login=login, display_name=name, password=user_password, rights=rights
            )
    except BaseException:
        app.close()
        raise
    return app, admin


@contextlib.contextmanager
def serving(
    tmp_path: Path,
    world: PortalWorld,
    *,
    extra_env: dict[str, str] | None = None,
    prepare: Prepare | None = None,
    workers: int | None = None,
) -> Iterator[Served]:
    """An installation (Administrateur, Dupont, Martin with declarations and payslips; the
    connection settings pointing at ``world``), then ``dsnlink serve`` on a free loopback port
    as a subprocess (``workers``: its ``--workers``; by default, its own default), until the
    block ends. ``prepare(app, admin)`` adds what a test needs."""
    data_dir = tmp_path / "installation"
    env = dict(os.environ)
    env.update(
        DSNLINK_DATA_DIR=str(data_dir),
        DSNLINK_KEYRING="false",
        DSNLINK_PASSWORD_HASH_PROFILE="fast-insecure-tests",
        DSNLINK_LOG_LEVEL="INFO",
        **world.env(),
        **(extra_env or {}),
    )
    settings = Settings(
        data_dir=data_dir,
        keyring=False,
        password_hash_profile="fast-insecure-tests",
        portal_profile="simulator",
        portal_simulator_url=world.sim.base_url,
        portal_ca_bundle=world.ca_file,
    )
    app, admin = portal_installation(settings, world, [Module.DECLARATIONS, Module.PAYSLIPS])
    try:
        if prepare is not None:
            prepare(app, admin)
    finally:
        app.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dsnlink",
                "serve",
                "--port",
                str(port),
                "--interval",
                "1",
                *(["--workers", str(workers)] if workers else []),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(url, process, log_path)
        yield Served(url, world, data_dir, env, log_path, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
