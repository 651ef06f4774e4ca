"""``read_envois``: a DSN file as :class:`~dsnlink.norme.model.Envoi` objects, one at a time.

Lines are read as bytes and kept whole; an envoi starts at ``S10.G00.00`` (after the previous
one's ``S90``). Inside a declaration, block instances are built with the CT rule: a new
instance starts when the block changes or the rubrique number does not increase, and a child
attaches to the nearest preceding instance of its parent (the parent of each block comes from
the norme tables for the declaration's nature). This reader does not judge: ``validate`` does.
"""

from __future__ import annotations

from collections.abc import Iterator

from dsnlink.norme.model import Block, Declaration, Envoi, Line
from dsnlink.norme.norm import Model, get_model
from dsnlink.norme.source import UTF8_BOM, Source, open_source
from dsnlink.norme.tables import available_versions

LOT_PREFIXES = ("S05.", "S06.", "S95.", "S96.")
DEFAULT_VERSION = "P25V01"


def parse_line(text: str) -> tuple[str | None, str | None]:
    """Identifier and value by the CT rule: the value lies between the first ``,'`` and the
    last ``'`` (apostrophes inside are not escaped). ``(None, None)`` if not a rubrique line."""
    rid, sep, rest = text.partition(",'")
    if not sep or not rest.endswith("'") or len(rid) != 14 or rid[0] != "S":
        return None, None
    return rid, rest[:-1]


class _EnvoiBuilder:
    def __init__(self, encoding: str, bom: bytes) -> None:
        self.envoi = Envoi(encoding=encoding, bom=bom)
        self.version = DEFAULT_VERSION
        self.model: Model = get_model(self.version, "01")
        self.current: Block | None = None
        self.last_num = 0
        self.decl: Declaration | None = None
        self.last_instance: dict[str, Block] = {}
        self.closed = False  # S90 seen

    def add(self, line: Line) -> None:
        envoi = self.envoi
        envoi.lines.append(line)
        rid = line.rubrique
        if rid is None or rid.startswith(LOT_PREFIXES):
            if rid is not None:
                envoi.concentrator_lot = True
            envoi.stray.append(line)
            return
        block_id, num = rid[:10], int(rid[11:]) if rid[11:].isascii() and rid[11:].isdigit() else 0
        current = self.current
        if current is None or current.id != block_id or num <= self.last_num:
            current = self._new_block(block_id, line)
        self.last_num = num
        current.lines.append(line)
        if self.decl is not None and not block_id.startswith("S90"):
            self.decl.lines.append(line)
        if rid == "S10.G00.00.006" and line.value in available_versions():
            self.version = line.value or DEFAULT_VERSION
            self.model = get_model(self.version, "01")
        elif rid == "S20.G00.05.001" and line.value:
            self.model = get_model(self.version, line.value)

    def _new_block(self, block_id: str, line: Line) -> Block:
        envoi = self.envoi
        block = Block(block_id)
        self.current = block
        if block_id.startswith("S10."):
            envoi.header.append(block)
        elif block_id == "S20.G00.05":
            self.decl = Declaration(root=block, blocks=[block])
            self.last_instance = {block_id: block}
            envoi.declarations.append(self.decl)
        elif block_id.startswith("S90."):
            envoi.totals = block
            self.decl = None
            self.closed = True
        elif self.decl is not None:
            spec = self.model.blocks.get(block_id)
            parent_id = spec.parent if spec is not None else "S20.G00.05"
            parent = self.last_instance.get(parent_id or "S20.G00.05") or self.decl.root
            block.parent = parent
            parent.children.append(block)
            self.decl.blocks.append(block)
            self.last_instance[block_id] = block
        else:
            envoi.stray.append(line)
        if line.raw.endswith(b"\r\n"):
            envoi.newline = b"\r\n"
        return block


def read_envois(source: Source) -> Iterator[Envoi]:
    """Yield the envois of ``source`` (path, bytes or binary stream) one at a time."""
    with open_source(source) as (stream, _name):
        encoding = "latin-1"
        decided = False
        builder: _EnvoiBuilder | None = None
        bom = b""
        for number, raw in enumerate(stream, start=1):
            if number == 1 and raw.startswith(UTF8_BOM):
                bom, raw = UTF8_BOM, raw[3:]
                encoding, decided = "utf-8", True
            if not decided and not raw.isascii():
                try:
                    raw.decode("utf-8")
                    encoding = "utf-8"
                except UnicodeDecodeError:
                    encoding = "latin-1"
                decided = True
            text = raw.decode(encoding, errors="replace").rstrip("\r\n")
            rid, value = parse_line(text)
            line = Line(number, raw, rid, value)
            starts_envoi = rid is not None and rid.startswith("S10.G00.00")
            if builder is not None and starts_envoi and builder.closed:
                yield builder.envoi
                builder = None
            if builder is None:
                builder = _EnvoiBuilder(encoding, bom)
                bom = b""
            builder.envoi.encoding = encoding
            builder.add(line)
        if builder is not None:
            yield builder.envoi
