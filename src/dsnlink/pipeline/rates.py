"""PAS rates from the DGFiP's CRM 94: per employer and employee, with the previous rate, the
validity end, the employees of the DSN the CRM gave no rate for, and exports for the payroll."""

from __future__ import annotations

import csv
import io
import json
from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from dsnlink.pipeline.context import Pipeline
from dsnlink.pipeline.model import Employee, Envoi, PasRate, StoredReturn
from dsnlink.pipeline.ports import ParsedReturn


def validity_end(published: date) -> date:
    """Rates are valid until the end of the second month after the CRM is published."""
    month = published.month + 2
    year = published.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, monthrange(year, month)[1])


def rates_from_crm(
    pipeline: Pipeline, envoi: Envoi, ret: StoredReturn, parsed: ParsedReturn
) -> list[PasRate]:
    decl = envoi.declaration
    published = ret.published_at or pipeline.clock.now()
    people = {e.nir: e for e in decl.employees}
    previous = latest_rates(pipeline.ledger.rates(siret=decl.declared_siret), before=published)
    rows: list[PasRate] = []
    for item in parsed.rates:
        known = people.get(item.nir)
        before = previous.get(item.nir)
        rows.append(
            PasRate(
                employer_siret=decl.declared_siret,
                month=decl.month,
                nir=item.nir,
                crm_identifier=parsed.crm_identifier or ret.return_id,
                idflux=ret.idflux,
                published_at=published,
                valid_until=validity_end(published.date()),
                rate=item.rate,
                matricule=item.matricule or (known.matricule if known else None),
                name=known.name if known else None,
                previous_rate=before.rate if before else None,
                previous_known=before is not None,
            )
        )
    return rows


def latest_rates(rows: Sequence[PasRate], *, before: datetime | None = None) -> dict[str, PasRate]:
    """The most recent rate per NIR (strictly before ``before`` when given)."""
    latest: dict[str, PasRate] = {}
    for row in sorted(rows, key=lambda r: r.published_at):
        if before is not None and row.published_at >= before:
            continue
        latest[row.nir] = row
    return latest


@dataclass(frozen=True)
class RatesView:
    rates: tuple[PasRate, ...]
    #: Employees of the deposited DSN for whom the CRM gave no rate (default scale applies).
    without_rate: tuple[tuple[str, Employee], ...]


def rates_view(
    pipeline: Pipeline,
    *,
    siret: str | None = None,
    month: str | None = None,
    changes_only: bool = False,
) -> RatesView:
    rows = pipeline.ledger.rates(siret=siret, month=month)
    if month is None:  # the current rate of each employee
        by_key: dict[tuple[str, str], PasRate] = {}
        for row in sorted(rows, key=lambda r: r.published_at):
            by_key[(row.employer_siret, row.nir)] = row
        rows = sorted(by_key.values(), key=lambda r: (r.employer_siret, r.nir))
    if changes_only:
        rows = [r for r in rows if r.changed]
    missing: list[tuple[str, Employee]] = []
    for idflux in sorted({r.idflux for r in rows}):
        owners = pipeline.ledger.envois(idflux=idflux)
        if not owners:
            continue
        listed = {r.nir for r in rows if r.idflux == idflux and r.rate is not None}
        decl = owners[0].declaration
        missing.extend((decl.declared_siret, e) for e in decl.employees if e.nir not in listed)
    return RatesView(tuple(rows), tuple(missing))


def rate_row(rate: PasRate) -> dict[str, object]:
    return {
        "siret": rate.employer_siret,
        "mois": rate.month,
        "nir": rate.nir,
        "matricule": rate.matricule,
        "nom": rate.name,
        "taux": None if rate.rate is None else f"{rate.rate:.2f}",
        "taux_precedent": None if rate.previous_rate is None else f"{rate.previous_rate:.2f}",
        "change": rate.changed,
        "identifiant_crm": rate.crm_identifier,
        "valide_jusqu_au": rate.valid_until.isoformat(),
        "publie_le": rate.published_at.isoformat(),
        "idflux": rate.idflux,
    }


def export_rates(rates: Sequence[PasRate], fmt: str) -> str:
    """CSV (``;``-separated, for French spreadsheets) or JSON, one row per employee."""
    rows = [rate_row(r) for r in rates]
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_COLUMNS, delimiter=";", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return out.getvalue()


_COLUMNS = [
    "siret",
    "mois",
    "nir",
    "matricule",
    "nom",
    "taux",
    "taux_precedent",
    "change",
    "identifiant_crm",
    "valide_jusqu_au",
    "publie_le",
    "idflux",
]
