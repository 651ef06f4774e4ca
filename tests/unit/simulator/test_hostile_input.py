"""Whatever arrives, the simulator answers with a protocol status, never a crash (500)."""

from __future__ import annotations

import asyncio

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsnlink.simulator import Simulator, SimulatorConfig, create_app
from tests.simulator_helpers import AUTH_HEADERS, deposit_headers
from tests.unit.simulator.conftest import T0

_SIM = Simulator(SimulatorConfig(frozen_at=T0))
_APP = create_app(simulator=_SIM)
_ALLOWED_AUTH = {200, 400, 401, 403, 415, 422}


def _send(method: str, path: str, **kwargs: object) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=_APP)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
            return await client.request(method, path, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.text(max_size=200).map(lambda t: t.encode("utf-8")))
def test_any_authentication_body(body: bytes) -> None:
    response = _send("POST", "/authentifier/1.0/", content=body, headers=AUTH_HEADERS)
    assert response.status_code in _ALLOWED_AUTH


_SEGMENT = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/?#%"),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(
        ["lister-depots", "lister-retours-flux", "lister-retours-declarant", "telecharger-retour"]
    ),
    st.sampled_from(["1.0", "2.0", "3.0"]),
    st.lists(_SEGMENT, min_size=0, max_size=3),
)
def test_any_listing_path(service: str, version: str, segments: list[str]) -> None:
    path = "/" + "/".join([service, version, *segments])
    response = _send("GET", path, headers={"Authorization": "DSNLogin jeton=x"})
    assert response.status_code in {401, 404, 405, 422}


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_any_deposit_body(body: bytes) -> None:
    response = _send("POST", "/deposer-dsn/1.0/", content=body, headers=deposit_headers("x"))
    assert response.status_code in {400, 401, 413, 422}


def teardown_module() -> None:
    _SIM.close()
