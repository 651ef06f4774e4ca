"""Fault injection in process: statuses, per count and skip, seeded randomness, maintenance,
answers damaged after processing, and a deposit recorded whose answer is lost."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from lxml import etree

from dsnlink.errors import InvalidInput
from dsnlink.simulator import FaultRule, MaintenanceWindow, Simulator
from dsnlink.simulator.faults import FaultPlan
from dsnlink.simulator.http import ConnectionDropped
from tests.simulator_helpers import AUTH_HEADERS, auth_body, bearer, deposit, login, small_dsn

pytestmark = pytest.mark.anyio


async def test_scripted_status_on_one_route(client: httpx.AsyncClient, sim: Simulator) -> None:
    token = await login(client)
    sim.faults.add(FaultRule(route="list_flow_returns", kind="status", status=503, skip=1, count=2))
    statuses = [
        (await client.get("/lister-retours-flux/1.0/x", headers=bearer(token))).status_code
        for _ in range(4)
    ]
    assert statuses == [404, 503, 503, 404]
    assert [r["fault"] for r in sim.requests("list_flow_returns")] == [
        None,
        "status",
        "status",
        None,
    ]


async def test_429_fault_announces_the_window(client: httpx.AsyncClient, sim: Simulator) -> None:
    token = await login(client)
    sim.faults.add(FaultRule(route="*", kind="status", status=429))
    response = await client.get("/lister-retours-flux/1.0/x", headers=bearer(token))
    assert response.status_code == 429 and response.headers["accept-ranges"] == "minutes=0-60"


async def test_faulted_authentication_still_counts_as_an_attempt(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.faults.add(FaultRule(route="authenticate", kind="status", status=500))
    response = await client.post("/authentifier/1.0/", content=auth_body(), headers=AUTH_HEADERS)
    assert response.status_code == 500
    await login(client)
    assert [a["outcome"] for a in sim.attempts("99900000300015")] == ["fault:status", "ok"]


async def test_deposit_recorded_but_answer_lost(client: httpx.AsyncClient, sim: Simulator) -> None:
    token = await login(client)
    sim.faults.add(FaultRule(route="deposit", kind="reset", when="after"))
    with pytest.raises(ConnectionDropped):
        await deposit(client, token, small_dsn())
    assert len(sim.deposits()) == 1  # it arrived: the client must reconcile, not re-send


async def test_reset_before_processing_records_nothing(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    token = await login(client)
    sim.faults.add(FaultRule(route="deposit", kind="reset"))
    with pytest.raises(ConnectionDropped):
        await deposit(client, token, small_dsn())
    assert sim.deposits() == []


async def test_truncated_and_malformed_xml(client: httpx.AsyncClient, sim: Simulator) -> None:
    token = await login(client)
    sim.faults.add(FaultRule(route="deposit", kind="truncate"))
    sim.faults.add(FaultRule(route="deposit", kind="malformed"))
    for _ in range(2):
        response = await deposit(client, token, small_dsn())
        assert response.status_code == 200
        with pytest.raises(etree.XMLSyntaxError):
            etree.fromstring(response.content)
    assert len(sim.deposits()) == 2
    assert etree.fromstring((await deposit(client, token, small_dsn())).content) is not None


async def test_maintenance_window_on_the_clock(client: httpx.AsyncClient, sim: Simulator) -> None:
    token = await login(client)
    now = sim.now()
    sim.faults.add_maintenance(
        MaintenanceWindow(start=now + timedelta(hours=1), end=now + timedelta(hours=2))
    )
    url = "/lister-retours-flux/1.0/x"
    assert (await client.get(url, headers=bearer(token))).status_code == 404
    sim.clock.advance(timedelta(minutes=90))
    response = await client.get(url, headers=bearer(token))
    assert response.status_code == 503 and response.content == b""
    sim.clock.advance(timedelta(minutes=31))
    assert (await client.get(url, headers=bearer(token))).status_code == 401  # token expired


def test_random_faults_are_reproducible_with_a_seed() -> None:
    def run(seed: int) -> list[bool]:
        plan = FaultPlan(seed=seed)
        plan.add(FaultRule(kind="status", probability=0.3, count=None))
        return [plan.pick("download") is not None for _ in range(200)]

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    assert 30 < sum(first) < 90


def test_unknown_route_is_refused() -> None:
    with pytest.raises(InvalidInput):
        FaultPlan().add(FaultRule(route="nowhere", kind="status"))
