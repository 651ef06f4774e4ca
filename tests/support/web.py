"""A Net-entreprises world for the web tests: the simulator over HTTPS with its own CA, an
update feed on a local HTTPS server, and the connection settings that point at them (so that
the connection test never leaves 127.0.0.1)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

from dsnlink.connectivity.service import connection_settings
from dsnlink.setup import App
from dsnlink.simulator.server import RunningSimulator, running_simulator
from dsnlink.store.records import User
from tests.support.netservers import Route, https_server

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
