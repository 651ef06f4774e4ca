"""The compiled scanner gives exactly the findings and summary of the pure-Python path, takes
the same values as valid, never crashes on hostile bytes and leaks nothing."""

from __future__ import annotations

import gc
import io
import os
import random
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsnlink.norme import FAULTS, generate_monthly_dsn, speedups
from dsnlink.norme.checks import is_calendar_date
from dsnlink.norme.dfa import Unsupported, compile_pattern, compile_words
from dsnlink.norme.norm import get_model
from dsnlink.norme.source import SourceInfo, iter_segments
from dsnlink.norme.summary import EmployeeSummary
from dsnlink.norme.tables import available_versions
from dsnlink.norme.validator import Validator, run

REQUIRED = bool(os.environ.get(speedups.REQUIRE_SPEEDUPS))
compiled = pytest.mark.skipif(
    speedups._module is None, reason="the C extension is not built (no compiler)"
)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
BASE = generate_monthly_dsn(12, seed=31, declarations=2)
BASE_LINES = BASE.split(b"\n")[:-1]
NATURES = ("01", "04", "05", "07", "10")
CT_LINE = re.compile(rb"S[0-9]{2}\.G[0-9]{2}\.[0-9]{2}\.[0-9]{3},'[^\n]*'")


def _report(data: bytes | Any, **kwargs: Any) -> dict[str, Any]:
    return run(data, **kwargs).to_dict()  # type: ignore[no-any-return]


def _same(data: bytes, **kwargs: Any) -> dict[str, Any]:
    fast = _report(data, compiled=True, **kwargs)
    assert fast == _report(data, compiled=False, **kwargs)
    return fast


# --- the extension is there when it must be -------------------------------------------------


@pytest.mark.skipif(not REQUIRED, reason=f"{speedups.REQUIRE_SPEEDUPS} is not set")
def test_extension_is_built_when_required() -> None:
    assert speedups._module is not None, "the C extension did not build"
    assert speedups.available()
    assert run(generate_monthly_dsn(2, seed=1)).findings == []


def test_environment_chooses_the_path() -> None:
    code = "from dsnlink.norme import speedups; print(speedups.available())"
    env = {**os.environ, speedups.NO_SPEEDUPS: "1"}
    env.pop(speedups.REQUIRE_SPEEDUPS, None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


@compiled
def test_no_speedups_means_the_python_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(speedups.NO_SPEEDUPS, "1")
    assert not speedups.available()
    calls: list[bytes] = []
    monkeypatch.setattr(Validator, "feed_segment", lambda self, seg: calls.append(seg))
    assert run(generate_monthly_dsn(2, seed=1)).findings == []
    assert calls == []


# --- same findings and summary --------------------------------------------------------------


@compiled
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_fault_same(fault: str) -> None:
    report = _same(generate_monthly_dsn(40, seed=11, fault=fault))
    assert report["findings"], fault


@compiled
@pytest.mark.parametrize(
    "kwargs",
    [
        {"employees": 200, "seed": 3},
        {"employees": 5, "seed": 4, "declarations": 3},
        {"employees": 8, "seed": 5, "norme": "P26V01"},
        {"employees": 8, "seed": 6, "nature": "04"},
        {"employees": 8, "seed": 7, "newline": "\r\n"},
        {"employees": 0, "seed": 8, "declaration_type": "02"},
    ],
)
def test_generated_files_same(kwargs: dict[str, Any]) -> None:
    _same(generate_monthly_dsn(**kwargs))


@compiled
def test_utf8_and_odd_endings_same() -> None:
    data = generate_monthly_dsn(6, seed=9)
    _same(b"\xef\xbb\xbf" + data.decode("latin-1").encode("utf-8"))
    _same(data[:-1])
    _same(data + b"\n\n")
    _same(b"\n")
    _same(b"")


@compiled
def test_without_employee_list_same() -> None:
    _same(generate_monthly_dsn(40, seed=8, fault="duplicate-nir"), employees=False)


@compiled
def test_past_max_findings_same_findings_kept() -> None:
    lines = generate_monthly_dsn(40, seed=4).split(b"\n")
    for index in range(20, len(lines) - 5, 7):
        lines[index] = lines[index].replace(b"'", b"", 1)
    data = b"\n".join(lines)
    report = _same(data, max_findings=25)
    assert len(report["findings"]) == 26  # 25 and the truncation notice
    _same(data, max_findings=0)


@compiled
def test_unseekable_stream_same() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: Any) -> int:
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    data = generate_monthly_dsn(10, seed=2, fault="bad-date")
    fast = _report(Pipe(data), compiled=True)  # type: ignore[arg-type]
    assert fast == _report(Pipe(data), compiled=False)  # type: ignore[arg-type]


@compiled
def test_ct_examples_same(reference_dir: Path) -> None:
    """The example lines of the Cahier technique, alone and inside a regular file."""
    text = (reference_dir / "neodes" / "dsn-cahier-technique-2025.1.txt").read_bytes()
    found = CT_LINE.findall(text.decode("utf-8").encode("latin-1", errors="replace"))
    assert found
    _same(b"\n".join(found) + b"\n")
    lines = list(BASE_LINES)
    for index, line in enumerate(found):
        lines.insert((index * 37) % len(lines), line)
    _same(b"\n".join(lines) + b"\n")


@compiled
def test_small_chunks_same() -> None:
    data = generate_monthly_dsn(25, seed=9, fault=["bad-date", "duplicate-nir"])
    expected = _report(data, compiled=False)
    for chunk in (50, 333, 4096):
        validator, info = Validator(), SourceInfo()
        for segment in iter_segments(io.BytesIO(data), info, chunk_size=chunk):
            validator.feed_segment(segment)
        info.name = "<octets>"
        assert validator.finish(info).to_dict() == expected


@compiled
@SETTINGS
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_same(data: bytes) -> None:
    _same(data)


@compiled
@SETTINGS
@given(
    st.lists(
        st.sampled_from([*BASE_LINES, b"", b"S21.G00.30.001,'", b"\xe9\xff", b"x" * 300]),
        max_size=150,
    ),
    st.sampled_from([b"\n", b"\r\n"]),
)
def test_shuffled_lines_same(lines: list[bytes], newline: bytes) -> None:
    _same(newline.join(lines))


@compiled
@SETTINGS
@given(st.data())
def test_mutated_file_same(data: st.DataObject) -> None:
    lines = list(BASE_LINES)
    for _ in range(data.draw(st.integers(1, 8))):
        index = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["value", "flip", "drop", "copy", "swap", "cut"]))
        if action == "value":
            lines[index] = lines[index][:16] + data.draw(st.binary(max_size=24)) + b"'"
        elif action == "flip" and lines[index]:
            at = data.draw(st.integers(0, len(lines[index]) - 1))
            byte = bytes([data.draw(st.integers(0, 255))])
            lines[index] = lines[index][:at] + byte + lines[index][at + 1 :]
        elif action == "drop" and len(lines) > 1:
            del lines[index]
        elif action == "copy":
            lines.insert(data.draw(st.integers(0, len(lines))), lines[index])
        elif action == "swap":
            other = data.draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif action == "cut":
            lines[index] = lines[index][: data.draw(st.integers(0, len(lines[index])))]
    _same(b"\n".join(lines) + b"\n", employees=data.draw(st.booleans()))


# --- the value checks: C against re -----------------------------------------------------------


def _python_accepts(validator: Validator, line: bytes) -> bool:
    """What ``Validator._resolve_line`` takes as valid without finding."""
    entry = validator.table.get(line[:16])
    if entry is None or not line.endswith(b"'") or len(line) < 17:
        return False
    if entry[3](line, 16, len(line) - 1) is None:
        return False
    return not (entry[2] and entry[6].type == "D") or is_calendar_date(
        line[16:-1].decode("latin-1")
    )


def _values(reference: Path) -> dict[str, set[bytes]]:
    """Values met per rubrique: generated files of each norme and nature, the CT examples."""
    found: dict[str, set[bytes]] = {}
    files = [generate_monthly_dsn(3, seed=s, nature=n) for s, n in enumerate(("01", "04"))]
    files.append(generate_monthly_dsn(3, seed=9, norme="P26V01"))
    text = (reference / "neodes" / "dsn-cahier-technique-2025.1.txt").read_bytes()
    ct = text.decode("utf-8").encode("latin-1", errors="replace")
    for line in [*b"\n".join(files).split(b"\n"), *CT_LINE.findall(ct)]:
        if len(line) > 16:
            found.setdefault(line[:14].decode("latin-1"), set()).add(line[16:-1])
    return found


ALPHABET = b"0123456789.-+ 'AZaz2ABe\xe9\xc9\x7f\x01\t"


def _mutations(value: bytes, rng: random.Random) -> list[bytes]:
    out = [value, value + b" ", b" " + value, value[:-1], value + value[-1:], b"", b"0"]
    for _ in range(12):
        at = rng.randint(0, len(value))
        char = bytes([rng.choice(ALPHABET)])
        out.append(value[:at] + char + value[at + 1 :])
        out.append(value[:at] + char + value[at:])
    return out


@compiled
def test_value_checks_match_re_for_every_rubrique(reference_dir: Path) -> None:
    rng = random.Random(5)
    values = _values(reference_dir)
    for version in available_versions():
        for nature in NATURES:
            validator = Validator()
            validator.use_model(version=version, nature=nature)
            key = (validator.model.version, validator.model.nature, True)
            fast = speedups.table_for(key, validator.table, validator.model)
            assert fast is not None
            table = fast[0]
            for rid, spec in get_model(version, nature).rubriques.items():
                samples = set(values.get(rid, ()))
                samples.update(v.encode("latin-1") for v in sorted(spec.enum)[:40])
                samples.update(
                    bytes(rng.choice(ALPHABET) for _ in range(rng.randint(0, spec.max + 2)))
                    for _ in range(10)
                )
                for sample in list(samples):
                    samples.update(_mutations(sample, rng))
                prefix = rid.encode() + b",'"
                for value in samples:
                    line = prefix + value + b"'"
                    expected = _python_accepts(validator, line)
                    # C may leave a valid line to Python, never take an invalid one
                    assert table.check(line) == expected or (
                        expected and speedups.value_check(spec)[0] & 8
                    ), (version, nature, line)


PATTERNS = sorted(
    {
        spec.pattern.pattern.decode("latin-1")
        for version in available_versions()
        for spec in get_model(version, "01").rubriques.values()
        if spec.pattern is not None
    }
)


@SETTINGS
@given(st.sampled_from(PATTERNS), st.binary(max_size=16))
def test_pattern_automata_match_re(pattern: str, value: bytes) -> None:
    expected = re.compile(pattern.encode("latin-1"), re.DOTALL)
    line = b"S21.G00.30.001,'" + value + b"'"
    want = expected.fullmatch(line, 16, len(line) - 1) is not None
    assert compile_pattern(pattern).fullmatch(value) == want


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        ("[0-9]{2}$", [b"12"], [b"1", b"123", b""]),
        ("(^a)|b", [b"b"], [b"a"]),  # "^" never matches inside a line
        ("a|", [b"a", b""], [b"b"]),
        ("[^a-c]x?", [b"d", b"dx", b"\xe9", b"x"], [b"a", b"xxx"]),
        ("[]a]+", [b"]", b"a]a"], [b""]),
        (r"\d\s\w\.", [b"1 a.", b"9\tZ."], [b"1 a!", b"a a."]),
        ("(ab){1,3}c*?", [b"ab", b"ababab", b"abcc"], [b"abababab", b"c"]),
    ],
)
def test_pattern_automata_examples(pattern: str, yes: list[bytes], no: list[bytes]) -> None:
    automaton = compile_pattern(pattern)
    regex = re.compile(pattern.encode(), re.DOTALL)
    for value, want in [*((v, True) for v in yes), *((v, False) for v in no)]:
        line = b"S21.G00.30.001,'" + value + b"'"
        assert (regex.fullmatch(line, 16, len(line) - 1) is not None) == want, value
        assert automaton.fullmatch(value) == want, value


@pytest.mark.parametrize(
    "pattern", ["(?=a)a", r"(a)\1", "(?i)a", r"\bA", "a{,3}", "a*+", "[[a]", r"\Z", "(a"]
)
def test_unsupported_patterns_stay_with_re(pattern: str) -> None:
    with pytest.raises(Unsupported):
        compile_pattern(pattern)


def test_word_automata() -> None:
    automaton = compile_words(frozenset({b"01", b"02", b"10", b"A"}))
    assert [automaton.fullmatch(v) for v in (b"01", b"02", b"10", b"A", b"0", b"", b"011")] == [
        True, True, True, True, False, False, False,
    ]  # fmt: skip


# --- hostile use: no crash, no leak ------------------------------------------------------------


@compiled
def test_scan_rejects_bad_arguments() -> None:
    mod = speedups._module
    assert mod is not None
    validator = Validator()
    key = (validator.model.version, validator.model.nature, True)
    fast = speedups.table_for(key, validator.table, validator.model)
    assert fast is not None
    table = fast[0]
    sink = [EmployeeSummary(line=0), None, mod.KeySet(), EmployeeSummary, {}, 0]
    good = [b"S10.G00.00.001,'x'", 0, [-1, 0, 0, 0, 0, 0], [], {}, sink]
    with pytest.raises(ValueError, match="position"):
        mod.scan(table, good[0], 99, *good[2:])
    with pytest.raises(ValueError, match="state"):
        mod.scan(table, good[0], 0, [0], *good[3:])
    with pytest.raises(ValueError, match="block index"):
        mod.scan(table, good[0], 0, [10**6, 0, 0, 0, 0, 0], *good[3:])
    with pytest.raises(OverflowError):
        mod.scan(table, good[0], 0, [-1, 0, -1, 0, 0, 0], *good[3:])
    with pytest.raises(TypeError):
        mod.scan(table, "text", 0, *good[2:])
    with pytest.raises(ValueError, match="summary"):
        mod.scan(table, *good[:5], [None])
    with pytest.raises(TypeError, match="summary"):
        mod.scan(table, *good[:5], [None, None, None, int, {}, 0])
    with pytest.raises(ValueError, match="automaton"):
        mod.Table([], [], [(bytes(256), 1, b"\x05\x00" * 2, b"\x00\x01")], 256)
    with pytest.raises(ValueError, match="entry"):
        mod.Table([(b"short", 0, 1, -1, 0, None, 0, -1, 0, 0)], [], [], 256)
    assert mod.scan(table, b"", 0, *good[2:]) == 0  # an empty line: Python's


@compiled
def test_no_memory_growth_over_many_runs() -> None:
    data = generate_monthly_dsn(30, seed=3, fault=["bad-date", "duplicate-nir"])
    for _ in range(20):
        run(data, compiled=True)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            run(data, compiled=True)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 200_000, grown
    segment = b"\n".join(BASE_LINES)
    refs = sys.getrefcount(segment)
    for _ in range(200):
        validator = Validator()
        validator.feed_segment(segment)
    assert sys.getrefcount(segment) == refs


@compiled
@SETTINGS
@given(st.lists(st.integers(1, 2**64 - 1), max_size=3000))
def test_keyset_behaves_like_a_set(keys: list[int]) -> None:
    assert speedups._module is not None
    ours, ref = speedups._module.KeySet(), set()
    for key in keys:
        assert ours.add(key) is (key not in ref)
        ref.add(key)
    assert len(ours) == len(ref)
    with pytest.raises(ValueError):
        ours.add(0)
    with pytest.raises(OverflowError):
        ours.add(2**64)


@compiled
def test_corsican_and_odd_nirs_same() -> None:
    """The duplicate check on NIR keys: Corsica's 2A/2B, look-alikes, non-NIR values."""
    lines = generate_monthly_dsn(12, seed=6).split(b"\n")
    nirs = [i for i, line in enumerate(lines) if line.startswith(b"S21.G00.30.001,'")]
    values = [
        b"185022A123456", b"185022B123456", b"1850220123456", b"185022A123456",
        b"1850220123456", b"18502 0123456", b"185022C123456", b"18502", b"185022B123456",
        b"1850221123456", b"2850221123456", b"2850221123456",
    ]  # fmt: skip
    for index, value in zip(nirs, values, strict=True):
        lines[index] = b"S21.G00.30.001,'" + value + b"'"
    report = _same(b"\n".join(lines))
    assert [f["line"] for f in report["findings"] if f["code"] == "nir.duplicate"] == [
        nirs[3] + 1, nirs[4] + 1, nirs[8] + 1, nirs[11] + 1,
    ]  # fmt: skip


@compiled
@SETTINGS
@given(
    st.lists(st.sampled_from(BASE_LINES), min_size=1, max_size=40),
    st.integers(-2, 40),
    st.integers(-(2**40), 2**40),
    st.integers(0, 2**64 - 1),
    st.integers(-5, 50),
    st.dictionaries(
        st.tuples(st.integers(-2, 50), st.sampled_from(["S21.G00.30", "S21.G00.40", "x"])),
        st.one_of(
            st.tuples(st.integers(-(2**70), 2**70), st.integers(-5, 2**70)),
            st.tuples(st.integers(0, 50)),
            st.none(),
            st.text(max_size=3),
        ),
        max_size=20,
    ),
    st.lists(st.integers(0, 10**6), max_size=6),
)
def test_scan_survives_any_state(
    lines: list[bytes],
    blk: int,
    last: int,
    mask: int,
    sid: int,
    memo: dict[Any, Any],
    starts: list[int],
) -> None:
    """Whatever state it is handed, the scanner returns an offset or raises: no crash."""
    mod = speedups._module
    assert mod is not None
    validator = Validator()
    key = (validator.model.version, validator.model.nature, True)
    fast = speedups.table_for(key, validator.table, validator.model)
    assert fast is not None
    segment = b"\n".join(lines)
    state = [blk, last, mask, 0, 0, sid]
    sink = [EmployeeSummary(line=0), [], mod.KeySet(), EmployeeSummary, {"line": 0}, 0]
    try:
        pos = mod.scan(fast[0], segment, 0, state, starts, memo, sink)
    except (ValueError, OverflowError, TypeError):
        return
    assert pos == -1 or 0 <= pos <= len(segment)
    assert len(state) == 6 and len(sink) == 6


@compiled
def test_tables_the_scanner_cannot_hold_go_to_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """A norme whose tables do not fit the scanner (say, a mandatory rubrique numbered 64 or
    more) is checked by the pure-Python walk, from the line where it starts."""
    data = generate_monthly_dsn(20, seed=3, norme="P26V01", fault="bad-date")
    expected = _report(data, compiled=False)
    real = speedups._build
    monkeypatch.setattr(speedups, "_TABLES", {})
    monkeypatch.setattr(
        speedups,
        "_build",
        lambda mod, table, model: None if model.version == "P26V01" else real(mod, table, model),
    )
    assert _report(data, compiled=True) == expected
    assert speedups._TABLES[("P26V01", "01", True)] is None


@pytest.mark.parametrize("value", [b"12.5", b"0.5", b"800", b"900", b"0", b"12.345"])
def test_anchored_ct_patterns_describe_the_whole_value(value: bytes) -> None:
    # S21.G00.40.059 (NBI points, 0.01 to 800) is written « (^0\.…|…|800…)$ » in the CT: its
    # anchors must not make every value fail, on either path
    lines = BASE_LINES[:]
    at = next(i for i, line in enumerate(lines) if line.startswith(b"S21.G00.40.043"))
    lines.insert(at + 1, b"S21.G00.40.059,'" + value + b"'")
    report = (
        _same(b"\n".join(lines) + b"\n")
        if speedups._module
        else _report(b"\n".join(lines) + b"\n", compiled=False)
    )
    refused = [f for f in report["findings"] if f["rubrique"] == "S21.G00.40.059"]
    assert bool(refused) == (value in (b"900", b"0", b"12.345"))
