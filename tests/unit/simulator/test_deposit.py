"""Deposit: encoding checks, AEE/ARE, one declaration per deposit, employers, records."""

from __future__ import annotations

import gzip
import re

import httpx
import pytest
from lxml import etree

from dsnlink.simulator import Simulator
from tests.simulator_helpers import (
    deposit,
    deposit_headers,
    login,
    login_other,
    other_account,
    small_dsn,
)

pytestmark = pytest.mark.anyio

NS = {"g": "http://www.gip-mds.fr/"}
IDFLUX = re.compile(r"^[A-Za-z0-9.]{23}$")


def _rapport(content: bytes) -> etree._Element:
    return etree.fromstring(content)


async def test_accepted_deposit_answers_an_aee(client: httpx.AsyncClient, sim: Simulator) -> None:
    token = await login(client)
    response = await deposit(client, token, small_dsn())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    assert response.headers["content-encoding"] == "gzip"
    root = _rapport(response.content)
    assert root.get("type") == "AEE"
    assert root.findtext("envoi/envoi_bilan/envoi_etat") == "OK"
    ident = root.find("envoi/envoi_identification")
    assert ident is not None
    idflux = ident.findtext("idflux") or ""
    assert IDFLUX.match(idflux)
    assert ident.findtext("essai_reel") == "01"
    assert ident.findtext("emetteur_siret") == "99900000300015"
    assert ident.findtext("declarant/siret") == "99900000300015"
    assert ident.findtext("date_reception") == "2026-03-10"
    assert ident.findtext("heure_reception") == "10:00:00"  # Paris time
    [record] = sim.deposits()
    assert record["idflux"] == idflux and record["status"] == "OK"
    assert record["employees"] == 3


async def test_version_2_labels_the_same_xml_as_json(client: httpx.AsyncClient) -> None:
    token = await login(client)
    response = await deposit(client, token, small_dsn(), version="2.0")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert _rapport(response.content).get("type") == "AEE"


@pytest.mark.parametrize(
    ("dsn", "fragment"),
    [
        (b"XYZ not a DSN", "format du fichier"),
        (small_dsn(declarations=2), "exactement une d"),
        ("S10.G00.00.001,'Société'\n".encode(), "UTF-8"),
    ],
)
async def test_rejected_file_answers_422_with_an_are(
    client: httpx.AsyncClient, sim: Simulator, dsn: bytes, fragment: str
) -> None:
    token = await login(client)
    response = await deposit(client, token, dsn)
    assert response.status_code == 422
    assert response.reason_phrase == "Unprocessable Entity"
    root = _rapport(response.content)
    assert root.get("type") == "ARE"
    assert IDFLUX.match(root.findtext("envoi/envoi_identification/idflux") or "")
    assert root.findtext("envoi/envoi_bilan/envoi_etat") == "KO"
    assert root.findtext("envoi/envoi_anomalie/description/code") == "B1-105-15"
    assert fragment in (root.findtext("envoi/envoi_anomalie/description/message") or "")
    assert sim.deposits()[0]["status"] == "KO"


async def test_latin1_file_is_accepted(client: httpx.AsyncClient) -> None:
    token = await login(client)
    dsn = small_dsn()
    assert not dsn.isascii()  # accented names, in Latin-1
    assert (await deposit(client, token, dsn)).status_code == 200


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"Content-Type": "application/octet-stream"}, 415),
        ({"Content-Encoding": "identity"}, 415),
        ({"Accept-Encoding": "identity"}, 406),
    ],
)
async def test_encoding_checks(
    client: httpx.AsyncClient, change: dict[str, str], status: int
) -> None:
    token = await login(client)
    response = await client.post(
        "/deposer-dsn/1.0/",
        content=gzip.compress(small_dsn()),
        headers=deposit_headers(token, **change),
    )
    assert response.status_code == status and response.content == b""


async def test_body_labelled_gzip_that_is_not(client: httpx.AsyncClient) -> None:
    token = await login(client)
    response = await client.post(
        "/deposer-dsn/1.0/", content=small_dsn(), headers=deposit_headers(token)
    )
    assert response.status_code == 400


async def test_empty_body_is_422_before_authorization(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/deposer-dsn/1.0/", content=gzip.compress(b""), headers=deposit_headers("nope")
    )
    assert response.status_code == 422 and response.content == b""


async def test_deposit_without_token(client: httpx.AsyncClient, sim: Simulator) -> None:
    response = await client.post(
        "/deposer-dsn/1.0/", content=gzip.compress(small_dsn()), headers=deposit_headers("bad")
    )
    assert response.status_code == 401
    assert sim.deposits() == []


async def test_employers_restrict_what_an_account_declares(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.add_account(other_account(employers=["99900000300015"]))
    token = await login_other(client)
    assert (await deposit(client, token, small_dsn())).status_code == 200
    refused = await deposit(client, token, small_dsn(siret="73282932000074"))
    assert refused.status_code == 422
    assert b"SIM-HAB-01" in refused.content


async def test_duplicate_deposits_are_counted(client: httpx.AsyncClient, sim: Simulator) -> None:
    token = await login(client)
    await deposit(client, token, small_dsn())
    assert sim.duplicate_deposits() == 0
    await deposit(client, token, small_dsn())
    await deposit(client, token, small_dsn(test=False))
    assert sim.duplicate_deposits() == 1
    assert len({d["idflux"] for d in sim.deposits()}) == 3


async def test_gzip_bomb_stops_at_the_size_limit(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.max_deposit_bytes = 1024 * 1024
    token = await login(client)
    bomb = gzip.compress(b"S10" + b"0" * (8 * 1024 * 1024))
    response = await client.post("/deposer-dsn/1.0/", content=bomb, headers=deposit_headers(token))
    assert response.status_code == 413
    assert sim.deposits() == []
    truncated = gzip.compress(small_dsn())[:-10]
    response = await client.post(
        "/deposer-dsn/1.0/", content=truncated, headers=deposit_headers(token)
    )
    assert response.status_code == 400
