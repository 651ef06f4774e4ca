"""Rendering of the report (the sheet's window) and of the linter's findings."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime

from rich.console import Console

from dsnlink.connectivity.linter import lint_identity
from dsnlink.connectivity.render import render_lint, render_report
from dsnlink.connectivity.report import ConnectionReport, build_mark
from dsnlink.connectivity.steps import Outcome, Step, StepContext, run_steps
from dsnlink.connectivity.test import MARKS


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200, color_system=None), out


def _report() -> ConnectionReport:
    async def ok(_: StepContext) -> Outcome:
        return Outcome.ok("fine")

    async def bad(_: StepContext) -> Outcome:
        return Outcome.failure("Net-entreprises refuse.", "Copiez-collez les valeurs.")

    steps = [
        Step("settings", "Paramètres de connexion", ok, group="Configuration"),
        Step("auth.http", "Réponse HTTP", ok, group="Serveur d'authentification"),
        Step("update.http", "Réponse HTTP", ok, group="Serveur de mise à jour"),
        Step("login", "Authentification Net-entreprises", bad, group="Net-entreprises"),
    ]
    results = asyncio.run(run_steps(steps))
    return ConnectionReport(
        started_at=datetime.now(UTC),
        duration=0.1,
        marks=tuple(build_mark(spec, results) for spec in MARKS),
        steps=tuple(results),
        context={"user": "Dupont", "authentication_attempts": 1},
    )


def test_report_shows_three_marks_then_steps() -> None:
    console, out = _console()
    render_report(_report(), console)
    text = out.getvalue()
    assert text.index("✓ Adresse du serveur d'authentification") < text.index("Configuration")
    assert "✓ Adresse du serveur de mise à jour" in text
    assert "✗ Adresse d'authentification Net Entreprise" in text
    assert "Que faire : Copiez-collez les valeurs." in text
    assert "essais d'authentification Net-entreprises : 1" in text


def test_lint_rendering_masks_the_password() -> None:
    console, out = _console()
    report = lint_identity(siret="73282932000074", nom="DUPONT ", prenom="JEAN", motdepasse="abc\n")
    render_lint(report, console)
    text = out.getvalue()
    assert "«DUPONT␣»" in text and "«•••↵»" in text and "abc" not in text
    assert "Rien n'a été modifié" in text
