"""Helpers shared by the simulator's tests: request bodies, a small DSN file, a login."""

from __future__ import annotations

import gzip
from typing import Any

import httpx

from dsnlink.norme import generate_monthly_dsn, summarize
from dsnlink.simulator.rates import pas_rate

DECLARANT = {
    "siret": "99900000300015",
    "nom": "declarant",
    "prenom": "declarant",
    "motdepasse": "Refonte01",
    "service": "25",
}
CONCENTRATOR = {
    "siret": "18751249600022",
    "nom": "CTR2000",
    "prenom": "concentrateur",
    "motdepasse": "azerty",
    "service": "98",
}
AUTH_HEADERS = {"Content-Type": "application/xml", "Accept-Encoding": "gzip"}


def auth_body(**fields: str) -> bytes:
    values = {**DECLARANT, **fields}
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in values.items())
    return f"<identifiants>{inner}</identifiants>".encode()


#: The establishment the default declarant declares (its own SIRET; a valid Luhn key).
EMPLOYER = "99900000300015"


def small_dsn(
    employees: int = 3,
    *,
    siret: str = EMPLOYER,
    declarations: int = 1,
    test: bool = True,
    fault: str | None = None,
    seed: int = 0,
) -> bytes:
    """A realistic monthly DSN (Latin-1), made by dsnlink's own generator."""
    return generate_monthly_dsn(
        employees,
        siret=siret,
        month="2026-02",
        test=test,
        declarations=declarations,
        fault=fault,
        seed=seed,
        norme="P26V01",
    )


def nirs_of(dsn: bytes) -> list[str]:
    return [e.nir or e.ntt or "" for e in summarize(dsn).declarations[0].employees]


def dsn_with_missing_rate() -> tuple[bytes, str]:
    """A file one of whose employees gets no PAS rate from the simulated DGFiP."""
    for seed in range(500):
        dsn = small_dsn(seed=seed)
        missing = [n for n in nirs_of(dsn) if pas_rate(n) is None]
        if missing:
            return dsn, missing[0]
    raise AssertionError("no seed gives an employee without a rate")


def deposit_headers(token: str, **extra: str) -> dict[str, str]:
    return {
        "Content-Type": "text/plain",
        "Content-Encoding": "gzip",
        "Accept-Encoding": "gzip",
        "Authorization": f"DSNLogin jeton={token}",
        **extra,
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"DSNLogin jeton={token}", "Accept-Encoding": "gzip"}


async def login(client: httpx.AsyncClient, **fields: str) -> str:
    response = await client.post(
        "/authentifier/1.0/", content=auth_body(**fields), headers=AUTH_HEADERS
    )
    assert response.status_code == 200, response.status_code
    return response.text


async def deposit(client: httpx.AsyncClient, token: str, dsn: bytes, version: str = "1.0") -> Any:
    return await client.post(
        f"/deposer-dsn/{version}/", content=gzip.compress(dsn), headers=deposit_headers(token)
    )


#: A second account, for tests that need one of their own.
OTHER = {"siret": "12345678900011", "nom": "N", "prenom": "P"}
OTHER_PASSWORD = "Good-1"


def other_account(**extra: Any) -> dict[str, Any]:
    return {**OTHER, "password": OTHER_PASSWORD, **extra}


async def login_other(client: httpx.AsyncClient) -> str:
    return await login(client, **OTHER, motdepasse=OTHER_PASSWORD)
