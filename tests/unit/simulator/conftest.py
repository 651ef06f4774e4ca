from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from dsnlink.simulator import Simulator, SimulatorConfig, create_app

#: A Tuesday morning in Paris (09:00 UTC = 10:00 Paris, winter time).
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def config() -> SimulatorConfig:
    return SimulatorConfig(frozen_at=T0)


@pytest.fixture
def sim(config: SimulatorConfig) -> Simulator:
    simulator = Simulator(config)
    yield simulator  # type: ignore[misc]
    simulator.close()


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(simulator=sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as c:
        yield c
