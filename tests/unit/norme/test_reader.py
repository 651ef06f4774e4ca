"""read_envois: encodings, line endings, the value rule, line numbers, the parent rule."""

from __future__ import annotations

from pathlib import Path

from dsnlink.norme import generate_monthly_dsn, read_envois, validate
from dsnlink.norme.reader import parse_line


def test_value_rule_first_comma_quote_to_last_quote() -> None:
    assert parse_line("S21.G00.30.008,'1 rue d'Hauteville'") == (
        "S21.G00.30.008",
        "1 rue d'Hauteville",
    )
    assert parse_line("S21.G00.30.008,'a,'b'") == ("S21.G00.30.008", "a,'b")
    assert parse_line("S21.G00.30.008,'x") == (None, None)
    assert parse_line("garbage") == (None, None)


def test_structure_envoi_declaration_blocks(small_dsn: bytes) -> None:
    (envoi,) = read_envois(small_dsn)
    assert [b.id for b in envoi.header] == ["S10.G00.00", "S10.G00.01", "S10.G00.02"]
    assert envoi.is_test is True and envoi.norme == "P25V01"
    (decl,) = envoi.declarations
    assert decl.siret == "73282932000074"
    assert len(decl.instances("S21.G00.30")) == 5
    assert envoi.totals is not None and envoi.totals.get("002") == "1"
    individual = decl.instances("S21.G00.30")[0]
    assert individual.parent is not None and individual.parent.id == "S21.G00.11"
    assert [c.id for c in individual.children] == ["S21.G00.40", "S21.G00.50"]
    payment = individual.children[1]
    assert [c.id for c in payment.children] == ["S21.G00.51", "S21.G00.51", "S21.G00.78"]
    assert len(payment.descendants("S21.G00.81")) == 2


def test_child_attaches_to_nearest_preceding_parent() -> None:
    """The CT's own example (§3.2): contracts 1 and 2 belong to individual 1, 3 to individual 2."""
    data = generate_monthly_dsn(2, seed=3)
    (envoi,) = read_envois(data)
    first, second = envoi.declarations[0].instances("S21.G00.30")
    assert [c.get("009") for c in first.descendants("S21.G00.40")] == ["C00001"]
    assert [c.get("009") for c in second.descendants("S21.G00.40")] == ["C00002"]


def test_new_instance_when_number_does_not_increase() -> None:
    (envoi,) = read_envois(generate_monthly_dsn(1, seed=3))
    remunerations = envoi.declarations[0].instances("S21.G00.51")
    assert [r.get("011") for r in remunerations] == ["001", "002"]


def test_line_numbers_are_file_lines(small_dsn: bytes) -> None:
    (envoi,) = read_envois(small_dsn)
    lines = small_dsn.split(b"\n")
    for line in envoi.lines[::37]:
        assert lines[line.number - 1] + b"\n" == line.raw


def test_utf8_with_and_without_bom_and_crlf(tmp_path: Path) -> None:
    latin = generate_monthly_dsn(2, seed=5, newline="\r\n")
    text = latin.decode("latin-1")
    for data, bom in (
        (text.encode("utf-8"), False),
        (b"\xef\xbb\xbf" + text.encode("utf-8"), True),
    ):
        (envoi,) = read_envois(data)
        assert envoi.encoding == "utf-8" and (envoi.bom != b"") is bom
        assert envoi.newline == b"\r\n"
        assert envoi.value("S10.G00.02.002") == "Claire Lefèvre"
        report = validate(data)
        codes = [f.code for f in report.findings]
        assert codes == ["file.utf8"], codes
        assert report.summary.newline == "CRLF" and report.summary.bom is bom
        assert report.exit_code == 1
    (envoi,) = read_envois(latin)
    assert envoi.encoding == "latin-1"
    assert envoi.value("S10.G00.02.002") == "Claire Lefèvre"


def test_last_line_without_newline_is_read() -> None:
    data = generate_monthly_dsn(1, seed=2).rstrip(b"\n")
    (envoi,) = read_envois(data)
    assert envoi.totals is not None and envoi.totals.get("002") == "1"
    assert validate(data).findings == []


def test_concentrator_lot_and_platform_rubriques_accepted_and_reported() -> None:
    data = generate_monthly_dsn(1, seed=4)
    lines = data.split(b"\n")[:-1]
    at = next(i for i, ln in enumerate(lines) if ln.startswith(b"S21.G00.11.022"))
    lines.insert(at + 1, b"S21.G00.11.904,'X1'")
    total = next(i for i, ln in enumerate(lines) if ln.startswith(b"S90"))
    wrapped = [b"S05.G00.01.001,'LOT1'", *lines[:total], *lines[total:], b"S95.G00.01.001,'1'"]
    data = b"\n".join(wrapped) + b"\n"
    (envoi,) = read_envois(data)
    assert envoi.concentrator_lot
    report = validate(data)
    assert {f.code for f in report.findings} == {"lot.concentrator", "rubrique.platform"}
    assert not report.blocking
    assert report.summary.concentrator_lot
    assert report.summary.platform_rubriques == ["S21.G00.11.904"]


def test_several_envois_in_one_file() -> None:
    one = generate_monthly_dsn(1, seed=1)
    two = generate_monthly_dsn(2, seed=2)
    envois = list(read_envois(one + two))
    assert [len(e.declarations[0].instances("S21.G00.30")) for e in envois] == [1, 2]
    assert envois[1].lines[0].number == one.count(b"\n") + 1
    report = validate(one + two)
    assert report.findings == [] and len(report.summary.envois) == 2


def test_non_ascii_digit_in_a_rubrique_number_is_a_finding_not_a_crash() -> None:
    # "²" (Latin-1 0xB2) is a digit for str.isdigit() but not for int(): found by fuzzing.
    data = b"S10.G00.00.\xb201,'dsnlink'\nS10.G00.00.002,'dsnlink'\n"
    envois = list(read_envois(data))
    assert envois
    findings = validate(data).findings
    assert findings and all(f.line is None or f.line >= 1 for f in findings)
