"""Bulk-filling an installation's ledger with deposits and their returns (tests, benchmark).

Rows go straight through the store's own table definitions (fast, thousands per transaction);
each deposit is one file, one envoi in ``complete``, its events and ``returns_per`` return
files whose content is a small, distinct XML document.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from dsnlink.pipeline.tables import deposit_files, envoi_events, envois, return_files
from dsnlink.store import Database

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NATURES = ("10", "11", "94", "12", "13", "14", "15", "16", "17", "18")


def return_content(n: int, nature: str) -> bytes:
    body = "".join(
        f"<salarie nir='1{n % 97:02d}{i:010d}' taux='{(n + i) % 43}.{i % 10}0'/>" for i in range(8)
    )
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><rapport nature='{nature}' n='{n}'>{body}</rapport>"
    ).encode()


def deposit_rows(n: int, returns_per: int) -> dict[str, list[dict[str, Any]]]:
    fid, eid = f"f{n:012d}", f"e{n:012d}"
    sha = hashlib.sha256(f"deposit {n}".encode()).hexdigest()
    at = T0 + timedelta(minutes=n)
    idflux = f"FLX{n:012d}"
    return {
        "files": [
            {
                "id": fid,
                "sha256": sha,
                "name": f"paie-{n}.dsn",
                "size": 1000 + n % 500,
                "received_at": at,
                "acting_login": "dupont",
                "blocking": False,
                "findings": [],
                "source": "cli",
            }
        ],
        "envois": [
            {
                "id": eid,
                "file_id": fid,
                "seq": 0,
                "sha256": sha,
                "declared_siret": f"{n % 10**14:014d}",
                "month": f"{2026 - n % 3}-{1 + n % 12:02d}",
                "nature": "01",
                "type": "01",
                "fraction": "11",
                "is_test": False,
                "employees": [],
                "state": "complete",
                "acting_login": "dupont",
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
                "polls": 2,
                "error_code": None,
                "error_message": None,
                "version": 5,
                "data": b"S10.G00.00.001,'dsnlink'\n" * 20,
            }
        ],
        "events": [
            {
                "envoi_id": eid,
                "at": at,
                "from_state": None,
                "to_state": "complete",
                "actor": "dupont",
                "detail": "rempli pour les essais",
            }
        ],
        "returns": [
            {
                "idflux": idflux,
                "nature": NATURES[k % len(NATURES)],
                "ops": f"OPS{k // len(NATURES)}",
                "return_id": f"R{n}-{k}",
                "status": "available",
                "published_at": at,
                "url": f"https://127.0.0.1/retours/{n}/{k}",
                "identity_id": "1",
                "envoi_id": eid,
                "content": return_content(n, NATURES[k % len(NATURES)]),
                "kind": "ARE",
                "ok": True,
                "anomalies": 0,
                "blocking": 0,
                "fetched_at": at,
            }
            for k in range(returns_per)
        ],
    }


def fill(
    db: Database, deposits: int, *, returns_per: int = 1, start: int = 0, batch: int = 500
) -> None:
    """Add deposits ``start`` … ``start + deposits - 1``, ``batch`` per transaction."""
    for first in range(start, start + deposits, batch):
        rows: dict[str, list[dict[str, Any]]] = {
            "files": [],
            "envois": [],
            "events": [],
            "returns": [],
        }
        for n in range(first, min(first + batch, start + deposits)):
            for key, values in deposit_rows(n, returns_per).items():
                rows[key].extend(values)
        with db.write(lock="fill") as conn:
            conn.execute(insert(deposit_files), rows["files"])
            conn.execute(insert(envois), rows["envois"])
            conn.execute(insert(envoi_events), rows["events"])
            conn.execute(insert(return_files), rows["returns"])
