"""Built return files validate against the official schema and parse back to the same values."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from dsnlink.returns import (
    Anomaly,
    ConformityReport,
    Counter,
    DepositReport,
    Employee,
    GenericReport,
    PasRateReport,
    Rubrique,
    parse,
)
from dsnlink.returns.build import (
    build_aee,
    build_are,
    build_ban,
    build_cco,
    build_crm_pas,
    build_generic,
    conformity_document,
    crm_pas_document,
    deposit_document,
    generic_document,
    new_crm_identifier,
    new_idflux,
    render,
)
from dsnlink.returns.model import PARIS
from tests.unit.returns.conftest import SAMPLE_NAMES as SAMPLES

Valid = Callable[[bytes], None]
Sample = Callable[[str], bytes]

RECEIVED = datetime(2026, 3, 5, 14, 7, 31, tzinfo=PARIS)
BLOCKING = Anomaly(
    code="CSL-01",
    category="bloquant",
    message="La rubrique S10.G00.00.002 est plus longue que la longueur maximale autorisée (20).",
    line=2,
    rubrique="S10.G00.00.002",
    label="Nom de l'éditeur",
    value="HistoM-1_MtoM-7338-AR",
    level="envoi",
)
WARNING = Anomaly(
    code="ADR05",
    category="non-bloquant",
    message="La localité n'est pas reconnue par la DGFiP.",
    rubrique="S21.G00.30.010",
    value="Bordeau",
    related=(Rubrique(identifier="S21.G00.30.008", value="33000"),),
    employees=(Employee(nir="1850775123456", matricule="M-7", origin="DSN"),),
)


def test_identifiers_look_like_the_platform_s() -> None:
    assert re.fullmatch(r"[A-Za-z0-9.]{23}", new_idflux())
    assert re.fullmatch(r"[1-9][0-9]{17}", new_crm_identifier())
    assert new_idflux() != new_idflux()


@pytest.mark.parametrize("name", SAMPLES)
def test_samples_render_back_valid_and_equal(
    sample: Sample, assert_valid: Valid, name: str
) -> None:
    document = parse(sample(name))
    rendered = render(document)
    assert_valid(rendered)
    assert parse(rendered) == document


def test_aee(assert_valid: Valid) -> None:
    data = build_aee(
        idflux="WSaah7AQlUpYL5RsQssseG.",
        emitter_siret="41027602600029",
        declarant_siret="41027602600029",
        declarant_last_name="DÉCLARANT",
        declarant_first_name="Zoé",
        test_or_real="01",
        received_at=RECEIVED.astimezone(UTC),
    )
    assert_valid(data)
    aee = parse(data)
    assert isinstance(aee, DepositReport)
    assert aee.accepted and aee.state == "OK" and aee.type == "AEE"
    assert aee.idflux == "WSaah7AQlUpYL5RsQssseG."
    assert aee.received_at == RECEIVED
    assert aee.envoi.registered_at == RECEIVED
    assert aee.envoi.is_test is True
    assert aee.envoi.file_name == "MtoM"
    assert (aee.envoi.declarant_last_name, aee.envoi.declarant_first_name) == ("DÉCLARANT", "Zoé")
    assert aee == deposit_document(
        accepted=True,
        idflux="WSaah7AQlUpYL5RsQssseG.",
        emitter_siret="41027602600029",
        declarant_siret="41027602600029",
        declarant_last_name="DÉCLARANT",
        declarant_first_name="Zoé",
        test_or_real="01",
        received_at=RECEIVED,
    )


def test_aee_default_time_is_now(assert_valid: Valid) -> None:
    before = datetime.now(PARIS).replace(microsecond=0)
    aee = parse(build_aee(idflux=new_idflux(), emitter_siret="41027602600029"))
    after = datetime.now(PARIS) + timedelta(seconds=1)
    assert aee.envoi.received_at is not None
    assert before <= aee.envoi.received_at <= after


def test_are(assert_valid: Valid) -> None:
    data = build_are(idflux="UR5WJEBA5T74R4jNmCgvm1F", emitter_siret="31784106200019")
    assert_valid(data)
    are = parse(data)
    assert isinstance(are, DepositReport)
    assert not are.accepted and are.state == "KO" and are.type == "ARE"
    (anomaly,) = are.anomalies
    assert (anomaly.code, anomaly.level) == ("B1-105-15", "envoi")
    assert are.envoi.registered_at is None


def test_cco(assert_valid: Valid) -> None:
    data = build_cco(
        idflux="UR5WJEBAhi54RcZN8Lur71F",
        siren="732829320",
        nic="01691",
        emitter_siret="73282932001691",
        employees_count=12,
        month="01032026",
    )
    assert_valid(data)
    cco = parse(data)
    assert isinstance(cco, ConformityReport)
    assert cco.type == "CCO" and cco.conform and cco.counters == ()
    (declaration,) = cco.declarations
    assert (declaration.siren, declaration.nic, declaration.month) == (
        "732829320",
        "01691",
        "01032026",
    )
    assert declaration.employees_count == 12 and cco.envoi.employees_count == 12


def test_ban(assert_valid: Valid) -> None:
    declaration_level = Anomaly(
        code="CCH-11", category="non-bloquant", message="Contrôle de cohérence.", line=40
    )
    data = build_ban(
        [BLOCKING, declaration_level],
        idflux="WSaah7AQlUpYL5RsQssseG.",
        siren="300431533",
        nic="00037",
        emitter_siret="30043153300037",
    )
    assert_valid(data)
    ban = parse(data)
    assert isinstance(ban, ConformityReport)
    assert ban.type == "BAN" and not ban.conform and ban.state == "KO"
    assert ban.envoi.counters == (
        Counter(category="generale", count=1),
        Counter(category="declaration", count=1),
        Counter(category="total", count=2),
    )
    assert ban.declarations[0].counters == (
        Counter(category="bloquant", count=0),
        Counter(category="non-bloquant", count=1),
    )
    assert ban.anomalies == (BLOCKING, declaration_level)


def test_ban_non_blocking_only_keeps_conformity() -> None:
    document = conformity_document(
        idflux="F", siren="1", nic="2", emitter_siret="3", anomalies=[WARNING]
    )
    assert document.type == "BAN"
    assert document.conform
    assert parse(render(document)) == document


def test_crm_pas(assert_valid: Valid) -> None:
    employees = [
        Employee(nir="1850775123456", matricule="M-1", rate=Decimal("14.00")),
        Employee(nir="2900133098765", matricule="M-2", rate=None),  # default scale applies
        Employee(
            ntt="NTT0000000042",
            matricule="M-3",
            rate=Decimal("0.00"),
            future_rate=Decimal("3.6"),
            future_rate_date=date(2026, 5, 1),
        ),
        Employee(nir="1700599000001", rate=Decimal("1E+1")),  # written without an exponent
    ]
    identifier = new_crm_identifier()
    options: dict[str, Any] = {
        "identifier": identifier,
        "idflux": "41358177C5AD6C0000000000",
        "siren": "456789123",
        "nic": "54321",
        "emitter_siret": "12345678912345",
        "anomalies": [WARNING],
        "business_id": "MARS-2026",
    }
    data = build_crm_pas(employees, **options)
    assert_valid(data)
    assert b"<taux_imposition_PAS>10</taux_imposition_PAS>" in data
    crm = parse(data)
    assert isinstance(crm, PasRateReport)
    assert crm.identifier == identifier and crm.nature == 94
    assert (crm.siren, crm.nic, crm.idflux) == ("456789123", "54321", "41358177C5AD6C0000000000")
    assert crm.employees == tuple(employees)
    assert [e.rate for e in crm.employees] == [Decimal("14.00"), None, Decimal(0), Decimal(10)]
    assert crm.employees[2].identifier == "NTT0000000042"
    assert crm.employees[2].future_rate_date == date(2026, 5, 1)
    assert crm.declarations[0].employees_count == 4
    assert crm.anomalies == (WARNING,)
    assert crm == crm_pas_document(employees, **options)


@pytest.mark.parametrize(("type_", "nature"), [(61, 61), ("CRACOSS", 61), ("CRM financier", 93)])
def test_generic(assert_valid: Valid, type_: str | int, nature: int) -> None:
    options: dict[str, Any] = {
        "type_": type_,
        "idflux": "F1tmbhAQlUPca5Rg.c0zd1Y",
        "siren": "135555555",
        "nic": "00014",
        "emitter_siret": "13555555500014",
        "state": "KO",
        "anomalies": [WARNING],
    }
    data = build_generic(**options)
    assert_valid(data)
    document = parse(data)
    assert isinstance(document, GenericReport)
    assert document.nature == nature
    assert document.declarations[0].state == "KO"
    assert document.anomalies == (WARNING,)
    assert document == generic_document(**options, nature=nature)


def test_characters_xml_cannot_carry_are_replaced(assert_valid: Valid) -> None:
    employees = [Employee(nir="1850775123456", family_name="A\x00B\x1fC", matricule="M\x08")]
    data = build_crm_pas(
        employees,
        identifier="1" * 18,
        idflux="F" * 23,
        siren="123456789",
        nic="00012",
        emitter_siret="12345678900012",
        anomalies=[Anomaly(code="X", message="bip\x07")],
    )
    assert_valid(data)
    crm = parse(data)
    assert isinstance(crm, PasRateReport)
    (employee,) = crm.employees
    assert employee.family_name == "A\ufffdB\ufffdC"
    assert employee.matricule == "M\ufffd"
    assert crm.anomalies[0].message == "bip\ufffd"
