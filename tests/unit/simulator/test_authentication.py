"""Authentication: the mock's checks in order, realms, lockout, expiry, attempts, sessions."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from dsnlink.simulator import Simulator
from tests.simulator_helpers import (
    AUTH_HEADERS,
    CONCENTRATOR,
    OTHER,
    auth_body,
    bearer,
    login,
    login_other,
    other_account,
)

pytestmark = pytest.mark.anyio

URL = "/authentifier/1.0/"


async def test_default_declarant_gets_an_opaque_token(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=auth_body(), headers=AUTH_HEADERS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-encoding"] == "gzip"
    assert "expires" in response.headers
    token = response.text
    assert 200 <= len(token) <= 400 and not token.endswith("\n")


async def test_token_not_gzipped_without_accept_encoding(client: httpx.AsyncClient) -> None:
    request = client.build_request(
        "POST", URL, content=auth_body(), headers={"Content-Type": "application/xml"}
    )
    del request.headers["accept-encoding"]  # httpx sends one by default
    response = await client.send(request)
    assert response.status_code == 200
    assert "content-encoding" not in response.headers


async def test_concentrator_and_trailing_slash_optional(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/authentifier/1.0", content=auth_body(**CONCENTRATOR), headers=AUTH_HEADERS
    )
    assert response.status_code == 200


async def test_any_xml_formatting_is_accepted(client: httpx.AsyncClient) -> None:
    body = (
        b"<?xml version='1.0' encoding='UTF-8'?>\n<identifiants>\n  <siret>99900000300015</siret>\n"
        b"  <nom>d&#101;clarant</nom>\n  <prenom>declarant</prenom>\n"
        b"  <motdepasse>Refonte01</motdepasse>\n  <service>97</service>\n</identifiants>\n"
    )
    response = await client.post(URL, content=body, headers=AUTH_HEADERS)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Content-Type": "text/plain", "Accept-Encoding": "gzip"}, auth_body(), 415),
        ({"Content-Type": "application/xml", "Accept-Encoding": "identity"}, auth_body(), 406),
        (AUTH_HEADERS, b"<identifiants><siret>", 400),
        (AUTH_HEADERS, b"<!DOCTYPE x [<!ENTITY e 'x'>]><identifiants/>", 400),
        (AUTH_HEADERS, auth_body(siret="9990000030001"), 422),
        (AUTH_HEADERS, auth_body(nom="x" * 65), 422),
        (AUTH_HEADERS, auth_body(prenom="x" * 40), 422),
        (AUTH_HEADERS, auth_body(motdepasse="x" * 31), 422),
        (AUTH_HEADERS, auth_body(service="250"), 422),
        (AUTH_HEADERS, b"<identifiants><siret>99900000300015</siret></identifiants>", 422),
    ],
)
async def test_format_checks(
    client: httpx.AsyncClient, headers: dict[str, str], body: bytes, status: int
) -> None:
    response = await client.post(URL, content=body, headers=headers)
    assert response.status_code == status
    assert response.content == b""
    if status == 422:
        assert response.reason_phrase == "Unprocessable Entity"


@pytest.mark.parametrize(
    "fields",
    [
        {"motdepasse": "wrong"},
        {"nom": "DECLARANT"},
        {"siret": "99900000300016"},
        {"service": "98"},  # not registered for the concentrator service
    ],
)
async def test_wrong_credentials_never_say_which(
    client: httpx.AsyncClient, fields: dict[str, str]
) -> None:
    response = await client.post(URL, content=auth_body(**fields), headers=AUTH_HEADERS)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="net-entreprises.fr"'
    assert response.content == b""


async def test_lockout_after_consecutive_failures_until_unlocked(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.add_account(other_account(max_failures=3))
    who = OTHER
    for _ in range(3):
        r = await client.post(URL, content=auth_body(**who, motdepasse="bad"), headers=AUTH_HEADERS)
        assert r.status_code == 401
    r = await client.post(URL, content=auth_body(**who, motdepasse="Good-1"), headers=AUTH_HEADERS)
    assert r.status_code == 403 and r.content == b""
    sim.unlock("12345678900011", "N", "P")
    r = await client.post(URL, content=auth_body(**who, motdepasse="Good-1"), headers=AUTH_HEADERS)
    assert r.status_code == 200
    outcomes = [a["outcome"] for a in sim.attempts("12345678900011")]
    assert outcomes == ["wrong_credentials"] * 3 + ["locked", "ok"]


async def test_success_resets_the_failure_count(client: httpx.AsyncClient, sim: Simulator) -> None:
    for _ in range(4):
        await client.post(URL, content=auth_body(motdepasse="bad"), headers=AUTH_HEADERS)
    await login(client)
    for _ in range(4):
        await client.post(URL, content=auth_body(motdepasse="bad"), headers=AUTH_HEADERS)
    assert not sim.accounts.list()[1].locked


async def test_expired_password_realm(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.add_account(other_account(password_expires_at=(sim.now() + timedelta(days=1)).isoformat()))
    body = auth_body(siret="12345678900011", nom="N", prenom="P", motdepasse="Good-1")
    assert (await client.post(URL, content=body, headers=AUTH_HEADERS)).status_code == 200
    sim.clock.advance(timedelta(days=2))
    response = await client.post(URL, content=body, headers=AUTH_HEADERS)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="Expiration du mot de passe"'


async def test_not_registered_for_dsn_on_business_calls(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.add_account(other_account(dsn_registered=False))
    token = await login_other(client)
    response = await client.get("/lister-retours-flux/1.0/abc", headers=bearer(token))
    assert response.status_code == 401
    assert (
        response.headers["www-authenticate"]
        == 'DSNLogin realm="Utilisateur non-inscrit au service"'
    )


@pytest.mark.parametrize(
    "header", [None, "Bearer x", "DSNLogin jeton=", "DSNLogin jeton=unknown", "DSNLogin foo=bar"]
)
async def test_missing_or_unreadable_token(client: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = await client.get("/lister-retours-flux/1.0/abc", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'DSNLogin realm="Jeton manquant ou invalide"'
    assert response.content == b""


async def test_token_expires_after_its_lifetime(client: httpx.AsyncClient, sim: Simulator) -> None:
    token = await login(client)
    assert (
        await client.get("/lister-retours-flux/1.0/x", headers=bearer(token))
    ).status_code == 404
    sim.clock.advance(timedelta(seconds=sim.config.token_ttl_seconds + 1))
    assert (
        await client.get("/lister-retours-flux/1.0/x", headers=bearer(token))
    ).status_code == 401


async def test_overlapping_sessions_are_counted(client: httpx.AsyncClient, sim: Simulator) -> None:
    await login(client)
    await login(client)
    sim.clock.advance(timedelta(hours=3))
    await login(client)
    assert sim.sessions() == {"99900000300015/declarant/declarant": 2}
