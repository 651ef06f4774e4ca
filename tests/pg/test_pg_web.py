"""The web interface over a réseau installation (PostgreSQL): accounts and the Net-entreprises
tab work the same, the canary password stays out of pages and answers."""

from __future__ import annotations

import httpx
import pytest

from dsnlink.settings import get_settings
from dsnlink.setup import init_installation
from dsnlink.web.app import create_app

pytestmark = [pytest.mark.pg, pytest.mark.anyio]

ADMIN_PASSWORD = "Administrateur-pg-1!"
CANARY = "CANARY-Pg-Web-8841"
BASE = "http://dsnlink.test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_reseau_accounts_and_identity(fresh_pg_url: str) -> None:
    ctx = init_installation(
        get_settings(),
        name="Cabinet réseau",
        admin_password=ADMIN_PASSWORD,
        tiers_de_confiance="Cabinet Exemple",
        database_url_option=fresh_pg_url,
    )
    try:
        app = create_app(ctx)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE, headers={"Origin": BASE}
        ) as client:
            logged = await client.post(
                "/api/v1/session", json={"login": "Administrateur", "password": ADMIN_PASSWORD}
            )
            assert logged.status_code == 200
            page = await client.get("/comptes")
            assert "Réseau" in page.text and "Cabinet Exemple" in page.text
            created = await client.post(
                "/api/v1/users",
                json={
                    "login": "dupont",
                    "display_name": "Marie Dupont",
                    "password": "Dupont-pg-123!",
                    "rights": ["declarations"],
                },
            )
            assert created.status_code == 201, created.text
            saved = await client.put(
                "/api/v1/users/dupont/identity",
                json={
                    "siret": "73282932000074",
                    "nom": "DUPONT",
                    "prenom": "MARIE",
                    "environment": "production",
                    "password": CANARY,
                    "confirm_password": ADMIN_PASSWORD,
                },
            )
            assert saved.status_code == 200, saved.text
            assert saved.json()["state"] == "untested"
            seen = [saved.text]
            for path in ("/comptes", "/api/v1/users", "/comptes/dupont/net-entreprises"):
                answer = await client.get(path)
                assert answer.status_code == 200
                seen.append(answer.text)
            assert all(CANARY not in text for text in seen)
    finally:
        ctx.close()
