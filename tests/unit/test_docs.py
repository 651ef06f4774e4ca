"""Every CLI command is in docs/cli.md and every setting in docs/settings.md, both ways."""

from __future__ import annotations

import re

import click

from dsnlink.cli.main import cli
from dsnlink.settings import Settings
from tests.conftest import ROOT


def _command_paths(group: click.Group, prefix: str = "dsnlink") -> list[str]:
    paths = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            paths.extend(_command_paths(command, path))
        else:
            paths.append(path)
    return paths


def test_every_command_is_documented() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [p for p in _command_paths(cli) if p not in text]
    assert not missing, f"commands missing from docs/cli.md: {missing}"


def test_every_setting_is_documented_and_exists() -> None:
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    fields = {f"DSNLINK_{name.upper()}" for name in Settings.model_fields}
    documented = set(re.findall(r"^\| `(DSNLINK_[A-Z0-9_]+)`", text, flags=re.MULTILINE))
    assert fields - documented == set(), "settings missing from docs/settings.md"
    assert documented - fields == set(), "docs/settings.md lists settings that do not exist"
