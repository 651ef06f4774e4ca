"""The DSN in memory, one envoi at a time: lines, block instances, declarations.

Every :class:`Line` keeps its original bytes (terminator included), so writing an untouched
envoi back gives the very same bytes; values are decoded text.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Line:
    number: int
    raw: bytes
    #: ``None`` for a line that is not a rubrique (blank, malformed)
    rubrique: str | None = None
    value: str | None = None

    @property
    def block(self) -> str | None:
        return self.rubrique[:10] if self.rubrique else None


@dataclass(eq=False, slots=True)
class Block:
    """One instance of a block: its lines, its parent instance and its children."""

    id: str
    lines: list[Line] = field(default_factory=list)
    parent: Block | None = None
    children: list[Block] = field(default_factory=list)

    @property
    def first_line(self) -> int:
        return self.lines[0].number

    def get(self, rubrique: str) -> str | None:
        """The value of a rubrique of this instance (``S21.G00.30.001`` or just ``001``)."""
        suffix = rubrique[-3:]
        for line in self.lines:
            if (
                line.rubrique is not None
                and line.rubrique.endswith(suffix)
                and (len(rubrique) == 3 or line.rubrique == rubrique)
            ):
                return line.value
        return None

    def descendants(self, block_id: str) -> list[Block]:
        found: list[Block] = []
        for child in self.children:
            if child.id == block_id:
                found.append(child)
            found.extend(child.descendants(block_id))
        return found


@dataclass(eq=False)
class Declaration:
    """From one ``S20.G00.05`` to the next (or to ``S90``)."""

    root: Block
    blocks: list[Block] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    def value(self, rubrique: str) -> str | None:
        for line in self.lines:
            if line.rubrique == rubrique:
                return line.value
        return None

    def instances(self, block_id: str) -> list[Block]:
        return [b for b in self.blocks if b.id == block_id]

    @property
    def siret(self) -> str | None:
        siren, nic = self.value("S21.G00.06.001"), self.value("S21.G00.11.001")
        return siren + nic if siren and nic else None


@dataclass(eq=False)
class Envoi:
    """One envoi: its header (S10), declarations (S20/S21…) and totals (S90), in file order."""

    lines: list[Line] = field(default_factory=list)
    header: list[Block] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    totals: Block | None = None
    #: lines that belong to no declaration: before the first S20, lot wrappers, blank lines
    stray: list[Line] = field(default_factory=list)
    encoding: str = "latin-1"
    bom: bytes = b""
    newline: bytes = b"\n"
    concentrator_lot: bool = False

    def value(self, rubrique: str) -> str | None:
        for block in self.header:
            if block.id == rubrique[:10]:
                found = block.get(rubrique)
                if found is not None:
                    return found
        return None

    @property
    def norme(self) -> str | None:
        return self.value("S10.G00.00.006")

    @property
    def is_test(self) -> bool | None:
        code = self.value("S10.G00.00.005")
        return {"01": True, "02": False}.get(code or "")

    def to_bytes(self) -> bytes:
        """The envoi exactly as read (BOM included for the first envoi of a file)."""
        return self.bom + b"".join(line.raw for line in self.lines)
