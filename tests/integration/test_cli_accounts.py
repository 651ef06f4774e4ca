"""The account commands, end to end, on a real SQLite file and the real vault.

The long scenario runs the commands in process (click's runner); the subprocess tests run
the real ``python -m dsnlink`` for the paths that matter most: init, identities with a
canary password, schema checks, the demo.
"""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

from tests.integration.cli_helpers import ADMIN_PW, SET_DECLARANT, Result, invoke, run

CANARY = "CANARY-s3cr3t-Zq81"
DUPONT_PW = "dupont-password-1"


class Session:
    """Every command's output is kept, to look for the canary at the end."""

    def __init__(self, runner: Callable[..., Result] = invoke) -> None:
        self.outputs: list[Result] = []
        self._runner = runner

    def __call__(self, *args: str, input: str | None = None, **env: str | None) -> Result:
        env.setdefault("DSNLINK_PASSWORD", ADMIN_PW)
        env.setdefault("DSNLINK_USER", "Administrateur")
        result = self._runner(*args, input=input, **env)
        self.outputs.append(result)
        return result


def test_accounts_end_to_end(hermetic_env: Path) -> None:
    data_dir = hermetic_env
    cli = Session()

    r = cli("init", "--name", "Association Test", "--json", DSNLINK_ADMIN_PASSWORD=ADMIN_PW)
    assert r.code == 0, r.stderr
    assert r.json()["mode"] == "monoposte"
    key_file = data_dir / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert cli("init", DSNLINK_ADMIN_PASSWORD=ADMIN_PW).code == 6

    # Monoposte with a single account: the Administrateur acts by default.
    r = cli("users", "list", "--json", DSNLINK_USER=None)
    assert r.code == 0, r.stderr
    assert [u["login"] for u in r.json()] == ["Administrateur"]

    r = cli(
        "users",
        "create",
        "Dupont",
        "--name",
        "Claire Dupont",
        "--right",
        "declarations",
        "--password-stdin",
        "--json",
        input=DUPONT_PW + "\n",
    )
    assert r.code == 0, r.stderr
    assert r.json()["rights"] == ["declarations"]
    # Two accounts now: say who acts.
    assert cli("users", "list", DSNLINK_USER=None).code == 2
    assert cli("users", "list", "--as", "Dupont", DSNLINK_PASSWORD=DUPONT_PW).code == 4

    # The Net-entreprises tab, for Dupont, typed by the Administrateur.
    r = cli(
        "identity",
        "set",
        "--user",
        "Dupont",
        "--siret",
        "99900000300015",
        "--nom",
        "declarant",
        "--prenom",
        "declarant",
        "--password-stdin",
        "--json",
        input=CANARY + "\n",
    )
    assert r.code == 0, r.stderr
    assert r.json()["state"] == "untested"
    # Log lines are written (DEBUG), so the canary search below covers them too.
    assert "identity_set" in r.stderr
    r = cli("identity", "show", "--as", "Dupont", "--json", DSNLINK_PASSWORD=DUPONT_PW)
    assert r.code == 0, r.stderr
    assert [(i["siret"], i["environment"]) for i in r.json()] == [("99900000300015", "simulator")]
    r = cli("identity", "show", "--as", "Dupont", DSNLINK_PASSWORD=DUPONT_PW)
    assert r.code == 0 and "99900000300015" in r.stdout

    # Wrong confirmation password, bad SIRET, over-long password: refused, nothing written.
    r = cli(
        "identity",
        "set",
        "--user",
        "Dupont",
        "--siret",
        "99900000300015",
        "--nom",
        "X",
        "--prenom",
        "Y",
        "--keep-password",
        DSNLINK_PASSWORD="not-the-password",
    )
    assert r.code == 4
    r = cli(
        "identity",
        "set",
        "--siret",
        "99900000300016",
        "--nom",
        "X",
        "--prenom",
        "Y",
        "--password-stdin",
        input="whatever\n",
    )
    assert r.code == 2 and "SIRET" in r.stderr
    r = cli(
        "identity",
        "set",
        "--siret",
        "99900000300015",
        "--nom",
        "X",
        "--prenom",
        "Y",
        "--password-stdin",
        "--json",
        input="p" * 31 + "\n",
    )
    assert r.code == 2 and r.json()["error"]["code"] == "invalid_input"
    r = cli("identity", "show", "--json")
    assert r.json() == []

    # Employers and links.
    assert cli("employers", "add", "99900004500016", "Association A", "--due-day", "5").code == 0
    assert cli("employers", "add", "99900004500016", "Doublon").code == 6
    assert cli("employers", "add", "12345678901234", "Mauvais").code == 2
    assert cli("employers", "link", "99900004500016", "Dupont").code == 0
    r = cli("employers", "list", "--as", "Dupont", "--json", DSNLINK_PASSWORD=DUPONT_PW)
    assert r.code == 0, r.stderr
    assert [(e["siret"], e["due_day"]) for e in r.json()] == [("99900004500016", 5)]
    assert cli("employers", "unlink", "99900004500016", "Dupont").code == 0
    assert cli("employers", "unlink", "99900004500016", "Dupont").code == 5

    # Rights, and the last administrator.
    r = cli("rights", "grant", "Dupont", "payslips", "--json")
    assert r.json()["rights"] == ["declarations", "payslips"]
    r = cli("rights", "revoke", "Administrateur", "configuration", "--json")
    assert r.code == 6 and r.json()["error"]["code"] == "conflict"
    assert cli("users", "disable", "Administrateur").code == 6
    assert cli("users", "delete", "Personne", "--yes").code == 5
    assert cli("rights", "grant", "Dupont", "root").code == 2  # click: not a module

    # Dupont has no configuration right: refused by the service.
    r = cli(
        "users",
        "create",
        "Martin",
        "--password-stdin",
        "--as",
        "Dupont",
        input="martin-pass-1\n",
        DSNLINK_PASSWORD=DUPONT_PW,
    )
    assert r.code == 4 and "droit" in r.stderr

    # A disabled account can do nothing.
    assert cli("users", "disable", "Dupont").code == 0
    r = cli("identity", "show", "--as", "Dupont", DSNLINK_PASSWORD=DUPONT_PW)
    assert r.code == 4 and "désactivé" in r.stderr
    assert cli("users", "enable", "Dupont").code == 0

    # Own password change.
    r = cli(
        "users",
        "passwd",
        "--as",
        "Dupont",
        "--password-stdin",
        input="dupont-password-2\n",
        DSNLINK_PASSWORD=DUPONT_PW,
    )
    assert r.code == 0, r.stderr
    assert (
        cli("users", "show", "Dupont", "--as", "Dupont", DSNLINK_PASSWORD="dupont-password-2").code
        == 0
    )

    # The audit log: who did what; administration right needed.
    r = cli("audit", "--json")
    assert r.code == 0, r.stderr
    actions = [a["action"] for a in r.json()]
    assert {"installation.init", "user.create", "identity.set", "employer.link"} <= set(actions)
    assert "login.failed" in actions
    r = cli("audit", "--user", "Dupont", "--json")
    assert {a["actor"] for a in r.json()} == {"Dupont"}
    assert cli("audit", "--since", "hier").code == 2
    assert cli("audit", "--as", "Dupont", DSNLINK_PASSWORD="dupont-password-2").code == 4
    r = cli("audit")
    assert r.code == 0 and "identity.set" in r.stdout

    assert cli("upgrade", "--json").json()["changed"] is False

    # The canary appears nowhere: outputs, logs (DEBUG), the database files.
    for result in cli.outputs:
        assert CANARY not in result.stdout and CANARY not in result.stderr
    for file in data_dir.rglob("*"):
        if file.is_file():
            assert CANARY.encode() not in file.read_bytes(), file


def test_schema_and_installation_checks(hermetic_env: Path) -> None:
    r = invoke("users", "list", "--json")
    assert r.code == 3 and r.json()["error"]["code"] == "configuration.installation_missing"
    assert invoke("upgrade").code == 3
    assert invoke("init", DSNLINK_ADMIN_PASSWORD="short").code == 2
    assert invoke("init", DSNLINK_ADMIN_PASSWORD=ADMIN_PW).code == 0
    with sqlite3.connect(hermetic_env / "dsnlink.sqlite3") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0000_older'")
    r = invoke("users", "list", "--json", DSNLINK_PASSWORD=ADMIN_PW)
    assert r.code == 3 and r.json()["error"]["code"] == "configuration.schema_mismatch"


def test_secrets_never_from_a_missing_terminal(hermetic_env: Path) -> None:
    # No DSNLINK_ADMIN_PASSWORD and no terminal: a clear error, not a hang.
    r = run("init")
    assert r.code == 2 and "DSNLINK_ADMIN_PASSWORD" in r.stderr


def test_missing_master_key_is_clear_and_lists_still_work(hermetic_env: Path) -> None:
    assert invoke("init", DSNLINK_ADMIN_PASSWORD=ADMIN_PW).code == 0
    (hermetic_env / "master.key").unlink()
    env = {"DSNLINK_PASSWORD": ADMIN_PW}
    assert invoke("users", "list", **env).code == 0
    r = invoke(
        "identity",
        "set",
        "--siret",
        "99900000300015",
        "--nom",
        "d",
        "--prenom",
        "d",
        "--password-stdin",
        input=CANARY + "\n",
        **env,
    )
    assert r.code == 3 and "clé maîtresse" in r.stderr
    assert invoke("identity", "show", "--json", **env).json() == []


def test_demo(tmp_path: Path) -> None:
    # The default: a temporary folder, and the real (OWASP) password hashing profile.
    r = run("demo", "--json", TMPDIR=str(tmp_path), DSNLINK_PASSWORD_HASH_PROFILE=None)
    assert r.code == 0, r.stderr
    data = r.json()
    assert [u["login"] for u in data["users"]] == ["Administrateur", "Dupont", "Martin"]
    assert {u["login"]: u["rights"] for u in data["users"]}["Dupont"] == [
        "declarations",
        "payslips",
    ]
    assert len(data["employers"]) == 2
    assert {i["environment"] for i in data["identities"]} == {"simulator"}
    assert "Refonte01" not in r.stdout + r.stderr
    folder = Path(data["data_dir"])
    assert folder.is_relative_to(tmp_path)
    # The demo installation is a real one: commands work on it.
    r = run(
        "employers",
        "list",
        "--json",
        DSNLINK_DATA_DIR=str(folder),
        DSNLINK_USER="Administrateur",
        DSNLINK_PASSWORD="x",
    )
    assert r.code == 4  # the password was random: refused, cleanly


def test_demo_people_output(tmp_path: Path) -> None:
    r = run("demo", "--data-dir", str(tmp_path / "d"), DSNLINK_ADMIN_PASSWORD=ADMIN_PW)
    assert r.code == 0, r.stderr
    for text in ("Dupont", "Martin", "Boulangerie", "simulator", "Administrateur"):
        assert text in r.stdout
    assert ADMIN_PW not in r.stdout
    r = run(
        "users",
        "list",
        "--json",
        DSNLINK_DATA_DIR=str(tmp_path / "d"),
        DSNLINK_USER="Administrateur",
        DSNLINK_PASSWORD=ADMIN_PW,
    )
    assert r.code == 0 and len(r.json()) == 3


def test_real_command_with_a_canary(hermetic_env: Path) -> None:
    cli = Session(run)
    assert cli("init", "--json", DSNLINK_ADMIN_PASSWORD=ADMIN_PW).code == 0
    r = cli(
        *SET_DECLARANT,
        input=CANARY + "\n",
    )
    assert r.code == 0, r.stderr
    r = cli("identity", "show", "--json")
    assert r.json()[0]["state"] == "untested"
    r = cli("audit", "--json")
    assert r.json()[0]["action"] == "identity.set"
    for result in cli.outputs:
        assert CANARY not in result.stdout + result.stderr
    for file in hermetic_env.rglob("*"):
        if file.is_file():
            assert CANARY.encode() not in file.read_bytes(), file
    # A database from a newer program: refused with a clear error.
    with sqlite3.connect(hermetic_env / "dsnlink.sqlite3") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    r = cli("users", "list", "--json")
    assert r.code == 3 and r.json()["error"]["code"] == "configuration.schema_mismatch"


def test_corrupted_row_is_a_clear_error(hermetic_env: Path) -> None:
    env = {"DSNLINK_PASSWORD": ADMIN_PW}
    assert invoke("init", DSNLINK_ADMIN_PASSWORD=ADMIN_PW).code == 0
    r = invoke(
        *SET_DECLARANT,
        input="Refonte01\n",
        **env,
    )
    assert r.code == 0, r.stderr
    with sqlite3.connect(hermetic_env / "dsnlink.sqlite3") as conn:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        conn.execute("UPDATE identities SET state = 'on fire'")
    r = invoke("identity", "show", "--json", **env)
    assert r.code == 7
    assert r.json()["error"]["code"] == "store.corrupt_record"
    assert r.json()["error"]["context"]["table"] == "identities"
    # The rest of the installation still works.
    assert invoke("users", "list", **env).code == 0
