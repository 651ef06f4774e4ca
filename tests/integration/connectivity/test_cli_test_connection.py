"""``dsnlink test-connection`` end to end: real CLI subprocesses, a real SQLite installation,
the simulator over HTTPS with its own CA, a local HTTPS update feed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from dsnlink.simulator.server import RunningSimulator, running_simulator
from tests.integration.connectivity.conftest import cli_env, dsnlink
from tests.support.netservers import HttpsServer, Route, https_server

PORTAL_PASSWORD = "CANARY-s3cr3t-cli-7310"
SIRET = "73282932000074"


@pytest.fixture
def world(hermetic_env: Path, tmp_path: Path) -> Iterator[tuple[dict[str, str], RunningSimulator]]:
    with running_simulator(tls=True) as sim:
        sim.add_account(
            {"siret": SIRET, "nom": "DUPONT", "prenom": "JEAN", "password": PORTAL_PASSWORD}
        )
        ca = trustme.CA()
        bundle = tmp_path / "cas.pem"
        assert sim.ca_pem is not None
        bundle.write_bytes(sim.ca_pem.read_bytes() + ca.cert_pem.bytes())
        feed = b'{"info": {"version": "99.0"}}'
        with https_server(ca.issue_cert("localhost"), {"/feed.json": Route(200, feed)}) as server:
            env = cli_env(
                DSNLINK_PORTAL_PROFILE="simulator", DSNLINK_PORTAL_SIMULATOR_URL=sim.base_url
            )
            _ok(dsnlink(env, "init", "--name", "Association test"))
            _ok(
                dsnlink(
                    env,
                    "connection",
                    "set",
                    "--type",
                    "direct",
                    "--ca-bundle",
                    str(bundle),
                    "--update-feed-url",
                    _feed_url(server),
                )
            )
            yield env, sim


def _feed_url(server: HttpsServer) -> str:
    return server.url("/feed.json")


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def set_identity(env: dict[str, str], password: str) -> None:
    _ok(
        dsnlink(
            env,
            "identity",
            "set",
            "--siret",
            SIRET,
            "--nom",
            "DUPONT",
            "--prenom",
            "JEAN",
            "--environment",
            "simulator",
            "--password-stdin",
            stdin=password + "\n",
        )
    )


def database(hermetic_env: Path) -> sqlite3.Connection:
    return sqlite3.connect(hermetic_env / "dsnlink.sqlite3")


def test_green_then_wrong_password_then_fixed(
    world: tuple[dict[str, str], RunningSimulator], hermetic_env: Path, tmp_path: Path
) -> None:
    env, sim = world
    set_identity(env, PORTAL_PASSWORD)
    export = tmp_path / "rapport.json"
    result = dsnlink(env, "test-connection", "--export", str(export))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ Adresse du serveur d'authentification" in result.stdout
    assert "✓ Adresse du serveur de mise à jour" in result.stdout
    assert "✓ Adresse d'authentification Net Entreprise" in result.stdout
    assert "nouvelle version de dsnlink est disponible : 99.0" in result.stdout
    data = json.loads(export.read_text(encoding="utf-8"))
    assert data["all_green"] is True
    assert data["context"]["authentication_attempts"] == 1
    assert data["steps"][0]["id"] == "settings"
    assert next(s for s in data["steps"] if s["id"] == "database")["status"] == "ok"
    assert len(sim.attempts(SIRET)) == 1
    with database(hermetic_env) as db:
        state, last = db.execute("SELECT state, last_login_at FROM identities").fetchone()
        assert state == "ok" and last is not None
        actions = [r[0] for r in db.execute("SELECT action FROM audit_log ORDER BY id")]
        assert "connection.test" in actions

    # A wrong password: refused once, recorded, exit code 11.
    set_identity(env, "wrong-" + PORTAL_PASSWORD)
    result = dsnlink(env, "test-connection", "--json")
    assert result.returncode == 11, result.stdout + result.stderr
    login = next(s for s in json.loads(result.stdout)["steps"] if s["id"] == "login")
    assert login["code"] == "portal.wrong_credentials"
    assert len(sim.attempts(SIRET)) == 2
    # Again: no new attempt, the test says why.
    result = dsnlink(env, "test-connection")
    assert result.returncode == 11
    assert "Aucun essai fait" in result.stdout
    # The last success (the first run) is recorded and shown.
    assert "Dernière connexion réussie (avant ce test) : jamais" not in result.stdout
    assert "Dernière connexion réussie (avant ce test) : " in result.stdout
    assert "essais d'authentification Net-entreprises : 0" in result.stdout
    assert len(sim.attempts(SIRET)) == 2
    # Changed identity: one new attempt, green again.
    set_identity(env, PORTAL_PASSWORD)
    _ok(dsnlink(env, "test-connection", "--json"))
    assert len(sim.attempts(SIRET)) == 3

    # The password never shows: outputs, export, database and every file of the data folder.
    for path in [*hermetic_env.rglob("*"), export]:
        if path.is_file():
            assert PORTAL_PASSWORD.encode() not in path.read_bytes(), path
