"""The shipped norme tables against the reference files and the Cahier technique text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dsnlink.norme.norm import get_model
from dsnlink.norme.tables import available_versions, build, load_table

#: the blocks whose rubriques the tool reads or relies on
RELIED_BLOCKS = (
    "S10.G00.00", "S10.G00.01", "S10.G00.02", "S20.G00.05", "S21.G00.06", "S21.G00.11",
    "S21.G00.30", "S21.G00.40", "S21.G00.50", "S21.G00.51", "S90.G00.90",
)  # fmt: skip


@pytest.fixture(scope="module")
def ct_text(reference_dir: Path) -> str:
    return (reference_dir / "neodes" / build.CT_NAME).read_text(encoding="utf-8")


def test_build_script_reproduces_the_shipped_tables(reference_dir: Path, tmp_path: Path) -> None:
    build.main(["--reference", str(reference_dir / "neodes"), "--out", str(tmp_path)])
    for version in ("P25V01", "P26V01"):
        shipped = (Path(build.__file__).parent / f"{version}.json").read_bytes()
        assert (tmp_path / f"{version}.json").read_bytes() == shipped, version


def test_versions_shipped() -> None:
    assert {"P25V01", "P26V01"} <= set(available_versions())


@pytest.mark.parametrize("block", RELIED_BLOCKS)
def test_lengths_of_relied_blocks_match_the_ct(block: str, ct_text: str) -> None:
    table = load_table("P25V01")
    rubriques = {rid: r for rid, r in table["rubriques"].items() if r["block"] == block}
    assert rubriques, block
    for rid, r in rubriques.items():
        head = re.search(re.escape(rid[:10]) + r"\. " + rid[11:] + r"\s*\n", ct_text)
        assert head, f"{rid} not described in the CT"
        length = re.compile(r"\[(\d+),(\d+)\]").search(ct_text, head.end())
        assert length, rid
        assert (r["min"], r["max"]) == (int(length.group(1)), int(length.group(2))), rid


@pytest.mark.parametrize(
    ("rid", "usage"),
    [
        ("S10.G00.00.005", "O"),
        ("S20.G00.05.005", "O"),
        ("S21.G00.30.001", "C"),
        ("S21.G00.30.002", "O"),
        ("S21.G00.50.006", "O"),
        ("S21.G00.50.008", "C"),
        ("S90.G00.90.001", "O"),
    ],
)
def test_usage_of_the_monthly_model_matches_the_ct(rid: str, usage: str, ct_text: str) -> None:
    row = re.search(
        re.escape(rid) + r" .*? ([OCNIF]) [OCNIF] [OCNIF] [OCNIF] [OCNIF] [OCNIF]", ct_text
    )
    assert row and row.group(1) == usage
    assert load_table("P25V01")["rubriques"][rid]["usage"]["01"] == usage


@pytest.mark.parametrize(
    ("block", "parent", "low", "high"),
    [
        ("S21.G00.06", "S20.G00.05", 1, 1),
        ("S21.G00.11", "S21.G00.06", 1, 1),
        ("S21.G00.30", "S21.G00.11", 0, None),
        ("S21.G00.40", "S21.G00.30", 1, None),
        ("S21.G00.62", "S21.G00.40", 0, 1),
        ("S21.G00.71", "S21.G00.40", 1, None),
        ("S21.G00.50", "S21.G00.30", 1, None),
        ("S21.G00.51", "S21.G00.50", 1, None),
        ("S21.G00.85", "S20.G00.05", 0, None),
    ],
)
def test_monthly_tree_parents_and_cardinalities(
    block: str, parent: str, low: int, high: int | None, ct_text: str
) -> None:
    spec = get_model("P25V01", "01").blocks[block]
    assert (spec.parent, spec.min, spec.max) == (parent, low, high)
    shown = "*" if high is None else str(high)
    assert re.search(
        re.escape(block) + r" - [^\n]*\(" + f"{low},{re.escape(shown)}" + r"\)", ct_text
    )


def test_message_order_is_the_tree_order_not_the_numbers() -> None:
    blocks = get_model("P25V01", "01").blocks
    assert blocks["S21.G00.82"].order < blocks["S21.G00.20"].order  # CT §8
    assert blocks["S21.G00.13"].order < blocks["S21.G00.11"].order


def test_patterns_translated_from_xml_schema() -> None:
    rubriques = get_model("P25V01", "01").rubriques
    nir = rubriques["S21.G00.30.001"].pattern
    assert nir is not None
    assert nir.fullmatch(b"1850275123456")
    assert nir.fullmatch(b"285022A123456")
    assert not nir.fullmatch(b"3850275123456")
    assert not nir.fullmatch(b"1851375123456")
    amount = rubriques["S21.G00.51.013"].pattern
    assert amount is not None and amount.fullmatch(b"-12.50") and not amount.fullmatch(b"12,50")
    assert build.xsd_to_python(r"[0 -9]{2}\p{IsBasicLatin}&#x27;") == r"[0-9]{2}\x00-\x7f'"


def test_p26_has_its_own_rubriques_and_version() -> None:
    p25, p26 = load_table("P25V01"), load_table("P26V01")
    assert p26["rubriques"]["S10.G00.00.006"]["enum"] == ["P26V01"]
    assert set(p26["rubriques"]) - set(p25["rubriques"])
    assert "10" in p26["models"]  # DPAE nature appears in 2026


def test_tables_are_compact_json() -> None:
    text = (Path(build.__file__).parent / "P25V01.json").read_text(encoding="utf-8")
    assert "\n" not in text.strip()
    assert json.loads(text)["version"] == "P25V01"
