"""The simulator's return files parse with dsnlink's parser like GIP-MDS's samples, and
validate against the official schema."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from lxml import etree

from dsnlink.returns import (
    Anomaly,
    ConformityReport,
    DepositReport,
    GenericReport,
    PasRateReport,
    parse,
)
from dsnlink.simulator import Simulator, documents
from dsnlink.simulator.accounts import Identity
from dsnlink.simulator.dsnfile import read_facts
from dsnlink.simulator.rates import crm_identifier, pas_rate
from tests.simulator_helpers import NIRS, bearer, deposit, login, small_dsn
from tests.unit.simulator.conftest import T0

pytestmark = pytest.mark.anyio

SAMPLES = {
    "AEE": "exemple_retour_10_AEE.xml",
    "ARE": "exemple_retour_10_ARE.xml",
    "CCO": "exemple_retour_11_CCO.xml",
    "BAN": "exemple_retour_11_BAN.xml",
    "CRM nominatif": "Exemple-94-DGFIP-crm-nominatif.xml",
}


@pytest.fixture(scope="module")
def schema(reference_dir: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(reference_dir / "gipmds-returns/dsn_bilans_v02r03.xsd")))


def _same_kind_as_sample(reference_dir: Path, content: bytes) -> None:
    ours = parse(content)
    sample = parse(reference_dir / "gipmds-returns" / SAMPLES[ours.type or ""])
    assert type(ours) is type(sample)
    assert ours.nature == sample.nature


async def _all_returns(client: httpx.AsyncClient, sim: Simulator) -> dict[str, bytes]:
    token = await login(client)
    answer = await deposit(client, token, small_dsn())
    idflux = parse(answer.content).idflux
    sim.clock.advance(timedelta(days=4))
    token = await login(client)
    listed = etree.fromstring(
        (await client.get(f"/lister-retours-flux/1.0/{idflux}", headers=bearer(token))).content
    )
    found = {}
    for retour in listed.iter("retour"):
        response = await client.get(retour.findtext("url", ""), headers=bearer(token))
        assert response.status_code == 200
        found[retour.findtext("nature", "")] = response.content
    assert list(found) == ["10", "11", "60", "92", "94"]
    return found


async def test_every_published_return_parses_and_validates(
    client: httpx.AsyncClient, sim: Simulator, reference_dir: Path, schema: etree.XMLSchema
) -> None:
    found = await _all_returns(client, sim)
    for content in found.values():
        assert schema.validate(etree.fromstring(content)), schema.error_log
    aee = parse(found["10"])
    assert isinstance(aee, DepositReport) and aee.accepted
    assert aee.envoi.declarant_siret == "99900000300015"
    assert aee.envoi.received_at is not None
    assert aee.envoi.received_at.replace(tzinfo=None) == T0.replace(hour=10, tzinfo=None)
    cco = parse(found["11"])
    assert isinstance(cco, ConformityReport) and cco.type == "CCO" and cco.conform
    assert cco.declarations[0].siret == "99900000300015"
    assert cco.envoi.employees_count == len(NIRS)
    for nature in ("60", "92"):
        ack = parse(found[nature])
        assert isinstance(ack, GenericReport) and ack.nature == int(nature)
    crm = parse(found["94"])
    assert isinstance(crm, PasRateReport)
    assert crm.identifier == crm_identifier(aee.idflux or "")
    rates = {e.nir: e.rate for e in crm.employees}
    assert rates == {nir: Decimal(r) if (r := pas_rate(nir)) is not None else None for nir in NIRS}
    for key in ("10", "11", "94"):
        _same_kind_as_sample(reference_dir, found[key])


async def test_are_parses_like_the_sample(
    client: httpx.AsyncClient, reference_dir: Path, schema: etree.XMLSchema
) -> None:
    token = await login(client)
    response = await deposit(client, token, b"not a DSN")
    assert schema.validate(etree.fromstring(response.content)), schema.error_log
    are = parse(response.content)
    assert isinstance(are, DepositReport) and not are.accepted
    assert [a.code for a in are.anomalies] == ["B1-105-15"]
    assert len(are.idflux or "") == 23
    _same_kind_as_sample(reference_dir, response.content)


def test_ban_lists_blocking_anomalies(reference_dir: Path, schema: etree.XMLSchema) -> None:
    facts = read_facts(small_dsn().decode("latin-1"))
    anomaly = Anomaly(
        code="CCH-11",
        category=documents.BLOCKING,
        message="Le NIR est incohérent.",
        rubrique="S21.G00.30.001",
        value=NIRS[0],
    )
    content = documents.conformity(
        declarant=Identity("99900000300015", "declarant", "declarant"),
        idflux="A" * 23,
        facts=facts,
        received=T0,
        anomalies=[anomaly],
    )
    assert schema.validate(etree.fromstring(content)), schema.error_log
    ban = parse(content)
    assert isinstance(ban, ConformityReport) and ban.type == "BAN" and not ban.conform
    assert [(a.code, a.rubrique, a.value) for a in ban.anomalies] == [
        ("CCH-11", "S21.G00.30.001", NIRS[0])
    ]
    assert ban.envoi.software_name == "dsnlink"
    _same_kind_as_sample(reference_dir, content)


def test_crm_without_rate_lists_the_employee(schema: etree.XMLSchema) -> None:
    no_rate = next(f"18505751{i:05d}" for i in range(1000) if pas_rate(f"18505751{i:05d}") is None)
    facts = read_facts(small_dsn(nirs=(no_rate,)).decode("latin-1"))
    content, rates = documents.crm_pas(idflux="B" * 23, facts=facts)
    assert rates == {no_rate: None}
    assert schema.validate(etree.fromstring(content)), schema.error_log
    crm = parse(content)
    assert isinstance(crm, PasRateReport)
    assert crm.employees[0].rate is None
    [anomaly] = crm.anomalies
    assert anomaly.employees[0].nir == no_rate and not anomaly.blocking
