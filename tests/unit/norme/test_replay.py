"""The batch checks (values matched in C, employee runs checked by one expression per shape and
replayed when already walked) give exactly the findings and summary of the line-by-line checks."""

from __future__ import annotations

import io
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsnlink.norme import FAULTS, generate_monthly_dsn
from dsnlink.norme import validator as validator_module
from dsnlink.norme.checks import is_calendar_date
from dsnlink.norme.runs import CALENDAR, Unsuitable, embeddable
from dsnlink.norme.source import SourceInfo, iter_batches
from dsnlink.norme.validator import Validator

BASE = generate_monthly_dsn(30, seed=5)
BASE_LINES = BASE.split(b"\n")[:-1]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(autouse=True)
def compile_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shapes compiled as soon as seen and runs replayed in any part, so that small files
    take every fast path."""
    monkeypatch.setattr(validator_module, "COMPILE_AFTER", 0)
    monkeypatch.setattr(validator_module, "REPLAY_MIN_LINES", 0)


def _outcome(
    data: bytes, *, replay: bool, chunk: int = 1 << 20, **kwargs: Any
) -> tuple[Validator, list[dict[str, Any]], dict[str, Any]]:
    validator = Validator(replay=replay, **kwargs)
    info = SourceInfo()
    for lines in iter_batches(io.BytesIO(data), info, chunk_size=chunk):
        validator.feed(lines)
    report = validator.finish(info)
    findings = [f.to_dict() for f in report.findings]
    return validator, findings, {**report.summary.to_dict(), "dropped": report.dropped}


def _same(data: bytes, **kwargs: Any) -> Validator:
    fast, findings, summary = _outcome(data, replay=True, **kwargs)
    _, expected, expected_summary = _outcome(data, replay=False, **kwargs)
    assert findings == expected
    assert summary == expected_summary
    return fast


def test_regular_file_is_replayed() -> None:
    fast = _same(generate_monthly_dsn(60, seed=3))
    assert fast._segments, "employee runs were not remembered"
    assert any(s.pattern is not None for s in fast._shapes.values())


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_fault_same_findings(fault: str) -> None:
    _same(generate_monthly_dsn(40, seed=11, fault=fault))


def test_late_duplicate_nir_in_a_replayed_run() -> None:
    lines = generate_monthly_dsn(50, seed=2).split(b"\n")
    nirs = [i for i, line in enumerate(lines) if line.startswith(b"S21.G00.30.001,'")]
    lines[nirs[45]] = lines[nirs[3]]
    fast = _same(b"\n".join(lines))
    _, findings, _ = _outcome(b"\n".join(lines), replay=True)
    assert [f["line"] for f in findings if f["code"] == "nir.duplicate"] == [nirs[45] + 1]
    assert fast._segments


def test_truncated_findings_same() -> None:
    lines = generate_monthly_dsn(40, seed=4).split(b"\n")
    for index in range(20, len(lines) - 5, 7):
        lines[index] = lines[index].replace(b"'", b"", 1)
    _same(b"\n".join(lines), max_findings=25)


def test_without_employee_list_same() -> None:
    _same(generate_monthly_dsn(40, seed=8, fault="duplicate-nir"), employees=False)


@SETTINGS
@given(st.data())
def test_mutated_file_same(data: st.DataObject) -> None:
    lines = list(BASE_LINES)
    for _ in range(data.draw(st.integers(1, 6))):
        index = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["value", "drop", "copy", "swap", "junk"]))
        if action == "value":
            head = lines[index][:16]
            value = data.draw(st.binary(max_size=20))
            lines[index] = head + value + b"'"
        elif action == "drop":
            del lines[index]
        elif action == "copy":
            lines.insert(data.draw(st.integers(0, len(lines))), lines[index])
        elif action == "swap":
            other = data.draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        else:
            lines[index] = data.draw(st.sampled_from([b"", b"S21.G00.30.001,'", b"x" * 300]))
    chunk = data.draw(st.sampled_from([64, 1000, 1 << 20]))
    _same(b"\n".join(lines) + b"\n", chunk=chunk)


def test_small_chunks_cut_runs_anywhere() -> None:
    data = generate_monthly_dsn(25, seed=9, fault="bad-date")
    for chunk in (50, 333, 4096):
        _same(data, chunk=chunk)


def test_calendar_expression_is_the_calendar() -> None:
    calendar = re.compile(CALENDAR)
    years = [f"{y:04d}" for y in (*range(0, 2500, 7), 1900, 2000, 2024, 2100, 2400, 9996)]
    for day in range(100):
        for month in range(100):
            for year in years:
                value = f"{day:02d}{month:02d}{year}"
                assert (calendar.fullmatch(value.encode()) is not None) == is_calendar_date(value)
    for year in range(10_000):
        value = f"2902{year:04d}"
        assert (calendar.fullmatch(value.encode()) is not None) == is_calendar_date(value), value


def test_embeddable_patterns() -> None:
    assert embeddable("[0-9]{2}$") == b"[0-9]{2}(?='(?:\\n|\\Z))"
    assert embeddable("[$]\\$") == b"[$]\\$"
    assert embeddable("[]$]") == b"[]$]"
    for unsafe in ("(a)\\1", "(?i)a", "(?P<x>a)", "a\\Z", "\\bA"):
        with pytest.raises(Unsuitable):
            embeddable(unsafe)


def test_random_files_same() -> None:
    rng = random.Random(7)
    for seed in range(3):
        faults = rng.sample(sorted(FAULTS), 3)
        _same(generate_monthly_dsn(20 + seed * 15, seed=seed, fault=faults))


def test_shapes_shared_by_later_validators() -> None:
    clean = generate_monthly_dsn(30, seed=21)
    _same(clean)
    # the second file meets shapes compiled for the first, with dates never seen before
    lines = generate_monthly_dsn(30, seed=22, fault="bad-date").split(b"\n")
    _same(b"\n".join(lines))
    fast = _same(generate_monthly_dsn(30, seed=21, month="2025-03"))
    assert fast._segments


def test_no_value_checked_against_the_tables_before_a_switch() -> None:
    """A P26 file: the lines after S10.G00.00.006 are checked with the P26 tables only, and a
    bad value is reported once, whatever the slicing."""
    lines = generate_monthly_dsn(3, seed=1, norme="P26V01").split(b"\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(b"S21.G00.30.002"))
    lines[index] = b"S21.G00.30.002,'D1PONT'"
    fast = _same(b"\n".join(lines))
    _, findings, _ = _outcome(b"\n".join(lines), replay=True)
    assert [(f["code"], f["line"]) for f in findings] == [("value.identity", index + 1)]
    assert fast.version == "P26V01"


def test_switch_points() -> None:
    lines = [
        b"S10.G00.00.006,'P26V01'",
        b"S21.G00.30.002,'S20.G00.05.001,'",
        b"S20.G00.05.001,'01'",
        b"S20.G00.05.002,'01'",
        b"S20.G00.05.001,'01'",
    ]
    assert validator_module._switch_points(lines, "P25V01", "01") == [1, 3]
    # the current version and nature repeated: nothing switches, no cut
    assert validator_module._switch_points(lines, "P26V01", "01") == []
    assert validator_module._switch_points(lines[1:], "P26V01", "04") == [2]


@pytest.mark.parametrize("slice_lines", [7, 60])
def test_slices_cut_anywhere(monkeypatch: pytest.MonkeyPatch, slice_lines: int) -> None:
    monkeypatch.setattr(validator_module, "SLICE", slice_lines)
    _same(generate_monthly_dsn(30, seed=12, fault=["bad-date", "duplicate-nir"]))
    _same(generate_monthly_dsn(10, seed=13, declarations=3, nature="04"))
    _same(generate_monthly_dsn(10, seed=14, norme="P26V01", fault="bad-amount"))
