"""The control API over HTTP, state surviving a restart, and secrets kept out of the state."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from dsnlink.simulator import Simulator, SimulatorConfig, create_app
from dsnlink.simulator.clock import parse_duration
from tests.simulator_helpers import AUTH_HEADERS, auth_body, deposit, login, small_dsn
from tests.unit.simulator.conftest import T0

pytestmark = pytest.mark.anyio

CANARY = "CANARY-s3cr3t-pw"


async def test_admin_clock_accounts_faults(client: httpx.AsyncClient, sim: Simulator) -> None:
    state = (await client.get("/_admin/")).json()
    assert state["now"] == T0.isoformat() and state["frozen"] is True
    moved = (await client.post("/_admin/clock", json={"advance": "3d"})).json()
    assert moved["now"] == (T0 + parse_duration("3d")).isoformat()
    created = await client.post(
        "/_admin/accounts",
        json={"siret": "12345678900011", "nom": "N", "prenom": "P", "password": CANARY},
    )
    assert created.status_code == 200 and CANARY not in created.text
    accounts = (await client.get("/_admin/accounts")).json()
    assert {a["siret"] for a in accounts} >= {"12345678900011", "99900000300015"}
    fault = await client.post("/_admin/faults", json={"route": "download", "kind": "hang"})
    assert fault.json()["id"] == 1
    assert (await client.get("/_admin/faults")).json()["rules"][0]["kind"] == "hang"
    await client.post("/_admin/faults/clear")
    assert (await client.get("/_admin/faults")).json()["rules"] == []


async def test_admin_reports_attempts_and_deposits(client: httpx.AsyncClient) -> None:
    token = await login(client)
    await deposit(client, token, small_dsn())
    await deposit(client, token, small_dsn())
    deposits = (await client.get("/_admin/deposits")).json()
    assert len(deposits["deposits"]) == 2 and deposits["duplicates"] == 1
    attempts = (await client.get("/_admin/attempts", params={"siret": "99900000300015"})).json()
    assert [a["outcome"] for a in attempts] == ["ok"]
    idflux = deposits["deposits"][0]["idflux"]
    returns = (await client.get("/_admin/returns", params={"idflux": idflux})).json()
    assert [r["nature"] for r in returns if r["published"]] == ["10"]


async def test_admin_errors_have_the_one_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_admin/accounts", json={"siret": "123", "nom": "N", "prenom": "P", "password": CANARY}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
    assert CANARY not in response.text
    response = await client.post("/_admin/accounts", json={"password": CANARY})
    assert response.status_code == 400 and CANARY not in response.text
    assert (await client.get("/_admin/nothing")).json()["error"]["code"] == "not_found"
    response = await client.post("/_admin/clock", json={"advance": "soon"})
    assert response.status_code == 400


async def test_state_file_survives_a_restart_without_secrets(tmp_path: Path) -> None:
    path = tmp_path / "sim.sqlite3"
    config = SimulatorConfig(state_path=path, frozen_at=T0)
    first = Simulator(config)
    first.add_account({"siret": "12345678900011", "nom": "N", "prenom": "P", "password": CANARY})
    transport = httpx.ASGITransport(app=create_app(simulator=first))
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        token = await login(client, siret="12345678900011", nom="N", prenom="P", motdepasse=CANARY)
        await deposit(client, token, small_dsn())
        await client.post(
            "/authentifier/1.0/",
            content=auth_body(siret="12345678900011", nom="N", prenom="P", motdepasse="bad"),
            headers=AUTH_HEADERS,
        )
    first.clock.advance(parse_duration("2h"))
    first.close()

    second = Simulator(config)
    assert second.now() == T0 + parse_duration("2h")
    assert len(second.deposits()) == 1
    account = second.accounts.get(second.accounts.list()[0].identity)
    assert account.identity.siret == "12345678900011" and account.failures == 1
    second.close()
    for file in tmp_path.iterdir():
        data = file.read_bytes()
        assert CANARY.encode() not in data
        assert token.encode() not in data
