"""The connection commands, settings and linter rules are documented."""

from __future__ import annotations

import re

import click

from dsnlink.cli.connection import COMMANDS
from dsnlink.connectivity.linter import lint_field
from dsnlink.connectivity.settings import ConnectionSettings
from tests.conftest import ROOT

DOCS = ROOT / "docs"

# Inputs that trigger every rule of the linter (field, value, previous value).
CORPUS = [
    ("nom", " DUPONT", None),
    ("nom", "DUPONT ", None),
    ("nom", "   ", None),
    ("nom", "DE  LA", None),
    ("nom", "DU\u00a0PONT", None),
    ("nom", "DU\u200bPONT", None),
    ("nom", "DU\tPONT", None),
    ("nom", "DU\nPONT", None),
    ("nom", "DU\x1bPONT", None),
    ("nom", "HE\u0301LENE", None),
    ("nom", "D\u2019ARC", None),
    ("nom", "Dupont", None),
    ("nom", "HELENE", "HÉLÈNE"),
    ("nom", "A" * 65, None),
    ("nom", "", None),
    ("siret", "7328293200007", None),
    ("siret", "7328293200007A", None),
    ("siret", "73282932000075", None),
    ("siret", "732 829 320 00074", None),
]


def test_every_linter_rule_is_documented_and_every_documented_rule_exists() -> None:
    seen = set()
    for field, value, previous in CORPUS:
        seen |= {f.rule for f in lint_field(field, value, previous=previous).findings}  # type: ignore[arg-type]
    text = (DOCS / "connection.md").read_text(encoding="utf-8")
    section = text[text.index("## The credential linter") : text.index("## The connection test")]
    documented = set()
    for line in section.splitlines():
        if line.startswith("| `"):  # a row of the rules table: the rules are its first cell
            documented |= set(re.findall(r"`([a-z_0-9]+)`", line.split("|")[1]))
    assert seen <= documented, seen - documented
    assert documented <= seen, documented - seen


def test_every_command_and_option_is_in_cli_md() -> None:
    cli_md = (DOCS / "cli.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        if isinstance(command, click.Group):
            subcommands = [(f"{command.name} {n}", c) for n, c in command.commands.items()]
        else:
            subcommands = [(str(command.name), command)]
        for name, sub in subcommands:
            assert f"`dsnlink {name}" in cli_md, name
            for param in sub.params:
                if isinstance(param, click.Option):
                    assert param.opts[0] in cli_md, (name, param.opts[0])


def test_every_connection_setting_is_documented() -> None:
    settings_md = (DOCS / "settings.md").read_text(encoding="utf-8")
    connection_md = (DOCS / "connection.md").read_text(encoding="utf-8")
    for key in ConnectionSettings.model_fields:
        assert f"`{key}`" in settings_md, key
        assert f"`{key}`" in connection_md, key
