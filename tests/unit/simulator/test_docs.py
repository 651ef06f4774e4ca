"""The simulator's commands, routes, configuration and control API are documented."""

from __future__ import annotations

import click

from dsnlink.cli.simulator import COMMANDS
from dsnlink.simulator import admin
from dsnlink.simulator.config import ROUTES, FaultRule, MaintenanceWindow, Schedule, SimulatorConfig
from tests.conftest import ROOT


def _commands(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found += _commands(command, path)
        else:
            found.append((path, command))
    return found


def test_every_command_and_option_is_in_cli_md() -> None:
    cli_md = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    (group,) = COMMANDS
    assert isinstance(group, click.Group)
    for path, command in _commands(group, "dsnlink simulator"):
        line = next((x for x in cli_md.splitlines() if f"`{path}" in x), None)
        assert line is not None, path
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.opts[0] in line, (path, param.opts[0])


def test_routes_configuration_and_control_api_are_in_simulator_md() -> None:
    text = (ROOT / "docs" / "simulator.md").read_text(encoding="utf-8")
    for route in ROUTES:
        assert f"`{route}`" in text, route
    for model in (SimulatorConfig, Schedule, FaultRule, MaintenanceWindow):
        for field in model.model_fields:
            assert f"`{field}`" in text or f"{field}:" in text, (model.__name__, field)
    for path in [*admin._GET, *admin._POST]:
        if path != "/state":
            assert f"/_admin{path}" in text, path
