"""Arbitrary and mutated input never raises anything but ReturnParseError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsnlink.errors import ReturnParseError
from dsnlink.returns import parse, parse_deposit_report
from dsnlink.returns.render import render
from tests.conftest import REFERENCE

SAMPLES = sorted((REFERENCE / "gipmds-returns").glob("*.xml"))
SAMPLE_BYTES = [p.read_bytes() for p in SAMPLES]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _survives(data: bytes) -> None:
    for reader in (parse, parse_deposit_report):
        try:
            document = reader(data)
        except ReturnParseError as exc:
            assert exc.message  # a French message, always
            continue
        # Whatever was read can be shown and written back.
        document.to_dict()
        render(document)


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    _survives(data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLE_BYTES)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "delete", "insert", "cut"]))
        if action == "flip" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 40))]
        elif action == "insert":
            data[position:position] = draw(
                st.sampled_from([b"<", b">", b"&", b"<x>", b"</x>", b"\x00", b"\xff", b"]]>"])
            )
        elif action == "cut":
            del data[position:]
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_samples(data: bytes) -> None:
    _survives(data)


_TEXT_NODE = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=30).map(
    lambda s: s.replace("&", "&amp;").replace("<", "&lt;")
)


@st.composite
def retyped(draw: st.DrawFn) -> bytes:
    """Well-formed samples whose leaf values are replaced by arbitrary text."""
    text = draw(st.sampled_from(SAMPLE_BYTES)).decode("utf-8")
    leaves = [i for i in range(len(text)) if text.startswith(">", i) and text[i + 1 : i + 2] != "<"]
    for _ in range(draw(st.integers(1, 6))):
        if not leaves:
            break
        start = draw(st.sampled_from(leaves)) + 1
        end = text.find("<", start)
        if end == -1:
            break
        text = text[:start] + draw(_TEXT_NODE) + text[end:]
        leaves = [
            i for i in range(len(text)) if text.startswith(">", i) and text[i + 1 : i + 2] != "<"
        ]
    return text.encode("utf-8")


@FUZZ
@given(retyped())
def test_samples_with_arbitrary_values(data: bytes) -> None:
    _survives(data)


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_truncation_of_a_sample(path: Path) -> None:
    data = path.read_bytes()
    for cut in range(0, len(data), 7):
        _survives(data[:cut])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "idflux", "etat", "envoi_etat", "code", "message", "x"])
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@FUZZ
@given(_JSON)
def test_arbitrary_json_deposit_answers(value: object) -> None:
    try:
        report = parse_deposit_report(json.dumps(value).encode())
    except ReturnParseError as exc:
        assert exc.message
    else:
        assert report.type in {"AEE", "ARE"}
        assert report.accepted == (report.type == "AEE" and report.state != "KO")
        report.to_dict()
