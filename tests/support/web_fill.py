"""Fill a ledger quickly with plausible deposits, returns and PAS rates over many employers
(bulk inserts), for the listing tests and ``bench/web.py``.

Shape: ``employers`` employers, each with ``deposits // employers`` monthly DSN (one month
each, going back in time), every envoi deposited with an AEE (nature 10), a CCO or BAN (11),
a CRM 94 and further returns up to ``returns`` in all, and ``rates // deposits`` employees'
PAS rates per deposit, some of which changed since the previous month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from dsnlink.pipeline.tables import deposit_files, envoi_events, envois, pas_rates, return_files
from dsnlink.store import tables as t
from dsnlink.store.database import Database

BATCH = 5_000
START = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Filled:
    sirets: list[str]
    months: list[str]
    envoi_ids: list[str]
    idfluxes: list[str]


def siret_of(n: int) -> str:
    """A 14-digit SIRET whose SIREN passes the Luhn check (the validators accept it)."""
    base = f"{100000 + n:08d}"
    for digit in range(10):
        siren = base + str(digit)
        if _luhn(siren):
            return siren + "00012"
    raise AssertionError("no Luhn digit")  # pragma: no cover


def _luhn(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def month_back(n: int) -> str:
    """``n`` months before 10/2026, as MM/YYYY."""
    index = 2026 * 12 + 9 - n
    return f"{index % 12 + 1:02d}/{index // 12}"


def fill(
    db: Database,
    *,
    deposits: int,
    returns: int,
    rates: int,
    employers: int = 100,
    login: str = "admin",
) -> Filled:
    per_employer = max(1, deposits // employers)
    employees = max(1, rates // deposits)
    extra_returns = max(0, returns // deposits - 3)
    sirets = [siret_of(i) for i in range(employers)]
    files: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    rets: list[dict[str, Any]] = []
    pas: list[dict[str, Any]] = []
    ids: list[str] = []
    fluxes: list[str] = []
    n = 0
    for e, siret in enumerate(sirets):
        for m in range(per_employer):
            if n >= deposits:
                break
            month = month_back(m)
            at = START - timedelta(days=31 * m, minutes=e)
            envoi_id, file_id, idflux = f"e{n:031d}", f"f{n:031d}", f"FLX{n:012d}"
            people = [
                [f"1{e:03d}{k:06d}12345", f"M{k:04d}", f"SALARIE {k:04d}"] for k in range(employees)
            ]
            files.append(
                {
                    "id": file_id,
                    "sha256": f"{n:064x}",
                    "name": f"dsn-{siret}-{month.replace('/', '-')}.dsn",
                    "size": 4096,
                    "received_at": at,
                    "acting_login": login,
                    "blocking": False,
                    "findings": [],
                    "source": "web",
                }
            )
            rows.append(
                {
                    "id": envoi_id,
                    "file_id": file_id,
                    "seq": 0,
                    "sha256": f"{n:064x}",
                    "declared_siret": siret,
                    "month": month,
                    "nature": "01",
                    "type": "01",
                    "fraction": "11",
                    "is_test": False,
                    "employees": people,
                    "state": "complete" if n % 7 else "returns_pending",
                    "acting_login": login,
                    "created_at": at,
                    "updated_at": at,
                    "identity_id": "1",
                    "role": "single",
                    "pair_id": None,
                    "forced": False,
                    "idflux": idflux,
                    "attempts": 1,
                    "sending_at": at,
                    "deposited_at": at,
                    "next_poll_at": None,
                    "polls": 3,
                    "error_code": None,
                    "error_message": None,
                    "version": 5,
                    "data": b"S10.G00.00.001,'dsnlink'\n",
                }
            )
            events.append(
                {
                    "envoi_id": envoi_id,
                    "at": at,
                    "from_state": None,
                    "to_state": "queued",
                    "actor": login,
                    "detail": "",
                }
            )
            kinds = [("10", "", "AEE"), ("11", "", "CCO" if n % 5 else "BAN"), ("94", "", "CRM94")]
            kinds += [("98", f"OPS{k}", "other") for k in range(extra_returns)]
            for nature, ops, kind in kinds:
                rets.append(
                    {
                        "idflux": idflux,
                        "nature": nature,
                        "ops": ops,
                        "return_id": f"R{n}-{nature}-{ops}",
                        "status": "disponible",
                        "published_at": at + timedelta(hours=int(nature) % 24),
                        "url": f"/retours/{idflux}/{nature}",
                        "identity_id": "1",
                        "envoi_id": envoi_id,
                        "content": b"<rapport/>",
                        "kind": kind,
                        "ok": kind != "BAN",
                        "anomalies": 0 if n % 5 else 2,
                        "blocking": 0,
                        "fetched_at": at,
                    }
                )
            published = at + timedelta(days=3)
            for k, (nir, matricule, name) in enumerate(people):
                rate = None if k % 9 == 8 else Decimal(f"{(k * 7 + m) % 30}.{k % 10}0")
                previous = Decimal(f"{(k * 7 + m + 1) % 30}.{k % 10}0") if k % 4 == 0 else rate
                pas.append(
                    {
                        "crm_key": f"{idflux}/CRM{n}",
                        "employer_siret": siret,
                        "month": month,
                        "nir": nir,
                        "crm_identifier": f"CRM{n}",
                        "idflux": idflux,
                        "published_at": published,
                        "valid_until": date(2027, 1, 31),
                        "rate": rate,
                        "matricule": matricule,
                        "name": name,
                        "previous_rate": previous,
                        "previous_known": m < per_employer - 1,
                    }
                )
            ids.append(envoi_id)
            fluxes.append(idflux)
            n += 1
    employer_rows = [
        {
            "siret": s,
            "name": f"Employeur {i:03d}",
            "due_day": 15 if i % 2 else 5,
            "created_at": START,
        }
        for i, s in enumerate(sirets)
    ]
    with db.write() as conn:
        for table, values in (
            (t.employers, employer_rows),
            (deposit_files, files),
            (envois, rows),
            (envoi_events, events),
            (return_files, rets[:returns]),
            (pas_rates, pas[:rates]),
        ):
            for i in range(0, len(values), BATCH):
                conn.execute(insert(table), values[i : i + BATCH])
    months = [month_back(m) for m in range(per_employer)]
    return Filled(sirets, months, ids, fluxes)
