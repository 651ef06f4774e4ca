"""``dsnlink connection show|set`` as real subprocesses on a real SQLite installation."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.integration.connectivity.conftest import dsnlink

CANARY = "CANARY-s3cr3t-proxy-4417"


def test_show_defaults_and_refuse_invalid_values(installed: dict[str, str]) -> None:
    result = dsnlink(installed, "connection", "show", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["settings"]["type"] == "system"
    assert data["settings"]["mode"] == "normal"
    assert set(data["sources"].values()) == {"default"}
    # Invalid values are refused, with the reason.
    result = dsnlink(installed, "connection", "set", "--type", "proxy")
    assert result.returncode == 2
    assert "proxy" in result.stderr
    result = dsnlink(installed, "connection", "set", "--proxy", "nowhere")
    assert result.returncode == 2
    assert "HÔTE:PORT" in result.stderr


def test_set_proxy_with_password_then_user_override(
    installed: dict[str, str], hermetic_env: Path
) -> None:
    result = dsnlink(
        installed,
        "connection",
        "set",
        "--type",
        "proxy",
        "--proxy",
        "proxy.asso.local:3128",
        "--proxy-login",
        "paie",
        "--proxy-password-stdin",
        stdin=CANARY + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "proxy.asso.local:3128, identifiant paie, mot de passe enregistré" in result.stdout
    result = dsnlink(
        installed, "connection", "set", "--user", "Administrateur", "--mode", "etendu", "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["settings"]["mode"] == "etendu" and data["sources"]["mode"] == "user"
    assert data["settings"]["proxy"]["host"] == "proxy.asso.local"
    assert data["proxy_pw_stored"] is True and data["retries"] == 3
    # The installation itself is unchanged.
    data = json.loads(dsnlink(installed, "connection", "show", "--json").stdout)
    assert data["settings"]["mode"] == "normal"
    # Reset the user's override.
    result = dsnlink(
        installed, "connection", "set", "--user", "Administrateur", "--reset", "mode", "--json"
    )
    assert json.loads(result.stdout)["sources"]["mode"] == "default"
    # The proxy password is sealed: nowhere in clear in the data folder.
    for path in hermetic_env.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def test_identity_set_runs_the_linter(installed: dict[str, str], hermetic_env: Path) -> None:
    def identity_set(nom: str, prenom: str) -> subprocess.CompletedProcess[str]:
        return dsnlink(
            installed,
            "identity",
            "set",
            "--siret",
            "73282932000074",
            "--nom",
            nom,
            "--prenom",
            prenom,
            "--password-stdin",
            stdin=CANARY + "\n",
        )

    refused = identity_set("DUPONT\u00a0", "JEAN")
    assert refused.returncode == 2
    assert "«DUPONT⍽»" in refused.stderr and "«DUPONT»" in refused.stderr
    assert CANARY not in refused.stdout + refused.stderr
    saved = identity_set("Dupont", "HÉLÈNE")
    assert saved.returncode == 0, saved.stderr
    assert "minuscules" in saved.stderr
    again = identity_set("Dupont", "HELENE")
    assert again.returncode == 0, again.stderr
    assert "n'a plus les accents" in again.stderr
