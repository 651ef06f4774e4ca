"""Property: whatever the builders are given, the file validates and parses back the same."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from dsnlink.returns import Anomaly, Employee, Rubrique, parse
from dsnlink.returns.build import build_ban, build_crm_pas
from tests.conftest import REFERENCE

# Values as the platform writes them: no blanks around, no control characters.
_WORDS = st.text(
    alphabet=st.characters(
        whitelist_categories=["L", "N", "P", "S", "Zs"], blacklist_characters="\u2028\u2029"
    ),
    min_size=1,
    max_size=25,
).map(lambda s: " ".join(s.split()))
TEXT = _WORDS.filter(bool)
OPTIONAL = st.none() | TEXT
RATE = st.none() | st.decimals(min_value=0, max_value=99, places=2)
DAY = st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))

# Through lambdas: st.builds on the classes themselves would also fill the fields left out.
EMPLOYEE = st.builds(
    lambda **fields: Employee(**fields),
    nir=OPTIONAL,
    ntt=OPTIONAL,
    matricule=OPTIONAL,
    family_name=OPTIONAL,
    rank=st.none() | st.integers(0, 10**6),
    rate=RATE,
    future_rate=RATE,
    future_rate_date=DAY,
)
ANOMALY = st.builds(
    lambda **fields: Anomaly(**fields),
    code=TEXT,
    category=st.none() | st.sampled_from(["bloquant", "non-bloquant"]),
    message=TEXT,
    line=st.none() | st.integers(1, 10**7),
    count=st.none() | st.integers(1, 1000),
    rubrique=OPTIONAL,
    value=OPTIONAL,
    related=st.lists(
        st.builds(lambda **f: Rubrique(**f), identifier=TEXT, value=TEXT), max_size=2
    ).map(tuple),
    employees=st.lists(
        st.builds(
            lambda **f: Employee(**f),
            nir=TEXT,
            matricule=OPTIONAL,
            origin=st.sampled_from(["DSN", "SNGI"]),
        ),
        max_size=2,
    ).map(tuple),
    level=st.sampled_from(["envoi", "declaration"]),
)


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    path = Path(REFERENCE) / "gipmds-returns" / "dsn_bilans_v02r03.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def _future_has_date(employee: Employee) -> Employee:
    # The schema requires the date of a future rate: a future rate alone is not a valid input.
    if employee.future_rate is not None and employee.future_rate_date is None:
        return replace(employee, future_rate_date=date(2030, 1, 1))
    return employee


@settings(max_examples=30, deadline=None)
@given(
    employees=st.lists(EMPLOYEE.map(_future_has_date), max_size=6),
    anomalies=st.lists(ANOMALY.map(lambda a: replace(a, level="declaration")), max_size=3),
    identifier=st.from_regex(r"[1-9][0-9]{17}", fullmatch=True),
)
def test_crm_pas_round_trip(
    schema: etree.XMLSchema,
    employees: list[Employee],
    anomalies: list[Anomaly],
    identifier: str,
) -> None:
    data = build_crm_pas(
        employees,
        identifier=identifier,
        idflux="F" * 23,
        siren="123456789",
        nic="00012",
        emitter_siret="12345678900012",
        anomalies=anomalies,
    )
    assert schema.validate(etree.fromstring(data)), schema.error_log
    crm = parse(data)
    assert crm.warnings == ()
    assert crm.identifier == identifier
    assert list(crm.declarations[0].employees) == employees
    assert list(crm.anomalies) == anomalies


@settings(max_examples=30, deadline=None)
@given(anomalies=st.lists(ANOMALY, min_size=1, max_size=5))
def test_ban_round_trip(schema: etree.XMLSchema, anomalies: list[Anomaly]) -> None:
    data = build_ban(
        anomalies, idflux="F" * 23, siren="123456789", nic="00012", emitter_siret="1" * 14
    )
    assert schema.validate(etree.fromstring(data)), schema.error_log
    ban = parse(data)
    # Envoi anomalies first; the schema gives them no context (employees, contract).
    expected = [replace(a, employees=(), contract=None) for a in anomalies if a.level == "envoi"]
    expected += [a for a in anomalies if a.level != "envoi"]
    assert list(ban.anomalies) == expected
    assert ban.state == ("KO" if any(a.blocking for a in anomalies) else "OK")
