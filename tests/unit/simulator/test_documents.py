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
from dsnlink.simulator.dsnfile import DsnFacts, inspect
from dsnlink.simulator.rates import crm_identifier, pas_rate
from tests.simulator_helpers import (
    bearer,
    deposit,
    dsn_with_missing_rate,
    login,
    nirs_of,
    small_dsn,
)
from tests.unit.simulator.conftest import T0

NIRS = nirs_of(small_dsn())

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


def _facts(dsn: bytes) -> DsnFacts:
    facts = inspect(dsn, check=False).facts
    assert facts is not None
    return facts


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
    facts = _facts(small_dsn())
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
    dsn, no_rate = dsn_with_missing_rate()
    facts = _facts(dsn)
    content, rates = documents.crm_pas(idflux="B" * 23, facts=facts)
    assert rates[no_rate] is None
    assert schema.validate(etree.fromstring(content)), schema.error_log
    crm = parse(content)
    assert isinstance(crm, PasRateReport)
    assert next(e for e in crm.employees if e.nir == no_rate).rate is None
    missing = [a for a in crm.anomalies if a.employees[0].nir == no_rate]
    assert len(missing) == 1 and not missing[0].blocking


@pytest.mark.parametrize(
    ("fault", "expected"), [(None, "CCO"), ("bad-nir", "BAN"), ("wrong-line-count", "BAN")]
)
async def test_the_validator_decides_between_cco_and_ban(
    fault: str | None, expected: str, schema: etree.XMLSchema
) -> None:
    from dsnlink.norme import validate
    from dsnlink.simulator import SimulatorConfig, create_app

    sim = Simulator(SimulatorConfig(frozen_at=T0, validate_files=True))
    dsn = small_dsn(fault=fault)
    findings = [f for f in validate(dsn).findings if f.severity.value != "information"]
    transport = httpx.ASGITransport(app=create_app(simulator=sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        token = await login(client)
        answer = await deposit(client, token, dsn)
        assert answer.status_code == 200  # received: conformity comes later
        idflux = parse(answer.content).idflux
        sim.clock.advance(timedelta(days=4))
        token = await login(client)
        listed = etree.fromstring(
            (await client.get(f"/lister-retours-flux/1.0/{idflux}", headers=bearer(token))).content
        )
        natures = {r.findtext("nature"): r for r in listed.iter("retour")}
        conformity = await client.get(natures["11"].findtext("url", ""), headers=bearer(token))
    sim.close()
    assert schema.validate(etree.fromstring(conformity.content)), schema.error_log
    report = parse(conformity.content)
    assert isinstance(report, ConformityReport) and report.type == expected
    assert [(a.code, a.rubrique) for a in report.anomalies] == [
        (f.code, f.rubrique) for f in findings
    ]
    if expected == "CCO":
        assert list(natures) == ["10", "11", "60", "92", "94"]
    else:
        assert not report.conform and natures["11"].findtext("statut") == "KO"
        assert list(natures) == ["10", "11"]  # no organisme receives a rejected declaration
