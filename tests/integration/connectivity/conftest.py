"""Local servers for the connection test: a test CA, HTTPS hosts, proxies, a black hole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from dsnlink.connectivity.host_steps import TargetHost
from dsnlink.connectivity.settings import ResolvedConnection, resolve
from tests.support.netservers import HttpsServer, Route, https_server

FEED_PATH = "/pypi/dsnlink/json"
ADMIN_PASSWORD = "Admin-pass-123!"


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: this test's data folder, the admin's password."""
    env = dict(os.environ)
    env.update(
        {
            "DSNLINK_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "DSNLINK_PASSWORD": ADMIN_PASSWORD,
            "COLUMNS": "200",
            **extra,
        }
    )
    return env


def dsnlink(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real ``dsnlink`` command."""
    return subprocess.run(
        [sys.executable, "-m", "dsnlink", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def installed(hermetic_env: Path) -> dict[str, str]:
    """A monoposte installation made by ``dsnlink init``; the CLI environment to use it."""
    env = cli_env()
    result = dsnlink(env, "init", "--name", "Association test")
    assert result.returncode == 0, result.stderr
    return env


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="dsnlink test CA")


@pytest.fixture(scope="session")
def ca_bundle(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def portal(ca: trustme.CA) -> Iterator[HttpsServer]:
    """Authentication, deposit, listings and the update feed on one HTTPS host."""
    cert = ca.issue_cert("localhost", "127.0.0.1")
    feed = json.dumps({"info": {"version": "0.1.0"}}).encode()
    with https_server(cert, {FEED_PATH: Route(200, feed)}) as server:
        yield server


def targets(server: HttpsServer, *, auth_url: str | None = None) -> list[TargetHost]:
    return [
        TargetHost(
            "auth", "Serveur d'authentification", auth_url or server.url("/authentifier/1.0/")
        ),
        TargetHost("deposit", "Serveur de dépôt", server.url("/deposer-dsn/1.0/")),
        TargetHost("listings", "Serveur de consultation", server.url("/lister-depots/1.0/")),
    ]


def connection(
    server: HttpsServer, ca_bundle: Path, *, feed_url: str | None = None, **settings: Any
) -> ResolvedConnection:
    stored: dict[str, Any] = {
        "type": "direct",
        "ca_bundle": str(ca_bundle),
        "update_feed_url": feed_url or server.url(FEED_PATH),
        "connect_timeout": 5.0,
        "read_timeout": 5.0,
    }
    stored.update(settings)
    password = stored.pop("proxy_password", None)
    from pydantic import SecretStr

    return resolve(
        stored,
        proxy_password=SecretStr(password) if password else None,
        environ_proxies=stored.pop("environ", {}) if "environ" in stored else {},
    )
