"""Showing the connection test and the linter to people (rich), in French."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dsnlink.connectivity.linter import FIELD_LABELS, LintReport, Severity
from dsnlink.connectivity.report import ConnectionReport
from dsnlink.connectivity.steps import Status

SYMBOLS = {
    Status.OK: "[bold green]✓[/]",
    Status.WARNING: "[bold yellow]![/]",
    Status.FAILURE: "[bold red]✗[/]",
    Status.SKIPPED: "[dim]–[/]",
}
WORDS = {
    Status.OK: "OK",
    Status.WARNING: "attention",
    Status.FAILURE: "échec",
    Status.SKIPPED: "non vérifié",
}


def render_report(report: ConnectionReport, console: Console) -> None:
    """The sheet's window (three check marks), then every step with its duration."""
    context = report.context
    console.print("[bold]Test de connexion[/]")
    if context.get("user"):
        console.print(f"Utilisateur : {escape(str(context['user']))}")
    if context.get("identity"):
        console.print(f"Identité Net-entreprises : {escape(str(context['identity']))}")
    if "last_success" in context:
        last = context["last_success"]
        when = (
            datetime.fromisoformat(str(last)).astimezone().strftime("%d/%m/%Y %H:%M")
            if last
            else "jamais"
        )
        console.print(f"Dernière connexion réussie (avant ce test) : {when}")
    console.print()
    for mark in report.marks:
        console.print(f" {SYMBOLS[mark.status]} {escape(mark.label)}")
        if mark.status is not Status.OK:
            console.print(f"     [dim]{escape(mark.detail)}[/]")
    console.print()
    group = None
    for step in report.steps:
        if step.group != group:
            group = step.group
            console.print(f"[bold]{escape(group)}[/]")
        duration = f"{step.duration * 1000:.0f} ms"
        console.print(
            f"  {SYMBOLS[step.status]} {escape(step.title)} [dim]({duration})[/] "
            f"{escape(step.detail)}"
        )
        if step.remedy and step.status in (Status.FAILURE, Status.WARNING):
            console.print(f"      [yellow]Que faire :[/] {escape(step.remedy)}")
    console.print()
    attempts = context.get("authentication_attempts", 0)
    console.print(
        f"[dim]Durée totale : {report.duration:.2f} s ; essais d'authentification "
        f"Net-entreprises : {attempts}.[/]"
    )


def render_lint(report: LintReport, console: Console) -> None:
    """What will be sent, field by field, with the findings and the offered value."""
    table = Table(show_header=True, header_style="bold")
    table.add_column("Champ")
    table.add_column("Sera envoyé")
    table.add_column("Valeur proposée")
    for field in report.fields:
        table.add_row(
            FIELD_LABELS[field.field],
            escape(field.visible),
            escape(field.cleaned_visible) if field.cleaned_visible else "[dim]—[/]",
        )
    console.print(table)
    console.print(
        "[dim]␣ espace, ⍽ espace insécable, ⇥ tabulation, ↵ saut de ligne, ⟨U+…⟩ caractère "
        "invisible ; le mot de passe n'est jamais affiché (•).[/]"
    )
    if not report.findings:
        console.print("[bold green]✓[/] Aucune anomalie de saisie.")
        return
    for finding in report.findings:
        symbol = SYMBOLS[Status.FAILURE if finding.severity is Severity.ERROR else Status.WARNING]
        console.print(f" {symbol} {escape(finding.message)}")
    if report.cleaned_values():
        console.print(
            "Rien n'a été modifié : si la valeur proposée est la bonne, saisissez-la (ou acceptez-"
            "la) à la place de l'actuelle."
        )
