"""The return parser port over the official GIP-MDS samples."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from dsnlink.pipeline.adapters.returns import GipMdsReturnParser


def _parse(reference_dir: Path, name: str):  # type: ignore[no-untyped-def]
    return GipMdsReturnParser().parse((reference_dir / "gipmds-returns" / name).read_bytes())


def test_official_samples(reference_dir: Path) -> None:
    aee = _parse(reference_dir, "exemple_retour_10_AEE.xml")
    assert (aee.kind, aee.ok) == ("AEE", True)
    are = _parse(reference_dir, "exemple_retour_10_ARE.xml")
    assert (are.kind, are.ok) == ("ARE", False)
    cco = _parse(reference_dir, "exemple_retour_11_CCO.xml")
    assert (cco.kind, cco.ok, cco.declared_siret) == ("CCO", True, "73282932001691")
    ban = _parse(reference_dir, "exemple_retour_11_BAN.xml")
    assert (ban.kind, ban.ok) == ("BAN", False) and ban.blocking >= 1
    crm = _parse(reference_dir, "Exemple-94-DGFIP-crm-nominatif.xml")
    assert crm.kind == "CRM94" and crm.crm_identifier == "123456789123456789"
    assert [(r.nir, r.rate) for r in crm.rates] == [("9999999999999", Decimal("14.00"))]
    other = _parse(reference_dir, "exemple_retour_61_CRM_URSSAF.xml")
    assert other.kind not in {"AEE", "CCO", "CRM94"}
