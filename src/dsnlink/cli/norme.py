"""``dsnlink check``, ``dsnlink split`` and ``dsnlink generate``: DSN files on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dsnlink.cli.output import console, emit, json_option

_SEVERITY_STYLE = {"bloquant": "bold red", "non-bloquant": "yellow", "information": "cyan"}


@click.command("check")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--max-findings", default=200, show_default=True, help="Constats détaillés par fichier."
)
@json_option
@click.pass_context
def check(
    ctx: click.Context, files: tuple[Path, ...], max_findings: int, json_output: bool
) -> None:
    """Contrôle des fichiers DSN : structure, syntaxe, clés, totaux, encodage.

    Code de sortie : 0 sans constat, 1 constats non bloquants seulement, 2 constats bloquants.
    """
    from dsnlink.norme import validate

    results: list[dict[str, Any]] = []
    worst = 0
    for path in files:
        report = _validate_with_progress(validate, path, max_findings, quiet=json_output)
        worst = max(worst, report.exit_code)
        results.append({"file": str(path), "exit_code": report.exit_code, **report.to_dict()})
    emit({"exit_code": worst, "files": results}, json_output=json_output, render=_render_check)
    ctx.exit(worst)


def _validate_with_progress(validate: Any, path: Path, max_findings: int, *, quiet: bool) -> Any:
    """A progress bar for files large enough to take a while (over 20 MB), people only."""
    size = path.stat().st_size
    if quiet or size < 20_000_000 or not console.is_terminal:
        return validate(path, max_findings=max_findings)
    from rich.progress import Progress

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"Contrôle de {path.name}", total=size)
        return validate(
            path,
            max_findings=max_findings,
            on_progress=lambda done: progress.update(task, completed=done),
        )


def _render_check(data: dict[str, Any]) -> None:
    from rich.table import Table

    for result in data["files"]:
        summary = result["summary"]
        console.print(f"[bold]{result['file']}[/]")
        console.print(
            f"  {summary['lines']} lignes, {summary['bytes']} octets, encodage "
            f"{summary['encoding']}{' (BOM)' if summary['bom'] else ''}, fins de ligne "
            f"{summary['newline']}"
        )
        for envoi in summary["envois"]:
            kind = {True: "TEST", False: "RÉEL"}.get(envoi["test"], "?")
            console.print(
                f"  Envoi ligne {envoi['line']} : fichier {kind}, norme {envoi['norme'] or '?'}, "
                f"émetteur {envoi['emitter_siret'] or '?'}, {len(envoi['declarations'])} "
                "déclaration(s)"
            )
            for decl in envoi["declarations"]:
                console.print(
                    f"    SIRET {decl['siret'] or '?'} — {decl['nature_label'] or decl['nature']}"
                    f" {decl['type_label'] or decl['type'] or ''}, mois {decl['period'] or '?'}, "
                    f"fraction {decl['fraction'] or '?'}, n° d'ordre {decl['sequence'] or '?'}, "
                    f"{decl['employee_count']} salarié(s)"
                )
                _render_employees(decl["employees"])
        if result["findings"]:
            table = Table("Gravité", "Ligne", "Rubrique", "Valeur", "Constat", show_lines=False)
            for f in result["findings"]:
                style = _SEVERITY_STYLE.get(f["severity"], "")
                table.add_row(
                    f"[{style}]{f['severity']}[/]",
                    str(f["line"] or ""),
                    f["rubrique"] or "",
                    (f["value"] or "")[:30],
                    f["message"],
                )
            console.print(table)
        counts = result["counts"]
        verdict = {0: "[green]conforme[/]", 1: "[yellow]constats non bloquants[/]"}.get(
            result["exit_code"], "[bold red]constats bloquants[/]"
        )
        console.print(
            f"  Résultat : {verdict} — {counts['bloquant']} bloquant(s), "
            f"{counts['non-bloquant']} non bloquant(s), {counts['information']} information(s)\n"
        )


def _render_employees(employees: list[dict[str, Any]], limit: int = 20) -> None:
    from dsnlink.norme.findings import mask_nir

    for emp in employees[:limit]:
        nir = mask_nir(emp["nir"]) if emp["nir"] else (emp["ntt"] or "?")
        console.print(
            f"      {nir}  {emp['matricule'] or '':<10} {emp['last_name'] or ''} "
            f"{emp['first_names'] or ''} — taux PAS {emp['pas_rate'] or '?'} % "
            f"(CRM {emp['crm_id'] or '—'})"
        )
    if len(employees) > limit:
        console.print(f"      … et {len(employees) - limit} autre(s) (voir --json)")


@click.command("split")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Dossier où écrire un fichier par déclaration.",
)
@json_option
def split(file: Path, out_dir: Path, json_output: bool) -> None:
    """Découpe un envoi multi-déclarations : un fichier par déclaration (S90 recalculé)."""
    from dsnlink.norme import read_envois, split_envoi

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[dict[str, Any]] = []
    index = 0
    for envoi in read_envois(file):
        for part in split_envoi(envoi):
            index += 1
            decl = part.declarations[0]
            month = decl.value("S20.G00.05.005") or ""
            name = (
                f"{file.stem}.{index:03d}.{decl.siret or 'sans-siret'}.{month[4:]}{month[2:4]}.dsn"
            )
            target = out_dir / name
            data = part.to_bytes()
            target.write_bytes(data)
            written.append({"file": str(target), "siret": decl.siret, "lines": len(part.lines)})
    emit({"source": str(file), "written": written}, json_output=json_output, render=_render_split)


def _render_split(data: dict[str, Any]) -> None:
    console.print(f"{len(data['written'])} fichier(s) écrit(s) depuis {data['source']} :")
    for item in data["written"]:
        console.print(f"  {item['file']} (SIRET {item['siret']}, {item['lines']} lignes)")


@click.command("generate")
@click.option("--employees", default=10, show_default=True, type=click.IntRange(0, 2_000_000))
@click.option("--siret", default=None, help="SIRET déclaré (14 chiffres) ; au hasard sinon.")
@click.option("--month", default="2025-01", show_default=True, help="Mois déclaré AAAA-MM.")
@click.option("--real", is_flag=True, help="Fichier réel (S10.G00.00.005 = 02) ; test sinon.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--declarations", default=1, show_default=True, type=click.IntRange(1, 1000))
@click.option("--fault", "faults", multiple=True, help="Défaut à injecter (répétable).")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@json_option
def generate(
    employees: int,
    siret: str | None,
    month: str,
    real: bool,
    seed: int,
    declarations: int,
    faults: tuple[str, ...],
    out_file: Path,
    json_output: bool,
) -> None:
    """Écrit une DSN mensuelle réaliste (données fictives), pour essais et démonstrations."""
    from dsnlink.norme import generate_monthly_dsn

    data = generate_monthly_dsn(
        employees,
        siret=siret,
        month=month,
        test=not real,
        seed=seed,
        declarations=declarations,
        fault=list(faults),
    )
    out_file.write_bytes(data)
    emit(
        {
            "file": str(out_file),
            "bytes": len(data),
            "lines": data.count(b"\n"),
            "employees": employees,
            "faults": list(faults),
        },
        json_output=json_output,
        render=lambda d: console.print(
            f"DSN écrite : {d['file']} ({d['lines']} lignes, {d['bytes']} octets"
            + (f", défauts : {', '.join(d['faults'])}" if d["faults"] else "")
            + ")"
        ),
    )


COMMANDS = [check, split, generate]
