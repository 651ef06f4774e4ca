"""Writing envois: exact round trip, and splitting multi-declaration envois for the API-DSN.

The API-DSN accepts one declaration per deposit. :func:`split_envoi` makes, for each
declaration, an envoi with the original S10 header lines, that declaration's lines and a new
S90 (``S90.G00.90.001`` = number of lines of the new envoi, ``.002`` = 1). The output is
always ISO-8859-1, as the platform expects; ``S10.G00.00.008`` (normal or "néant" envoi) is
set for the one declaration left; lot wrappers (S05/S06/S95/S96) and platform
rubriques are left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from dsnlink.errors import NormeError
from dsnlink.norme.model import Declaration, Envoi, Line
from dsnlink.norme.oddities import PLATFORM_RUBRIQUES
from dsnlink.norme.reader import read_envois


def write_envois(envois: list[Envoi], target: str | Path | BinaryIO) -> int:
    """Write envois exactly as read; returns the number of bytes written."""
    data = b"".join(envoi.to_bytes() for envoi in envois)
    if isinstance(target, str | Path):
        Path(target).write_bytes(data)
    else:
        target.write(data)
    return len(data)


def _latin1(line: Line, encoding: str, newline: bytes) -> bytes:
    raw = line.raw
    if encoding != "latin-1":
        try:
            raw = raw.decode(encoding).encode("latin-1")
        except (UnicodeDecodeError, UnicodeEncodeError) as exc:
            raise NormeError(
                f"La ligne {line.number} contient un caractère impossible à écrire en "
                "ISO-8859-1 (Latin-1).",
                remedy="Corrigez ce caractère dans le logiciel de paie, puis recommencez.",
                line=line.number,
            ) from exc
    if not raw.endswith(b"\n"):
        raw += newline
    return raw


def _kept(line: Line) -> bool:
    rid = line.rubrique
    if rid is None:
        return True  # malformed lines stay: the validator reports them, nothing is lost
    return not (
        rid.startswith(("S05.", "S06.", "S95.", "S96.", "S10.G00.95.")) or rid in PLATFORM_RUBRIQUES
    )


def _envoi_type(header: list[bytes], declaration: Declaration, newline: bytes) -> list[bytes]:
    """S10.G00.00.008 of a one-declaration envoi: 02 (néant) for a monthly DSN without employee
    (types 02 and 05), 01 otherwise (CT, CCH-11)."""
    empty = declaration.value("S20.G00.05.001") == "01" and declaration.value("S20.G00.05.002") in (
        "02",
        "05",
    )
    wanted = b"S10.G00.00.008,'" + (b"02" if empty else b"01") + b"'"
    return [
        wanted + (b"\r\n" if raw.endswith(b"\r\n") else b"\n" if raw.endswith(b"\n") else newline)
        if raw.startswith(b"S10.G00.00.008,'")
        else raw
        for raw in header
    ]


def split_envoi(envoi: Envoi) -> list[Envoi]:
    """One envoi per declaration, each with the S10 header and a recomputed S90."""
    newline = envoi.newline
    header = [line for block in envoi.header for line in block.lines if _kept(line)]
    out: list[Envoi] = []
    for declaration in envoi.declarations:
        body = [line for line in declaration.lines if _kept(line)]
        parts = [_latin1(line, envoi.encoding, newline) for line in header + body]
        parts[: len(header)] = _envoi_type(parts[: len(header)], declaration, newline)
        count = len(parts) + 2
        parts.append(b"S90.G00.90.001,'" + str(count).encode() + b"'" + newline)
        parts.append(b"S90.G00.90.002,'1'" + newline)
        out.extend(read_envois(b"".join(parts)))
    return out
