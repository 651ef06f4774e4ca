"""``dsnlink connection lint`` as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

CANARY = "CANARY-s3cr3t-lint-0042"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dsnlink", "connection", "lint", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_lint_shows_what_will_be_sent_and_exits_2_on_errors() -> None:
    result = run("--siret", "73282932000074\n", "--nom", "DUPONT\u00a0", "--prenom", "JEAN")
    assert result.returncode == 2, result.stderr
    assert "«73282932000074↵»" in result.stdout
    assert "«DUPONT⍽»" in result.stdout
    assert "Rien n'a été modifié" in result.stdout


def test_lint_json_and_password_never_printed() -> None:
    result = run(
        "--siret",
        "73282932000074",
        "--nom",
        "DUPONT",
        "--prenom",
        "JEAN",
        "--password-stdin",
        "--json",
        stdin=CANARY + " \n",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    password = data["fields"][3]
    assert password["field"] == "motdepasse"
    assert password["visible"].endswith("␣»")
    assert [f["rule"] for f in password["findings"]] == ["trailing_space"]
    assert CANARY not in result.stdout + result.stderr


def test_clean_values_exit_0() -> None:
    result = run("--siret", "73282932000074", "--nom", "DUPONT", "--prenom", "JEAN", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["ok"] is True
