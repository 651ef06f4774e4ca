"""Every ``dsnlink vault`` command and option is documented."""

from __future__ import annotations

import click

from dsnlink.cli.vault import vault_group
from tests.conftest import ROOT


def test_every_vault_command_and_option_is_in_cli_md() -> None:
    cli_md = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert vault_group.commands
    for name, command in vault_group.commands.items():
        lines = [line for line in cli_md.splitlines() if f"`dsnlink vault {name}" in line]
        assert lines, name
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in (*param.opts, *param.secondary_opts):
                    assert opt in lines[0], (name, opt)


def test_vault_doc_describes_the_blob_and_the_providers() -> None:
    vault_md = (ROOT / "docs" / "vault.md").read_text(encoding="utf-8")
    for needle in ("DSNV", "DSNLINK_MASTER_KEY", "0600", "keyring", "export-key", "Disaster"):
        assert needle in vault_md
