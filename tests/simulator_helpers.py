"""Helpers shared by the simulator's tests: request bodies, a small DSN file, a login."""

from __future__ import annotations

import gzip
from typing import Any

import httpx

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
NIRS = ("1850575123456", "2900175234567", "1720399345678")
AUTH_HEADERS = {"Content-Type": "application/xml", "Accept-Encoding": "gzip"}


def auth_body(**fields: str) -> bytes:
    values = {**DECLARANT, **fields}
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in values.items())
    return f"<identifiants>{inner}</identifiants>".encode()


def small_dsn(
    *,
    nirs: tuple[str, ...] = NIRS,
    declarations: int = 1,
    siren: str = "999000003",
    nic: str = "00015",
    essai_reel: str = "01",
    extra: str = "",
) -> bytes:
    """A tiny DSN mensuelle, Latin-1, good enough for the platform's reception checks."""
    lines = [
        "S10.G00.00.001,'dsnlink'",
        "S10.G00.00.002,'dsnlink'",
        "S10.G00.00.003,'0.1'",
        "S10.G00.00.005,'" + essai_reel + "'",
        "S10.G00.00.006,'P26V01'",
        "S10.G00.00.008,'01'",
        "S10.G00.01.001,'" + siren + "'",
        "S10.G00.01.002,'" + nic + "'",
        "S10.G00.01.003,'Société Générale d'Éponges'",
    ]
    for _ in range(declarations):
        lines += [
            "S20.G00.05.001,'01'",
            "S20.G00.05.002,'01'",
            "S20.G00.05.003,'11'",
            "S20.G00.05.004,'1'",
            "S20.G00.05.005,'01022026'",
            "S21.G00.06.001,'" + siren + "'",
            "S21.G00.11.001,'" + nic + "'",
        ]
        for index, nir in enumerate(nirs):
            lines += [f"S21.G00.30.001,'{nir}'", f"S21.G00.30.019,'MAT{index:04d}'"]
    lines += [extra] if extra else []
    lines += [f"S90.G00.90.001,'{len(lines) + 2}'", f"S90.G00.90.002,'{declarations}'"]
    return ("\n".join(lines) + "\n").encode("latin-1")


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
