"""validate(): the checks, their findings, the summary, the exit codes."""

from __future__ import annotations

import pytest

from dsnlink.norme import FAULTS, Severity, generate_monthly_dsn, speedups, summarize, validate
from dsnlink.norme.findings import CODES


@pytest.fixture(autouse=True, params=["default", "pure-python"])
def validator_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every check of this file on the path ``validate`` takes by default (the compiled
    scanner when it is built) and on the pure-Python path."""
    if request.param == "pure-python":
        monkeypatch.setenv(speedups.NO_SPEEDUPS, "1")


def test_generated_file_is_clean(small_dsn: bytes) -> None:
    report = validate(small_dsn)
    assert report.findings == []
    assert report.exit_code == 0 and not report.blocking


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_variant_produces_its_finding(fault: str) -> None:
    code, _ = FAULTS[fault]
    data = generate_monthly_dsn(4, seed=9, fault=fault)
    report = validate(data)
    found = [f for f in report.findings if f.code == code]
    assert found, [f.code for f in report.findings]
    lines = data.count(b"\n")
    for finding in report.findings:
        assert finding.line is None or 1 <= finding.line <= lines
        assert finding.message and finding.severity is CODES[finding.code][0]
    expected = 1 if CODES[code][0] is Severity.NON_BLOQUANT else 2
    assert report.exit_code >= expected


def test_nir_is_masked_in_findings() -> None:
    data = generate_monthly_dsn(3, seed=9, fault="duplicate-nir")
    (dup,) = [f for f in validate(data).findings if f.code == "nir.duplicate"]
    assert dup.value is not None and dup.value.endswith("********") and len(dup.value) == 13
    assert dup.value[:5].isdigit()
    full = data.split(b"\n")[dup.line - 1][16:-1].decode()  # type: ignore[operator]
    assert full not in str(dup.to_dict())


def test_summary_of_a_monthly_file() -> None:
    data = generate_monthly_dsn(
        3, seed=21, siret="73282932000074", month="2025-04", test=False, sequence=7
    )
    summary = summarize(data)
    (envoi,) = summary.envois
    assert envoi.test is False and envoi.norme == "P25V01"
    assert envoi.emitter_siret == "73282932000074"
    (decl,) = envoi.declarations
    assert (decl.nature, decl.type, decl.fraction, decl.sequence) == ("01", "01", "11", "7")
    assert decl.period == "2025-04" and decl.siret == "73282932000074"
    assert decl.employee_count == 3 and summary.declared_sirets == ["73282932000074"]
    lines = data.decode("latin-1").split("\n")
    rates = [ln[16:-1] for ln in lines if ln.startswith("S21.G00.50.006")]
    crms = [ln[16:-1] for ln in lines if ln.startswith("S21.G00.50.008")]
    nirs = [ln[16:-1] for ln in lines if ln.startswith("S21.G00.30.001")]
    assert [e.pas_rate for e in decl.employees] == rates
    assert [e.crm_id for e in decl.employees] == crms
    assert [e.nir for e in decl.employees] == nirs
    assert all(e.matricule and e.last_name and e.first_names for e in decl.employees)
    data_dict = summary.to_dict()
    assert data_dict["envois"][0]["declarations"][0]["nature_label"] == "DSN mensuelle"


def test_employees_can_be_left_out_of_the_summary() -> None:
    summary = validate(generate_monthly_dsn(4, seed=1), employees=False).summary
    assert summary.employee_count == 4
    assert summary.declarations[0].employees == []


def test_p26_file_is_checked_with_p26_tables() -> None:
    report = validate(generate_monthly_dsn(2, seed=1, norme="P26V01"))
    assert report.findings == []
    unknown = validate(generate_monthly_dsn(1, seed=1, norme="P99V01"))
    assert "envoi.norme_unknown" in {f.code for f in unknown.findings}


def _replace(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data
    return data.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        (b"S20.G00.05.005,'01012025'", b"S20.G00.05.005,'15012025'", "value.pattern"),
        (b"S10.G00.00.005,'01'", b"S10.G00.00.005,'03'", "value.enum"),
        (b"S10.G00.01.003,'ASSOC", b"S10.G00.01.003,' ASSOC", "value.blank_edge"),
        (b"S10.G00.01.003,'ASSOC", b"S10.G00.01.003,'\x07ASSOC", "value.characters"),
        (b"S21.G00.30.002,'", b"S21.G00.30.002,'-", "value.identity"),
        (b"S21.G00.40.009,'C00001'", b"S21.G00.40.009,'C1'", "value.length"),
        (b"S20.G00.05.001,'01'", b"S20.G00.05.001,'77'", "value.enum"),
        (b"\nS21.G00.40.001,", b"\n\nS21.G00.40.001,", "line.blank"),
    ],
)
def test_syntax_checks(old: bytes, new: bytes, code: str) -> None:
    data = _replace(generate_monthly_dsn(2, seed=3), old, new)
    assert code in {f.code for f in validate(data).findings}


def test_forbidden_rubrique_for_the_nature() -> None:
    # S20.G00.05.005 (month) is "I"nterdit in a work-stoppage report (nature 04)
    data = _replace(generate_monthly_dsn(1, seed=3), b"S20.G00.05.001,'01'", b"S20.G00.05.001,'04'")
    assert "rubrique.forbidden" in {f.code for f in validate(data).findings}


def test_too_many_establishments() -> None:
    data = generate_monthly_dsn(1, seed=3)
    lines = data.split(b"\n")
    start = next(i for i, ln in enumerate(lines) if ln.startswith(b"S21.G00.11.001"))
    end = next(i for i, ln in enumerate(lines) if ln.startswith(b"S21.G00.30.001"))
    extra = lines[start:end]
    data = b"\n".join(lines[:end] + extra + lines[end:])
    codes = {f.code for f in validate(data).findings}
    assert "block.too_many" in codes


def test_findings_are_capped_and_counted() -> None:
    data = generate_monthly_dsn(30, seed=3).replace(b"S21.G00.40.007,'01'", b"S21.G00.40.007,'98'")
    report = validate(data, max_findings=10)
    assert len([f for f in report.findings if f.code == "value.enum"]) == 10
    assert report.dropped == {"value.enum": 20}
    assert report.findings[-1].code == "findings.truncated"
    assert report.counts()["bloquant"] == 30 and report.blocking


def test_empty_and_garbage_files() -> None:
    assert {f.code for f in validate(b"").findings} == {"file.empty"}
    report = validate(b"hello\nworld")
    assert {f.code for f in report.findings} == {"line.malformed"}
    assert validate(b"\xff\xfeS\x00").blocking


def test_missing_path_is_a_clear_error(tmp_path: object) -> None:
    from dsnlink.errors import DsnReadError

    with pytest.raises(DsnReadError) as info:
        validate("/nonexistent/file.dsn")
    assert "ne peut pas être ouvert" in info.value.message


def test_envoi_type_must_match_its_declarations() -> None:
    empty = generate_monthly_dsn(0, seed=3, declaration_type="02")
    assert b"S10.G00.00.008,'02'" in empty
    assert validate(empty).findings == []
    wrong = empty.replace(b"S10.G00.00.008,'02'", b"S10.G00.00.008,'01'")
    assert "envoi.type_mismatch" in {f.code for f in validate(wrong).findings}


def test_progress_is_reported_in_bytes() -> None:
    data = generate_monthly_dsn(3, seed=3)
    seen: list[int] = []
    validate(data, on_progress=seen.append)
    assert seen and seen[-1] == len(data)


def test_a_broken_nir_line_does_not_show_the_nir() -> None:
    data = generate_monthly_dsn(1, seed=3)
    line = next(ln for ln in data.split(b"\n") if ln.startswith(b"S21.G00.30.001"))
    nir = line[16:-1].decode()
    report = validate(data.replace(line, line[:-1]))
    (malformed,) = [f for f in report.findings if f.code == "line.malformed"]
    assert nir not in str(malformed.to_dict()) and nir[:5] in str(malformed.value)


def test_many_nature_switches_are_handled() -> None:
    """A hostile file alternating declaration natures: every switch re-resolves the lines
    after it, which stays bounded by the slice size."""
    head = generate_monthly_dsn(0, seed=1).split(b"S20.G00.05.001")[0]
    body = b"".join(b"S20.G00.05.001,'%s'\n" % (b"01" if i % 2 else b"04") for i in range(3000))
    report = validate(head + body, max_findings=50)
    assert report.lines == head.count(b"\n") + 3000
    assert report.blocking
