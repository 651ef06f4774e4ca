"""The norme commands, API, finding codes and faults are documented."""

from __future__ import annotations

import click

import dsnlink.norme as norme
from dsnlink.cli.norme import COMMANDS
from tests.conftest import ROOT


def test_every_command_and_option_is_in_cli_md() -> None:
    cli_md = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"### `dsnlink {command.name}" in cli_md, command.name
        for param in command.params:
            if isinstance(param, click.Option) and param.opts[0] != "--help":
                assert f"`{param.opts[0]}" in cli_md, (command.name, param.opts[0])


def test_api_codes_and_faults_are_in_norme_md() -> None:
    text = (ROOT / "docs" / "norme.md").read_text(encoding="utf-8")
    for name in norme.__all__:
        assert f"`{name}" in text, name
    for code in norme.CODES:
        assert f"| `{code}` |" in text, code
    for fault in norme.FAULTS:
        assert f"| `{fault}` |" in text, fault
