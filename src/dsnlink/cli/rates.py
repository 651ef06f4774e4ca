"""``dsnlink rates``, ``deadlines``, ``returns sync|list``: what the returns brought back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dsnlink.cli._pipeline import pipeline_session
from dsnlink.cli._session import as_option
from dsnlink.cli.output import console, emit, json_option
from dsnlink.cli.returns import returns_group
from dsnlink.pipeline.months import check_month
from dsnlink.store.records import Module

_READERS = (Module.DECLARATIONS, Module.PAYSLIPS)


def _rates(as_login: str | None, employer: str | None, month: str | None, changes: bool) -> Any:
    from dsnlink.pipeline.rates import rates_view

    with pipeline_session(as_login, rights=_READERS) as session:
        return rates_view(
            session.pipeline, siret=employer, month=check_month(month), changes_only=changes
        )


@click.group("rates", invoke_without_command=True)
@click.option("--employer", metavar="SIRET", help="Un seul employeur.")
@click.option("--month", metavar="MM/AAAA", help="Les taux du CRM de ce mois de déclaration.")
@click.option("--changes", is_flag=True, help="Seulement les taux qui ont changé.")
@as_option
@json_option
@click.pass_context
def rates(
    ctx: click.Context,
    employer: str | None,
    month: str | None,
    changes: bool,
    as_login: str | None,
    json_output: bool,
) -> None:
    """Taux de prélèvement à la source (PAS) reçus de la DGFiP (CRM 94)."""
    if ctx.invoked_subcommand is not None:
        return
    from dsnlink.pipeline.rates import rate_row

    view = _rates(as_login, employer, month, changes)
    data = {
        "rates": [rate_row(r) for r in view.rates],
        "without_rate": [
            {"siret": s, "nir": e.nir, "matricule": e.matricule, "nom": e.name}
            for s, e in view.without_rate
        ],
    }
    emit(data, json_output=json_output, render=print_rates)


def print_rates(data: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        "SIRET",
        "Salarié",
        "NIR",
        "Taux",
        "Précédent",
        "Identifiant CRM (S21.G00.50.008)",
        "Valable jusqu'au",
        title="Taux PAS",
    )
    for r in data["rates"]:
        rate = f"{r['taux']} %" if r["taux"] else "barème par défaut"
        before = f"{r['taux_precedent']} %" if r["taux_precedent"] else "—"
        if r["change"]:
            rate = f"[bold]{rate}[/] (modifié)"
        who = escape(r["nom"] or r["matricule"] or "")
        table.add_row(
            r["siret"], who, r["nir"], rate, before, r["identifiant_crm"], r["valide_jusqu_au"]
        )
    console.print(table)
    if data["without_rate"]:
        console.print("Salariés de la DSN sans taux communiqué (barème par défaut) :")
        for e in data["without_rate"]:
            console.print(f"  - {e['siret']} {escape(e['nom'] or '')} {e['nir']}")


@rates.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Fichier.")
@click.option("--employer", metavar="SIRET", help="Un seul employeur.")
@click.option("--month", metavar="MM/AAAA", help="Les taux du CRM de ce mois de déclaration.")
@as_option
def export(
    fmt: str, output: Path | None, employer: str | None, month: str | None, as_login: str | None
) -> None:
    """Exporte les taux PAS pour la paie (CSV séparé par « ; », ou JSON)."""
    from dsnlink.pipeline.rates import export_rates

    text = export_rates(_rates(as_login, employer, month, False).rates, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Taux exportés dans {output}.")


@click.command("deadlines")
@click.option("--month", metavar="MM/AAAA", help="Mois déclaré (défaut : le mois dernier).")
@as_option
@json_option
def deadlines(month: str | None, as_login: str | None, json_output: bool) -> None:
    """Échéances par employeur : date limite et état de la DSN du mois."""
    from dsnlink.pipeline.deadlines import deadlines as compute

    with pipeline_session(as_login, rights=_READERS) as session:
        items = compute(session.pipeline, month=check_month(month))
    data = [
        {
            "siret": d.siret,
            "name": d.name,
            "month": d.month,
            "due": d.due.isoformat(),
            "status": d.status,
            "label": d.label,
            "deposited_at": d.deposited_at.isoformat() if d.deposited_at else None,
            "envoi_id": d.envoi_id,
        }
        for d in items
    ]
    emit(data, json_output=json_output, render=_print_deadlines)


_COLOURS = {"deposited": "green", "late": "yellow", "overdue": "bold red", "attention": "red"}


def _print_deadlines(rows: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table("SIRET", "Employeur", "Mois", "Échéance", "État")
    for r in rows:
        colour = _COLOURS.get(r["status"], "")
        label = f"[{colour}]{r['label']}[/]" if colour else r["label"]
        table.add_row(r["siret"], escape(r["name"]), r["month"], r["due"], label)
    console.print(table)


@returns_group.command("sync")
@as_option
@json_option
def sync(as_login: str | None, json_output: bool) -> None:
    """Relève les retours sur Net-entreprises (dépôts suivis et liste du déclarant)."""
    from dsnlink.jobs.handoff import sync_returns

    with pipeline_session(as_login) as session:
        # Here, or by the workers / the running « dsnlink run » (then None: not counted here).
        listed = sync_returns(session.app, session.pipeline)
        stored = len(session.pipeline.ledger.returns())
    emit(
        {"listed": listed or 0, "stored": stored, "handed_over": listed is None},
        json_output=json_output,
        render=lambda d: console.print(
            f"{d['listed']} retour(s) listé(s) ; {d['stored']} retour(s) conservé(s)."
        ),
    )


@returns_group.command("list")
@click.option("--idflux", help="Les retours d'un seul flux.")
@as_option
@json_option
def list_returns(idflux: str | None, as_login: str | None, json_output: bool) -> None:
    """Les retours conservés : nature, état, anomalies."""
    from dsnlink.pipeline.views import return_row

    with pipeline_session(as_login, rights=_READERS) as session:
        rows = [return_row(r) for r in session.pipeline.ledger.returns(idflux=idflux)]
    emit(rows, json_output=json_output, render=_print_returns)


def _print_returns(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("Flux", "Nature", "Type", "État", "Anomalies", "Publié le")
    for r in rows:
        anomalies = f"{r['anomalies']} (dont {r['blocking']} bloquantes)" if r["anomalies"] else "—"
        table.add_row(
            r["idflux"],
            r["nature"],
            r["kind"] or "",
            r["status"],
            anomalies,
            r["published_at"] or "—",
        )
    console.print(table)


COMMANDS = [rates, deadlines]
