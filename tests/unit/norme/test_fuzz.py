"""Hostile input: arbitrary bytes and mutated valid files never crash the reader or validator,
and every finding points at a real line of the file."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsnlink.norme import generate_monthly_dsn, read_envois, validate, write_envois

BASE = generate_monthly_dsn(2, seed=17, declarations=2)
BASE_LINES = BASE.split(b"\n")[:-1]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _line_count(data: bytes) -> int:
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    return body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)


def _check(data: bytes) -> None:
    report = validate(data)
    lines = _line_count(data)
    assert report.lines == lines
    for finding in report.findings:
        assert finding.line is None or 1 <= finding.line <= lines, finding
        assert finding.message
    assert report.exit_code in (0, 1, 2)
    envois = list(read_envois(data))
    out = io.BytesIO()
    write_envois(envois, out)
    assert out.getvalue() == data


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    _check(data)


@FUZZ
@given(
    st.lists(
        st.sampled_from(
            [*BASE_LINES, b"", b"S21.G00.30.001,'", b"\xe9\xff", b"S99.G00.00.001,'x'"]
        ),
        max_size=120,
    ),
    st.sampled_from([b"\n", b"\r\n"]),
)
def test_shuffled_valid_lines(lines: list[bytes], newline: bytes) -> None:
    _check(newline.join(lines))


@FUZZ
@given(st.data())
def test_mutated_valid_file(data: st.DataObject) -> None:
    lines = list(BASE_LINES)
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["delete", "duplicate", "flip", "swap", "truncate"]))
        i = data.draw(st.integers(0, len(lines) - 1))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "flip" and lines[i]:
            j = data.draw(st.integers(0, len(lines[i]) - 1))
            b = data.draw(st.integers(0, 255))
            lines[i] = lines[i][:j] + bytes([b]) + lines[i][j + 1 :]
        elif op == "swap":
            k = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[k] = lines[k], lines[i]
        elif op == "truncate":
            lines[i] = lines[i][: data.draw(st.integers(0, max(0, len(lines[i]) - 1)))]
    _check(b"\n".join(lines) + b"\n")


@FUZZ
@given(st.integers(0, len(BASE_LINES) - 1))
def test_deleting_any_line_is_noticed(index: int) -> None:
    """Every line counts in S90.G00.90.001, so removing any one of them is always reported."""
    lines = list(BASE_LINES)
    del lines[index]
    assert validate(b"\n".join(lines) + b"\n").findings
