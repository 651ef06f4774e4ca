"""Printing for the CLI: rich for people, JSON for scripts, errors in one shape."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

import click
from rich.console import Console

from dsnlink.errors import DsnlinkError
from dsnlink.logs import get_logger
from dsnlink.redaction import redact, redact_text

console = Console(highlight=False)
# soft_wrap: an error message is never cut mid-word or mid-path by a hard line break, so
# scripts and logs can search it whatever the terminal width.
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

json_option = click.option("--json", "json_output", is_flag=True, help="Sortie JSON.")


def emit(data: Any, *, json_output: bool, render: Callable[[Any], None] | None = None) -> None:
    """Print ``data`` as JSON (scripts) or through ``render`` (people)."""
    if json_output or render is None:
        click.echo(json.dumps(redact(data), ensure_ascii=False, indent=2, default=str))
    else:
        render(data)


def fail_with(exc: BaseException, *, json_output: bool, exit_code: int | None = None) -> NoReturn:
    """Report ``exc`` and exit. Unexpected errors show no traceback unless DSNLINK_DEBUG=1."""
    if isinstance(exc, DsnlinkError):
        payload = exc.to_dict()
        code = exit_code or exc.exit_code
    else:
        get_logger("dsnlink.cli").error(
            "internal_error", error=type(exc).__name__, detail=redact_text(str(exc))
        )
        payload = {
            "code": "internal",
            "message": "Erreur interne de dsnlink.",
            "remedy": "Relancez avec DSNLINK_LOG_LEVEL=DEBUG et signalez le problème.",
            "context": {"type": type(exc).__name__},
        }
        code = exit_code or 70
    payload = redact(payload)
    if json_output:
        click.echo(json.dumps({"error": payload}, ensure_ascii=False, indent=2))
    else:
        err_console.print(f"[bold red]Erreur :[/] {payload['message']}", markup=True)
        if payload.get("remedy"):
            err_console.print(f"[yellow]Que faire :[/] {payload['remedy']}", markup=True)
        if not isinstance(exc, DsnlinkError) and _debug():
            err_console.print(redact_text("".join(traceback.format_exception(exc))))
    sys.exit(code)


def _debug() -> bool:
    return os.environ.get("DSNLINK_DEBUG") == "1"
