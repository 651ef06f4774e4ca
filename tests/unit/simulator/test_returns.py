"""Returns: schedule on the virtual clock, listings (XML/JSON), windows, download, overwrite,
purge, PAS rates of the CRM 94."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import pytest
from lxml import etree

from dsnlink.simulator import Simulator, SimulatorConfig
from dsnlink.simulator.clock import to_paris_stamp
from dsnlink.simulator.rates import crm_identifier, pas_rate
from tests.simulator_helpers import (
    CONCENTRATOR,
    bearer,
    deposit,
    dsn_with_missing_rate,
    login,
    login_other,
    nirs_of,
    other_account,
    small_dsn,
)
from tests.unit.simulator.conftest import T0

pytestmark = pytest.mark.anyio


async def _deposited(client: httpx.AsyncClient) -> tuple[str, str]:
    token = await login(client)
    response = await deposit(client, token, small_dsn())
    idflux = etree.fromstring(response.content).findtext("envoi/envoi_identification/idflux")
    assert idflux
    return token, idflux


async def _listed(client: httpx.AsyncClient, token: str, idflux: str) -> etree._Element:
    response = await client.get(f"/lister-retours-flux/1.0/{idflux}", headers=bearer(token))
    assert response.status_code == 200
    return etree.fromstring(response.content)


def _natures(xml: bytes) -> list[str]:
    return [n.text or "" for n in etree.fromstring(xml).iter("nature")]


async def test_returns_appear_on_schedule(client: httpx.AsyncClient, sim: Simulator) -> None:
    token, idflux = await _deposited(client)
    url = f"/lister-retours-flux/1.0/{idflux}"
    response = await client.get(url, headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert "expires" in response.headers
    assert _natures(response.content) == ["10"]
    sim.clock.advance(timedelta(minutes=5))
    assert _natures((await client.get(url, headers=bearer(token))).content) == ["10", "11"]
    sim.clock.advance(timedelta(minutes=30))
    listed = (await client.get(url, headers=bearer(token))).content
    assert _natures(listed) == ["10", "11", "60", "92"]
    sim.clock.advance(timedelta(days=3))
    token = await login(client)
    listed = (await client.get(url, headers=bearer(token))).content
    assert _natures(listed) == ["10", "11", "60", "92", "94"]
    flux = etree.fromstring(listed).find("flux")
    assert flux is not None and flux.findtext("id") == idflux
    retour = flux.findall("retour")[-1]
    assert retour.findtext("ops") == "DGFIP"
    assert retour.findtext("publication") == to_paris_stamp(T0 + timedelta(hours=72))
    assert retour.findtext("url", "").startswith(
        f"http://sim.test/telecharger-retour/1.0/{idflux}/"
    )


async def test_crm_pas_carries_the_documented_rates(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    token, idflux = await _deposited(client)
    sim.clock.advance(timedelta(days=4))
    token = await login(client)
    listed = await _listed(client, token, idflux)
    crm = next(r for r in listed.iter("retour") if r.findtext("nature") == "94")
    response = await client.get(crm.findtext("url", ""), headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    root = etree.fromstring(response.content)
    assert root.get("type") == "CRM nominatif"
    assert root.get("identifiant") == crm_identifier(idflux)
    assert len(root.get("identifiant", "")) == 18
    got = {
        s.findtext("NIR"): s.findtext("taux_imposition_PAS")
        for s in root.iter("salarie")
        if s.getparent().tag == "declaration_bilan"  # type: ignore[union-attr]
    }
    assert got == {nir: pas_rate(nir) for nir in nirs_of(small_dsn())}


def test_rate_formula_is_deterministic_and_sometimes_missing() -> None:
    rates = [pas_rate(f"18505751{i:05d}") for i in range(400)]
    assert rates == [pas_rate(f"18505751{i:05d}") for i in range(400)]
    missing = sum(r is None for r in rates)
    assert 5 < missing < 60
    assert all(0 <= float(r) <= 43 for r in rates if r is not None)


async def test_missing_rate_gives_an_anomaly(client: httpx.AsyncClient, sim: Simulator) -> None:
    dsn, no_rate = dsn_with_missing_rate()
    token = await login(client)
    response = await deposit(client, token, dsn)
    idflux = etree.fromstring(response.content).findtext("envoi/envoi_identification/idflux")
    sim.clock.advance(timedelta(days=4))
    token = await login(client)
    listed = await _listed(client, token, idflux)
    crm = next(r for r in listed.iter("retour") if r.findtext("nature") == "94")
    assert crm.findtext("statut") == "ANO"
    root = etree.fromstring(
        (await client.get(crm.findtext("url", ""), headers=bearer(token))).content
    )
    anomaly = root.find("declaration/declaration_anomalie")
    assert anomaly is not None
    assert anomaly.findtext("environnement/salarie/NIR") == no_rate


async def test_declarant_window_listing(client: httpx.AsyncClient, sim: Simulator) -> None:
    token, _ = await _deposited(client)
    sim.clock.advance(timedelta(minutes=10))
    start = to_paris_stamp(T0 - timedelta(minutes=1))
    response = await client.get(f"/lister-retours-declarant/1.0/{start}", headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["accept-ranges"] == "minutes=0-60"
    assert _natures(response.content) == ["10", "11"]
    end = to_paris_stamp(T0 + timedelta(minutes=2))
    response = await client.get(
        f"/lister-retours-declarant/1.0/{start}/{end}", headers=bearer(token)
    )
    assert _natures(response.content) == ["10"]
    later = to_paris_stamp(T0 + timedelta(minutes=8))
    response = await client.get(f"/lister-retours-declarant/1.0/{later}", headers=bearer(token))
    assert response.content == b"<retours></retours>"


async def test_window_too_wide_is_429(client: httpx.AsyncClient, sim: Simulator) -> None:
    token = await login(client)
    start = to_paris_stamp(T0 - timedelta(minutes=61))
    response = await client.get(f"/lister-retours-declarant/1.0/{start}", headers=bearer(token))
    assert response.status_code == 429
    assert response.headers["accept-ranges"] == "minutes=0-60"
    assert response.content == b""
    response = await client.get(f"/lister-depots/1.0/{start}", headers=bearer(token))
    assert response.status_code == 429


async def test_deposit_window_is_configurable(sim: Simulator) -> None:
    config = SimulatorConfig(frozen_at=T0, deposit_window_minutes=180)
    other = Simulator(config)
    from dsnlink.simulator import create_app

    transport = httpx.ASGITransport(app=create_app(simulator=other))
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        token = await login(client)
        await deposit(client, token, small_dsn())
        start = to_paris_stamp(T0 - timedelta(hours=3))
        response = await client.get(f"/lister-depots/1.0/{start}", headers=bearer(token))
        assert response.status_code == 200
        assert response.headers["accept-ranges"] == "minutes=0-180"
        root = etree.fromstring(response.content)
        assert root.findtext("declarant/siret") == "99900000300015"
        assert root.findtext("declarant/depot/statut") == "OK"
        assert root.findtext("declarant/depot/date") == to_paris_stamp(T0)
    other.close()


@pytest.mark.parametrize(
    "path",
    [
        "/lister-retours-declarant/1.0/2026031010",
        "/lister-retours-declarant/1.0/20261310100000",
        "/lister-retours-declarant/1.0/20260310100000/20260310090000",
        "/lister-depots/1.0/abc",
        "/lister-retours-flux/1.0/" + "x" * 51,
        "/telecharger-retour/1.0/abc/12345678901",
    ],
)
async def test_malformed_paths_are_422_before_authorization(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 422
    assert response.reason_phrase == "Unprocessable Entity"


async def test_unknown_flow_and_return_are_404(client: httpx.AsyncClient) -> None:
    token, idflux = await _deposited(client)
    assert (
        await client.get("/lister-retours-flux/1.0/" + "x" * 50, headers=bearer(token))
    ).status_code == 404
    assert (
        await client.get(f"/telecharger-retour/1.0/{idflux}/123", headers=bearer(token))
    ).status_code == 404
    assert (await client.get("/nowhere", headers=bearer(token))).status_code == 404


async def test_another_declarant_cannot_see_a_flow(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    _, idflux = await _deposited(client)
    sim.add_account(other_account())
    other = await login_other(client)
    response = await client.get(f"/lister-retours-flux/1.0/{idflux}", headers=bearer(other))
    assert response.status_code == 404


async def test_json_listing_forms(client: httpx.AsyncClient, sim: Simulator) -> None:
    token, idflux = await _deposited(client)
    response = await client.get(f"/lister-retours-flux/2.0/{idflux}", headers=bearer(token))
    assert response.headers["content-type"] == "application/json"
    body = json.loads(response.content)
    assert body["retours"]["flux"][0]["id"] == idflux
    assert isinstance(body["retours"]["flux"][0]["retour"], list)
    sim.config.json_style = "mock"
    sim.config.json_single_as_object = True
    body = json.loads(
        (await client.get(f"/lister-retours-flux/2.0/{idflux}", headers=bearer(token))).content
    )
    assert body["flux"]["id"] == idflux and body["flux"]["Retour"]["nature"] == "10"
    start = to_paris_stamp(T0 - timedelta(minutes=5))
    sim.config.json_style = "wrapped"
    sim.config.json_single_as_object = False
    body = json.loads(
        (await client.get(f"/lister-depots/2.0/{start}", headers=bearer(token))).content
    )
    assert body["depots"]["declarant"][0]["depot"][0]["idflux"] == idflux


async def test_overwritten_return_gets_a_new_id(client: httpx.AsyncClient, sim: Simulator) -> None:
    token, idflux = await _deposited(client)
    sim.clock.advance(timedelta(hours=1))
    token = await login(client)
    listed = await _listed(client, token, idflux)
    old = next(r for r in listed.iter("retour") if r.findtext("nature") == "60")
    sim.clock.advance(timedelta(minutes=5))
    new_id = sim.overwrite_return(idflux, "60", ops="URSSAF", statut="KO")
    assert (await client.get(old.findtext("url", ""), headers=bearer(token))).status_code == 404
    listed = await _listed(client, token, idflux)
    new = [r for r in listed.iter("retour") if r.findtext("nature") == "60"]
    assert len(new) == 1 and new[0].findtext("id") == new_id
    assert new[0].findtext("statut") == "KO"
    assert new[0].findtext("publication") != old.findtext("publication")


async def test_returns_are_purged_after_three_months(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    token, idflux = await _deposited(client)
    listed = await _listed(client, token, idflux)
    url = listed.findtext("flux/retour/url", "")
    sim.clock.advance(timedelta(days=93))
    token = await login(client)
    assert (await client.get(url, headers=bearer(token))).status_code == 404
    listed = await _listed(client, token, idflux)
    # Only the CRM 94, published three days after the others, is younger than 92 days.
    assert _natures(etree.tostring(listed)) == ["94"]


async def test_concentrator_deposits_for_a_declarant(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    token = await login(client, **CONCENTRATOR)
    declarant = base64.b64encode(b"99900000300015;declarant;declarant").decode()
    import gzip

    response = await client.post(
        "/deposer-dsn/1.0/",
        content=gzip.compress(small_dsn()),
        headers={
            "Content-Type": "text/plain",
            "Content-Encoding": "gzip",
            "Authorization": f"DSNLogin concentrateur={token},declarant={declarant}",
        },
    )
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    assert root.findtext("envoi/envoi_identification/declarant/siret") == "99900000300015"
    start = to_paris_stamp(T0 - timedelta(minutes=11))
    only = {"Authorization": f"DSNLogin concentrateur={token}"}
    response = await client.get(f"/lister-retours-declarant/1.0/{start}", headers=only)
    assert response.status_code == 429
    assert response.headers["accept-ranges"] == "minutes=0-10"
    start = to_paris_stamp(T0 - timedelta(minutes=9))
    response = await client.get(f"/lister-retours-declarant/1.0/{start}", headers=only)
    assert _natures(response.content) == ["10"]
    # The declarant sees the flow deposited for it.
    own = await login(client)
    response = await client.get(f"/lister-retours-declarant/1.0/{start}", headers=bearer(own))
    assert _natures(response.content) == ["10"]
