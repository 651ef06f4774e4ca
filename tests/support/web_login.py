"""Logging in to the Centre de maintenance over HTTP (clients other than a browser: the
benchmark's load process)."""

from __future__ import annotations

import httpx


async def log_in_over_http(client: httpx.AsyncClient, login: str, password: str) -> None:
    """Open a session (its cookie stays in ``client``) and send the ``Origin`` header a
    browser would, as the CSRF check expects of state-changing requests."""
    client.headers["origin"] = str(client.base_url).rstrip("/")
    answer = await client.post("/api/v1/session", json={"login": login, "password": password})
    if answer.status_code != 200:
        raise SystemExit(f"login refused: HTTP {answer.status_code} {answer.text[:200]}")
