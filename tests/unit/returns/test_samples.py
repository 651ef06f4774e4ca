"""Every official GIP-MDS sample parses with the right figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dsnlink.returns import (
    ConformityReport,
    Counter,
    DepositReport,
    GenericReport,
    PasRateReport,
    parse,
)
from tests.unit.returns.conftest import SAMPLE_NAMES

Sample = Callable[[str], bytes]
PARIS = ZoneInfo("Europe/Paris")


def test_crm_94_pas_rates(sample: Sample) -> None:
    crm = parse(sample("Exemple-94-DGFIP-crm-nominatif.xml"))
    assert isinstance(crm, PasRateReport)
    assert crm.nature == 94
    assert crm.type == "CRM nominatif"
    assert crm.identifier == "123456789123456789"
    assert len(crm.identifier) == 18
    assert crm.message is not None and crm.message.startswith("En cas d’absence de taux")
    assert crm.idflux == "41358177C5AD6C0000000000"
    assert crm.envoi.norme_version == "201710"
    assert crm.envoi.emitter_siret == "12345678912345"
    assert crm.state == "OK"
    assert (crm.siren, crm.nic) == ("456789123", "54321")
    declaration = crm.declarations[0]
    assert declaration.rank == 7
    assert declaration.type == "03"
    assert declaration.business_id == "DECEMBRE-2018"
    assert declaration.employees_count == 35672
    assert declaration.siret == "45678912354321"
    (employee,) = crm.employees
    assert employee.nir == "9999999999999"
    assert employee.identifier == "9999999999999"
    assert employee.ntt is None
    assert employee.matricule == "MAT00009825"
    assert employee.rate == Decimal("14.00")
    assert str(employee.rate) == "14.00"
    assert employee.future_rate is None and employee.future_rate_date is None
    (anomaly,) = crm.anomalies
    assert anomaly.code == "ADR05"
    assert anomaly.category == "non-bloquant"
    assert not anomaly.blocking
    assert anomaly.message is not None
    assert anomaly.message.startswith("Échec de reconnaissance de la personne par la DGFiP")
    assert (anomaly.rubrique, anomaly.value) == ("S21.G00.30.010", "Bordeau")
    (concerned,) = anomaly.employees
    assert concerned.origin == "DSN"
    assert (concerned.nir, concerned.matricule) == ("9999999999999", "MAT00029643")
    assert crm.warnings == ()


def test_aee_accepted(sample: Sample) -> None:
    aee = parse(sample("exemple_retour_10_AEE.xml"))
    assert isinstance(aee, DepositReport)
    assert aee.nature == 10
    assert aee.accepted
    assert aee.idflux == "WSaah7AQlUpYL5RsQssseG."
    assert aee.state == "OK"
    assert aee.received_at == datetime(2015, 2, 10, 11, 2, 59, tzinfo=PARIS)
    assert aee.envoi.registered_at == datetime(2015, 2, 10, 11, 2, 59, tzinfo=PARIS)
    envoi = aee.envoi
    assert (envoi.declarant_siret, envoi.declarant_last_name, envoi.declarant_first_name) == (
        "41027602600029",
        "test",
        "dsn",
    )
    assert envoi.file_name == "MtoM"
    assert envoi.test_or_real == "02" and envoi.is_test is False
    assert envoi.emitter_siret == "41027602600029"
    assert aee.anomalies == ()


def test_are_rejected(sample: Sample) -> None:
    are = parse(sample("exemple_retour_10_ARE.xml"))
    assert isinstance(are, DepositReport)
    assert not are.accepted
    assert are.idflux == "UR5WJEBA5T74R4jNmCgvm1F"
    assert are.state == "KO"
    assert are.received_at == datetime(2013, 10, 16, 10, 42, 34, tzinfo=PARIS)
    assert are.envoi.registered_at is None
    assert are.envoi.test_or_real is None and are.envoi.is_test is None
    (anomaly,) = are.anomalies
    assert anomaly.code == "B1-105-15"
    assert anomaly.message == "Le format du fichier depot_mtom n'est pas reconnu."
    assert anomaly.level == "envoi"
    assert anomaly.category is None


def test_cco_conform(sample: Sample) -> None:
    cco = parse(sample("exemple_retour_11_CCO.xml"))
    assert isinstance(cco, ConformityReport)
    assert cco.nature == 11 and cco.type == "CCO"
    assert cco.conform
    assert cco.idflux == "UR5WJEBAhi54RcZN8Lur71F"
    assert (cco.envoi.declarations_count, cco.envoi.employees_count) == (1, 1)
    assert cco.envoi.software_editor == "génielog"
    (declaration,) = cco.declarations
    assert (declaration.siren, declaration.nic, declaration.fraction) == (
        "732829320",
        "01691",
        "32",
    )
    assert declaration.conformity_state == "OK"
    assert cco.counters == ()
    assert cco.anomalies == ()


def test_ban_anomalies_and_counters(sample: Sample) -> None:
    ban = parse(sample("exemple_retour_11_BAN.xml"))
    assert isinstance(ban, ConformityReport)
    assert ban.type == "BAN"
    assert not ban.conform
    assert ban.state == "KO"
    assert ban.envoi.counters == (
        Counter(category="generale", count=1),
        Counter(category="declaration", count=0),
        Counter(category="total", count=1),
    )
    (declaration,) = ban.declarations
    assert declaration.counters == (
        Counter(category="bloquant", count=0),
        Counter(category="non-bloquant", count=0),
    )
    assert declaration.state == "KO" and declaration.conformity_state == "KO"
    assert declaration.month == "01012015"
    (anomaly,) = ban.anomalies
    assert anomaly.code == "CSL-01"
    assert anomaly.category == "bloquant" and anomaly.blocking
    assert anomaly.line == 2
    assert anomaly.rubrique == "S10.G00.00.002"
    assert anomaly.label == "Nom de l'éditeur"
    assert anomaly.value == "HistoM-1_MtoM-7338-AR"
    # Blanks of the pretty-printed message are collapsed.
    assert anomaly.message == (
        "La rubrique S10.G00.00.002 est plus longue que la longueur maximale autorisée (20)."
    )
    assert ban.blocking


def test_crm_financier_93(sample: Sample) -> None:
    crm = parse(sample("Exemple-93-DGFIP-crm-financier.xml"))
    assert isinstance(crm, GenericReport)
    assert crm.nature == 93 and crm.type == "CRM financier"
    assert crm.state == "KO"
    assert crm.declarations[0].state == "KO"
    (anomaly,) = crm.anomalies
    assert (anomaly.code, anomaly.category) == ("CBS03", "bloquant")
    assert (anomaly.rubrique, anomaly.value) == (
        "S21.G00.20.004",
        "FR90 3029 4000 0154 6329 1G03 065",
    )


def test_cid_21(sample: Sample) -> None:
    cid = parse(sample("exemple_retour_21_CID.xml"))
    assert isinstance(cid, GenericReport)
    assert cid.nature == 21
    assert cid.idflux == "identifiant-du-flux"
    assert cid.envoi.conformity_code == "code conformite pre ctrl"
    assert cid.declarations[0].rank == 123450
    assert [(a.code, a.count) for a in cid.anomalies] == [("C0202", 2), ("C0202", 2), ("C0201", 1)]
    last = cid.anomalies[2]
    (employee,) = last.employees
    assert (employee.nir, employee.ntt, employee.rank) == ("2500105061099", "155201802015373", 1)
    assert employee.family_name == "NADINSOIXANTEDIXNEUF"
    assert last.contract is not None
    assert (last.contract.start_date, last.contract.number) == ("01062014", "Contrat1bis")


def test_crm_urssaf_61(sample: Sample) -> None:
    crm = parse(sample("exemple_retour_61_CRM_URSSAF.xml"))
    assert isinstance(crm, GenericReport)
    assert crm.type == "CRACOSS" and crm.nature == 61
    assert crm.envoi.file_name is None  # <identifiant></identifiant>
    assert crm.envoi.registered_at == datetime(2015, 10, 16, 11, 33, 30, tzinfo=PARIS)
    (declaration,) = crm.declarations
    assert declaration.counters == (Counter(category="non-bloquant", count=3),)
    assert declaration.conformity_certificate is not None
    assert "numéro de certificat 38785135" in declaration.conformity_certificate
    assert [a.code for a in crm.anomalies] == ["BA-209-09", "BA-210-01", "BA-210-01"]
    assert not crm.blocking


def test_crm_sadv_114(sample: Sample) -> None:
    crm = parse(sample("exemple_retour_114_CRM_SADV.xml"))
    assert isinstance(crm, GenericReport)
    assert crm.nature == 114
    assert crm.envoi.norme_version == "P20V01"
    (declaration,) = crm.declarations
    assert (declaration.employees_count, declaration.contracts_count) == (1, 1)
    (contract,) = declaration.contracts
    assert contract.number == "Contrat1a" and contract.sickness_regime == "200"
    assert declaration.main_month == "01022020"


def test_nature_from_listing_wins(sample: Sample) -> None:
    # The listing's nature decides when the type attribute says otherwise.
    document = parse(sample("Exemple-94-DGFIP-crm-nominatif.xml"), nature=62)
    assert isinstance(document, GenericReport)
    assert document.nature == 62


def test_path_source(returns_dir: Path) -> None:
    document = parse(returns_dir / "exemple_retour_10_AEE.xml")
    assert document.idflux == "WSaah7AQlUpYL5RsQssseG."


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_sample_reads_without_warning_and_to_json(sample: Sample, name: str) -> None:
    document = parse(sample(name))
    assert document.warnings == ()
    assert document.profil == "DSN"
    data = document.to_dict()
    assert data["kind"] == document.kind
    assert data["envoi"]["idflux"] == document.idflux


def test_future_rate_and_missing_rate() -> None:
    data = b"""<?xml version="1.0"?>
<g:rapport xmlns:g="http://www.gip-mds.fr/" type="CRM nominatif" profil="DSN" identifiant="1">
 <envoi><envoi_identification><idflux>F</idflux><emetteur_siret>1</emetteur_siret>
 </envoi_identification><envoi_bilan><envoi_etat>OK</envoi_etat></envoi_bilan></envoi>
 <declaration><declaration_identification><rang>1</rang><SIREN>1</SIREN>
 <nic_affectation>2</nic_affectation></declaration_identification>
 <declaration_bilan><etat>OK</etat>
  <salarie><NTT>NTT42</NTT><matricule>M1</matricule>
   <future_imposition_PAS><taux>7.5</taux><date_effet>2026-03-01</date_effet>
   </future_imposition_PAS></salarie>
 </declaration_bilan></declaration></g:rapport>"""
    crm = parse(data)
    assert isinstance(crm, PasRateReport)
    (employee,) = crm.employees
    assert employee.nir is None and employee.identifier == "NTT42"
    assert employee.rate is None
    assert employee.future_rate == Decimal("7.5")
    assert employee.future_rate_date == date(2026, 3, 1)
    assert crm.envoi.reception_time is None
