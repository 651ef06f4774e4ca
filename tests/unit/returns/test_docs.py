"""The returns command and module are documented."""

from __future__ import annotations

import click

from dsnlink.cli.returns import COMMANDS
from tests.conftest import ROOT


def test_every_option_of_returns_show_is_in_cli_md() -> None:
    cli_md = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    (group,) = COMMANDS
    assert isinstance(group, click.Group)
    for name, command in group.commands.items():
        assert f"`dsnlink returns {name}" in cli_md
        for param in command.params:
            if isinstance(param, click.Option):
                assert f"`{param.opts[0]}" in cli_md, param.opts[0]


def test_public_api_is_in_returns_md() -> None:
    import dsnlink.returns as returns
    from dsnlink.returns import build

    text = (ROOT / "docs" / "returns.md").read_text(encoding="utf-8")
    for name in [*returns.__all__, *build.__all__]:
        assert f"`{name}" in text, name
