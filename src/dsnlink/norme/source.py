"""Reading a DSN file as batches of lines: encoding, BOM and line endings, in constant memory.

The file is read in chunks of about 1 MB and cut at the last line feed; the partial line is
carried to the next chunk. Each batch is a list of ``bytes`` lines in ISO-8859-1 without their
terminator: CR-LF is turned into LF with one C call per chunk, and a UTF-8 file is transcoded
chunk by chunk (its line numbers are unchanged). Nothing here looks at the rubriques.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from dsnlink.errors import DsnReadError

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
CHUNK_SIZE = 1 << 20

Source = str | os.PathLike[str] | bytes | BinaryIO


@dataclass
class SourceInfo:
    """What the reader learnt about the file itself."""

    name: str = "<flux>"
    encoding: str = "latin-1"  # "latin-1" or "utf-8"
    bom: bool = False
    utf16: bool = False
    crlf: int = 0
    lf: int = 0
    bytes: int = 0
    lines: int = 0
    final_newline: bool = True
    #: lines holding characters that ISO-8859-1 cannot represent (UTF-8 files only)
    not_latin1: list[int] = field(default_factory=list)

    @property
    def newline(self) -> str:
        if self.crlf and self.crlf == self.lf:
            return "CRLF"
        if self.crlf:
            return "mixte"
        return "LF"


@contextmanager
def open_source(source: Source) -> Iterator[tuple[BinaryIO, str]]:
    """A binary stream over ``source`` (path, bytes or binary file object) and its name."""
    if isinstance(source, bytes | bytearray):
        yield io.BytesIO(bytes(source)), "<octets>"
        return
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise DsnReadError(
                f"Le fichier {path} ne peut pas être ouvert ({exc.strerror or exc}).",
                remedy="Vérifiez le chemin et les droits de lecture.",
                path=str(path),
            ) from exc
        with stream:
            yield stream, str(path)
        return
    yield source, getattr(source, "name", "<flux>")


def iter_batches(
    stream: BinaryIO, info: SourceInfo, chunk_size: int = CHUNK_SIZE
) -> Iterator[list[bytes]]:
    """Yield lists of Latin-1 lines (no terminator); ``info`` is filled in as reading goes."""
    for segment in iter_segments(stream, info, chunk_size):
        yield segment.split(b"\n")


def iter_segments(
    stream: BinaryIO, info: SourceInfo, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """Yield the same lines as ``iter_batches``, each batch still joined by LF (Latin-1, no
    CR-LF, no final terminator): the compiled scanner walks them in place."""
    carry = b""
    first = True
    decided = False
    try:
        while True:
            chunk = stream.read(chunk_size)
            if first:
                first = False
                if chunk.startswith(UTF8_BOM):
                    info.bom, info.encoding, decided = True, "utf-8", True
                    chunk = chunk[3:]
                    info.bytes += 3
                elif chunk[:2] in UTF16_BOMS:
                    info.utf16 = True
            if not chunk:
                break
            info.bytes += len(chunk)
            data = carry + chunk if carry else chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            carry = data[cut + 1 :]
            if not decided and not data.isascii():
                info.encoding = "utf-8" if _looks_utf8(data[: cut + 1]) else "latin-1"
                decided = True
            yield _segment(data[:cut], info, terminated=True)
    except OSError as exc:
        raise DsnReadError(f"Lecture interrompue : {exc}", remedy="Vérifiez le fichier.") from exc
    if carry:
        info.final_newline = False
        if not decided and not carry.isascii():
            info.encoding = "utf-8" if _looks_utf8(carry) else "latin-1"
        yield _segment(carry, info, terminated=False)


def _looks_utf8(data: bytes) -> bool:
    # Latin-1 text with accents almost never forms valid multi-byte UTF-8 sequences; ``data``
    # always ends at a line feed, so no character is cut.
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _segment(seg: bytes, info: SourceInfo, *, terminated: bool) -> bytes:
    """``seg`` (its final line feed left out when ``terminated``) with CR-LF turned into LF
    and UTF-8 into Latin-1; each line feed is counted once (a chunk is scanned few times)."""
    end = int(terminated)  # the line feed left out of ``seg``
    lf = seg.count(b"\n")
    info.lf += lf + end
    if b"\r" in seg:
        last = int(terminated and seg.endswith(b"\r"))  # the CR of the line feed left out
        crlf = seg.count(b"\r\n")
        info.crlf += crlf + last
        if crlf:
            seg = seg.replace(b"\r\n", b"\n")
        if last:
            seg = seg[:-1]
    if info.encoding == "utf-8" and not seg.isascii():
        seg = _transcode(seg, info)
    info.lines += lf + 1
    return seg


def _transcode(seg: bytes, info: SourceInfo) -> bytes:
    text = seg.decode("utf-8", errors="replace")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        first = info.lines + 1
        for offset, line in enumerate(text.split("\n")):
            if not all(ord(c) < 256 for c in line):
                info.not_latin1.append(first + offset)
        return text.encode("latin-1", errors="replace")
