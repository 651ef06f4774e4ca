"""Exact round trip, and splitting multi-declaration envois."""

from __future__ import annotations

import io

import pytest

from dsnlink.errors import NormeError
from dsnlink.norme import generate_monthly_dsn, read_envois, split_envoi, validate, write_envois


@pytest.mark.parametrize(
    "variant",
    ["lf", "crlf", "utf8-bom", "no-final-newline", "with-garbage", "two-envois"],
)
def test_round_trip_is_byte_identical(variant: str) -> None:
    data = generate_monthly_dsn(3, seed=8, newline="\r\n" if variant == "crlf" else "\n")
    if variant == "utf8-bom":
        data = b"\xef\xbb\xbf" + data.decode("latin-1").encode("utf-8")
    elif variant == "no-final-newline":
        data = data[:-1]
    elif variant == "with-garbage":
        data = b"junk\n" + data.replace(b"\nS21.G00.40.001", b"\n\r\nS21.G00.40.001", 1) + b"tail"
    elif variant == "two-envois":
        data = data + generate_monthly_dsn(1, seed=9)
    out = io.BytesIO()
    write_envois(list(read_envois(data)), out)
    assert out.getvalue() == data


def test_split_recomputes_totals_and_stays_valid() -> None:
    data = generate_monthly_dsn(3, seed=8, declarations=3, newline="\r\n")
    (envoi,) = read_envois(data)
    parts = split_envoi(envoi)
    assert len(parts) == 3
    sirets = [d.siret for d in envoi.declarations]
    assert [p.declarations[0].siret for p in parts] == sirets
    for part in parts:
        raw = part.to_bytes()
        assert raw.startswith(b"S10.G00.00.001,'dsnlink'\r\n")
        assert part.totals is not None
        assert part.totals.get("001") == str(raw.count(b"\n"))
        assert part.totals.get("002") == "1"
        assert validate(raw).findings == []
    header = [ln.raw for b in envoi.header for ln in b.lines]
    assert all(
        p.lines[: len(header)] and [ln.raw for ln in p.lines[: len(header)]] == header
        for p in parts
    )


def test_split_writes_latin1_from_utf8() -> None:
    data = generate_monthly_dsn(2, seed=8, declarations=2).decode("latin-1").encode("utf-8")
    (envoi,) = read_envois(data)
    for part in split_envoi(envoi):
        raw = part.to_bytes()
        assert "Lefèvre".encode("latin-1") in raw
        assert validate(raw).findings == []


def test_split_refuses_characters_latin1_cannot_hold() -> None:
    data = generate_monthly_dsn(1, seed=8, fault="not-latin1")
    (envoi,) = read_envois(data)
    with pytest.raises(NormeError):
        split_envoi(envoi)


def test_split_drops_lot_wrappers() -> None:
    data = b"S05.G00.01.001,'LOT'\n" + generate_monthly_dsn(1, seed=8)
    (envoi,) = read_envois(data)
    (part,) = split_envoi(envoi)
    assert b"S05" not in part.to_bytes()
    assert validate(part.to_bytes()).findings == []


def test_split_sets_the_envoi_type_of_each_part() -> None:
    normal = generate_monthly_dsn(2, seed=8)
    empty = generate_monthly_dsn(0, seed=8, declaration_type="02")
    # one envoi: the header of ``normal``, its declaration, then the empty declaration
    body = empty.split(b"S20.G00.05.001", 1)[1].split(b"S90.G00.90.001")[0]
    mixed = normal.split(b"S90.G00.90.001")[0] + b"S20.G00.05.001" + body
    mixed += b"S90.G00.90.001,'" + str(mixed.count(b"\n") + 2).encode() + b"'\n"
    mixed += b"S90.G00.90.002,'2'\n"
    (envoi,) = read_envois(mixed)
    first, second = split_envoi(envoi)
    assert first.value("S10.G00.00.008") == "01"
    assert second.value("S10.G00.00.008") == "02"
    for part in (first, second):
        assert validate(part.to_bytes()).findings == []
