"""``dsnlink returns``: look at a return file of the DSN platform.

Every value read from the file is escaped before rich prints it: a return file is outside
input, and rich would otherwise take ``[...]`` in a message for markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from dsnlink.cli.output import console, emit, json_option

if TYPE_CHECKING:
    from dsnlink.returns import Anomaly, Declaration, Employee, ReturnDocument

_TITLES = {
    "AEE": "Accusé d'enregistrement électronique (AEE) : dépôt accepté",
    "ARE": "Avis de rejet électronique (ARE) : dépôt refusé",
    "CCO": "Certificat de conformité (CCO)",
    "BAN": "Bilan d'anomalies (BAN)",
}
_STATES = {"OK": "[green]OK[/]", "KO": "[bold red]KO[/]", "ANO": "[yellow]ANO[/]"}


@click.group("returns")
def returns_group() -> None:
    """Fichiers retour de Net-entreprises (AEE, ARE, CCO, BAN, CRM)."""


@returns_group.command("show")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--nature",
    type=click.IntRange(1, 9999),
    help="Nature du retour (10, 11, 94…) quand le fichier ne la donne pas clairement.",
)
@click.option(
    "--limit",
    type=click.IntRange(0),
    default=50,
    show_default=True,
    help="Nombre maximum de salariés et d'anomalies affichés (0 : tous). Sans effet avec --json.",
)
@json_option
def show(file: Path, nature: int | None, limit: int, json_output: bool) -> None:
    """Affiche le contenu d'un fichier retour : état, anomalies, taux PAS."""
    from dsnlink.returns import parse

    document = parse(file, nature=nature)
    if json_output:
        emit(document.to_dict(), json_output=True)
    else:
        _render(document, limit or None)


def _render(document: ReturnDocument, limit: int | None) -> None:
    from rich.table import Table

    envoi = document.envoi
    console.print(f"[bold]{_title(document)}[/]")
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    for label, value in (
        ("Identifiant du flux (idflux)", _e(envoi.idflux)),
        ("État de l'envoi", _state(envoi.state)),
        ("Identifiant du CRM", _e(document.identifier)),
        ("Reçu le", _when(envoi.received_at)),
        ("Enregistré le", _when(envoi.registered_at)),
        ("SIRET émetteur", _e(envoi.emitter_siret)),
        ("Déclarant", _e(_declarant(document))),
        ("Fichier", _e(envoi.file_name)),
        ("Essai ou réel", _test_or_real(envoi.is_test)),
        ("Norme", _e(envoi.norme_version)),
        ("Déclarations / salariés", _counts(envoi.declarations_count, envoi.employees_count)),
        ("Message", _e(document.message)),
    ):
        if value:
            facts.add_row(label, value)
    console.print(facts)
    for counter in envoi.counters:
        console.print(f"  Anomalies « {_e(counter.category)} » : {counter.count}")
    for declaration in document.declarations:
        _render_declaration(declaration, limit)
    _render_anomalies(document.anomalies, limit)
    for warning in document.warnings:
        console.print(f"[yellow]Attention :[/] {_e(warning)}")


def _title(document: ReturnDocument) -> str:
    type_ = document.type or ""
    if type_.upper() in _TITLES:
        return _TITLES[type_.upper()]
    if document.kind == "pas_rates":
        return (
            "Compte rendu métier nominatif de la DGFiP (nature 94) : "
            "taux de prélèvement à la source"
        )
    nature = f", nature {document.nature}" if document.nature is not None else ""
    return f"Compte rendu « {_e(type_) or 'sans type'} »{nature}"


def _e(value: str | None) -> str | None:
    return escape(value) if value is not None else None


def _test_or_real(is_test: bool | None) -> str | None:
    if is_test is None:
        return None
    return "essai" if is_test else "réel"


def _state(state: str | None) -> str | None:
    if state is None:
        return None
    return _STATES.get(state, escape(state))


def _when(moment: Any) -> str | None:
    return moment.strftime("%d/%m/%Y à %H:%M:%S") if moment is not None else None


def _declarant(document: ReturnDocument) -> str | None:
    envoi = document.envoi
    parts = [envoi.declarant_first_name, envoi.declarant_last_name]
    name = " ".join(p for p in parts if p)
    if envoi.declarant_siret:
        name = f"{name} (SIRET {envoi.declarant_siret})" if name else envoi.declarant_siret
    return name or None


def _counts(*values: int | None) -> str | None:
    if all(v is None for v in values):
        return None
    return " / ".join("—" if v is None else f"{v:,}".replace(",", " ") for v in values)


def _render_declaration(declaration: Declaration, limit: int | None) -> None:
    from rich.table import Table

    where = escape(" ".join(p for p in (declaration.siren, declaration.nic) if p) or "?")
    line = f"\n[bold]Déclaration n° {declaration.rank or '?'}[/] — SIREN/NIC {where}"
    line += f", état {_state(declaration.state) or '?'}"
    if declaration.conformity_state:
        line += f", conformité {_state(declaration.conformity_state)}"
    if declaration.employees_count is not None:
        line += f", {declaration.employees_count} salarié(s)"
    console.print(line)
    if declaration.month:
        console.print(f"  Mois déclaré : {_e(declaration.month)}")
    for counter in declaration.counters:
        console.print(f"  Anomalies « {_e(counter.category)} » : {counter.count}")
    if declaration.conformity_certificate:
        console.print(f"  Certificat : {_e(declaration.conformity_certificate)}")
    if not declaration.employees:
        return
    table = Table(title="Taux PAS par salarié", title_justify="left")
    for column in ("NIR / NTT", "Matricule", "Taux PAS", "Futur taux", "À partir du"):
        table.add_column(column)
    shown = declaration.employees[:limit] if limit else declaration.employees
    for employee in shown:
        table.add_row(*_employee_row(employee))
    console.print(table)
    _more(len(declaration.employees) - len(shown), "salarié(s)")


def _employee_row(employee: Employee) -> list[str]:
    rate = f"{employee.rate} %" if employee.rate is not None else "[yellow]aucun (barème)[/]"
    future = f"{employee.future_rate} %" if employee.future_rate is not None else ""
    since = employee.future_rate_date.strftime("%d/%m/%Y") if employee.future_rate_date else ""
    return [
        escape(employee.identifier or "?"),
        escape(employee.matricule or ""),
        rate,
        future,
        since,
    ]


def _render_anomalies(anomalies: tuple[Anomaly, ...], limit: int | None) -> None:
    from rich.table import Table

    if not anomalies:
        console.print("\nAucune anomalie.")
        return
    table = Table(title=f"\n{len(anomalies)} anomalie(s)", title_justify="left", show_lines=True)
    for column in ("Code", "Catégorie", "Ligne", "Rubrique", "Valeur", "Message"):
        table.add_column(column, overflow="fold")
    shown = anomalies[:limit] if limit else anomalies
    for anomaly in shown:
        category = escape(anomaly.category or "")
        if anomaly.blocking:
            category = f"[bold red]{category}[/]"
        table.add_row(
            escape(anomaly.code or "?"),
            category,
            "" if anomaly.line is None else str(anomaly.line),
            escape(anomaly.rubrique or ""),
            escape(anomaly.value or ""),
            escape(anomaly.message or ""),
        )
    console.print(table)
    _more(len(anomalies) - len(shown), "anomalie(s)")


def _more(hidden: int, what: str) -> None:
    if hidden > 0:
        console.print(f"… et {hidden} autre(s) {what} : --limit 0 ou --json pour tout voir.")


COMMANDS = [returns_group]
