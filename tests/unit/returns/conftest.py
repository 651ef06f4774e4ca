"""Fixtures of the return-file tests: the official samples and schema (read in place)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

#: The official samples, each asserted value by value in test_samples.py.
SAMPLE_NAMES = [
    "Exemple-93-DGFIP-crm-financier.xml",
    "Exemple-94-DGFIP-crm-nominatif.xml",
    "exemple_retour_10_AEE.xml",
    "exemple_retour_10_ARE.xml",
    "exemple_retour_114_CRM_SADV.xml",
    "exemple_retour_11_BAN.xml",
    "exemple_retour_11_CCO.xml",
    "exemple_retour_21_CID.xml",
    "exemple_retour_61_CRM_URSSAF.xml",
]


@pytest.fixture(scope="session")
def returns_dir(reference_dir: Path) -> Path:
    return reference_dir / "gipmds-returns"


@pytest.fixture(scope="session")
def sample(returns_dir: Path) -> Callable[[str], bytes]:
    def read(name: str) -> bytes:
        return (returns_dir / name).read_bytes()

    return read


@pytest.fixture(scope="session")
def schema(returns_dir: Path) -> etree.XMLSchema:
    # The official schema is trusted reference material, parsed with lxml's defaults.
    return etree.XMLSchema(etree.parse(str(returns_dir / "dsn_bilans_v02r03.xsd")))


@pytest.fixture(scope="session")
def assert_valid(schema: etree.XMLSchema) -> Callable[[bytes], None]:
    def check(data: bytes) -> None:
        document = etree.fromstring(data)
        assert schema.validate(document), [str(e) for e in schema.error_log]

    return check
