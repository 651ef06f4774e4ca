"""Entry point of the ``dsnlink`` command.

Command modules are discovered: every module of this package (other than ``main`` and
``output``) exposes ``COMMANDS``, a list of click commands or groups added to the root group.
Keep heavy imports (web server, simulator, lxml) inside the command functions so that
``dsnlink --help`` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any

import click

from dsnlink import __version__
from dsnlink.cli.output import fail_with
from dsnlink.errors import DsnlinkError
from dsnlink.logs import configure_logging
from dsnlink.settings import get_settings

_NOT_COMMAND_MODULES = {"main", "output"}

#: Exit code of an unexpected internal error (EX_SOFTWARE).
EXIT_INTERNAL = 70


class _RootGroup(click.Group):
    """Turns every DsnlinkError into a French message and its documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DsnlinkError as exc:
            fail_with(exc, json_output=_wants_json(ctx))
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - last resort: report, redacted, then exit
            fail_with(exc, json_output=_wants_json(ctx), exit_code=EXIT_INTERNAL)
        return None


def _wants_json(ctx: click.Context) -> bool:
    return "--json" in sys.argv[1:] or bool(ctx.params.get("json"))


@click.group(cls=_RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dsnlink")
def cli() -> None:
    """dsnlink : identifiants Net-entreprises, dépôt automatique des DSN, retours et taux PAS."""
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)


def _discover() -> None:
    package = importlib.import_module("dsnlink.cli")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name in _NOT_COMMAND_MODULES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"dsnlink.cli.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            cli.add_command(command)


_discover()


def main() -> None:
    cli(prog_name="dsnlink")
