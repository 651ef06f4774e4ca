"""The schema-revision guard, both ways, for every command.

Every command that works on the installation must refuse (exit 3, ``schema_mismatch``) a
database older than the program (run ``dsnlink upgrade``) and one newer than the program
(update this workstation). The table below must name every command of the CLI: a new command
fails this test until it is listed, either with its arguments or among the exemptions with
the reason.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import click
import pytest

from dsnlink.cli.main import cli
from dsnlink.store.schema import known_revisions
from tests.integration.cli_helpers import ADMIN_PW, invoke

SIRET = "99900000300015"

#: Commands that open the installation, and arguments that get them past click's parsing.
GUARDED: dict[str, list[str]] = {
    "connection show": [],
    "connection set": ["--mode", "normal"],
    "test-connection": [],
    "deposit": ["{dsn}"],
    "status": [],
    "run": ["--until-idle"],
    "watch": ["{tmp}/depot", "--once"],
    "employers add": [SIRET, "Employeur"],
    "employers list": [],
    "employers link": [SIRET, "Administrateur"],
    "employers unlink": [SIRET, "Administrateur"],
    "audit": [],
    "identity set": ["--siret", SIRET, "--nom", "N", "--prenom", "P", "--keep-password"],
    "identity show": [],
    "identity delete": [],
    "backup list": [],
    "backup schedule set": ["--frequency", "daily", "--to", "{tmp}"],
    "backup schedule show": [],
    "worker": ["--status"],
    "serve": ["--port", "1"],
    "rates": [],
    "rates export": ["--format", "csv"],
    "deadlines": [],
    "returns sync": [],
    "returns list": [],
    "users list": [],
    "users show": ["Administrateur"],
    "users create": ["paie", "--password-stdin"],
    "users edit": ["Administrateur", "--name", "Chef"],
    "users disable": ["Administrateur"],
    "users enable": ["Administrateur"],
    "users delete": ["Administrateur", "--yes"],
    "users passwd": ["--password-stdin"],
    "rights grant": ["Administrateur", "payslips"],
    "rights revoke": ["Administrateur", "payslips"],
    "vault rotate-master-key": [],
    "vault reencrypt": [],
    "vault forget-retired-keys": [],
    "vault status": [],
}

#: Commands that do not run on the installation's schema, and why.
EXEMPT = {
    "init": "creates the schema",
    "upgrade": "migrates the schema",
    "demo": "creates its own installation",
    "doctor": "reports a mismatch instead of refusing",
    "backup": "a backup is taken before upgrading: any revision, recorded in the manifest",
    "backup verify": "works on an archive file only",
    "restore": "restores an archive, whatever its revision (the guard applies afterwards)",
    "connection lint": "no installation needed",
    "check": "DSN files only",
    "split": "DSN files only",
    "generate": "DSN files only",
    "returns show": "a return file only",
    "vault export-key": "the key ring only (disaster recovery must work on any schema)",
    "vault create-key": "the key ring only",
    "simulator serve": "the simulator",
    "simulator clock advance": "the simulator",
    "simulator clock show": "the simulator",
    "simulator deposits": "the simulator",
    "simulator accounts": "the simulator",
}


def _commands() -> list[str]:
    found: list[str] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        if isinstance(cmd, click.Group):
            if cmd.invoke_without_command and path:
                found.append(" ".join(path))
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
        else:
            found.append(" ".join(path))

    walk(cli, [])
    return found


def test_every_command_is_guarded_or_exempt() -> None:
    commands = set(_commands())
    assert commands - set(GUARDED) - set(EXEMPT) == set(), "list the new command above"
    assert set(GUARDED) | set(EXEMPT) <= commands, "a listed command no longer exists"


@pytest.mark.parametrize("direction", ["older", "newer"])
def test_every_command_refuses_a_schema_of_another_version(
    hermetic_env: Path, tmp_path: Path, direction: str
) -> None:
    assert invoke("init", DSNLINK_ADMIN_PASSWORD=ADMIN_PW).code == 0
    revision = known_revisions()[0] if direction == "older" else "9999_from_a_newer_dsnlink"
    with contextlib.closing(sqlite3.connect(hermetic_env / "dsnlink.sqlite3")) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    dsn = tmp_path / "paie.dsn"
    dsn.write_bytes(b"S10.G00.00.001,'x'\n")
    expected = "plus ancienne" if direction == "older" else "plus récente"
    for command, args in GUARDED.items():
        argv = [*command.split(), *(a.format(dsn=dsn, tmp=tmp_path) for a in args)]
        r = invoke(*argv, input="mot-de-passe-1\n", DSNLINK_PASSWORD=ADMIN_PW)
        assert r.code == 3, (command, r.stdout, r.stderr)
        assert expected in r.stdout + r.stderr, (command, r.stderr)
    # The database was never written: still the revision set above, nothing else changed.
    with contextlib.closing(sqlite3.connect(hermetic_env / "dsnlink.sqlite3")) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == revision
        assert conn.execute("SELECT count(*) FROM employers").fetchone()[0] == 0
    # The doctor reports it (exit 2) instead of refusing.
    r = invoke("doctor", "--json")
    assert r.code == 2
    schema = next(c for c in r.json()["checks"] if c["name"] == "schema")
    assert schema["status"] == "failure" and expected in schema["message"]
