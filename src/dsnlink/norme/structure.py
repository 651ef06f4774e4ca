"""Structure checks: envois, declarations, block order, parents and cardinalities.

Blocks are tracked with a stack of open instances. A block attaches to the nearest open
instance of its parent (CT §3.2); siblings must come in the order of the CT trees; each parent
instance counts its children for the cardinalities, checked when it closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dsnlink.norme.norm import BlockSpec

if TYPE_CHECKING:
    from dsnlink.norme.validator import Validator

ENVOI, DECLARATION, TOTALS = "S10.G00.00", "S20.G00.05", "S90.G00.90"


# A frame is a list for speed: [block, spec, child counts, last child order, first line]


def _frame(block: str, spec: BlockSpec | None, start: int) -> list[Any]:
    return [block, spec, {}, -1, start]


class _Envoi:
    __slots__ = ("declarations", "extra", "first_line", "phase")

    def __init__(self, first_line: int) -> None:
        self.first_line = first_line
        self.extra = 0  # lines not written by the emitter (lot, platform) or not rubriques
        self.declarations = 0
        self.phase = 1  # 1 header, 2 declarations, 3 totals


class Structure:
    def __init__(self, validator: Validator) -> None:
        self.v = validator
        self.stack: list[list[Any]] = []
        self.envoi: _Envoi | None = None
        self.seen_envoi = False

    def count_extra(self) -> None:
        if self.envoi is not None and self.envoi.phase < 3:
            self.envoi.extra += 1

    # --- block instances ----------------------------------------------------------------------

    def open_instance(self, block: str, spec: BlockSpec | None, lineno: int) -> None:
        if spec is not None and spec.parent is not None and spec.parent != ENVOI:
            self._open_child(block, spec, lineno)
            return
        v = self.v
        if block == ENVOI:
            self._pop_all()
            self._end_envoi()
            self.envoi = _Envoi(lineno)
            self.seen_envoi = True
            v.hooks.start_envoi(lineno)
        elif block == DECLARATION:
            self._pop_all()
            envoi = self._require_envoi(lineno)
            if envoi.phase == 3:
                self._missing_header(lineno)
            envoi.declarations += 1
            envoi.phase = 2
            v.hooks.start_declaration(lineno)
        elif block == TOTALS:
            self._pop_all()
            self._require_envoi(lineno).phase = 3
        elif spec is not None:  # S10.G00.01 and .02 under the envoi header
            self._open_child(block, spec, lineno)
            return
        else:
            v.add(
                "block.unknown",
                f"Le bloc {block} n'est pas admis dans ce type de déclaration "
                f"(norme {v.model.version}, nature {v.model.nature}).",
                line=lineno,
                rubrique=block,
                once=f"unknown:{block}:{v.hooks.decl_line}",
            )
        self.stack.append(_frame(block, spec, lineno))

    def _open_child(self, block: str, spec: BlockSpec, lineno: int) -> None:
        stack = self.stack
        parent = spec.parent
        index = len(stack) - 1
        while index >= 0 and stack[index][0] != parent:
            index -= 1
        if index < 0:
            v = self.v
            label = v.model.block_labels.get(parent or "", "")
            v.add(
                "block.parent_missing",
                f"Le bloc {block} ne peut venir qu'après son bloc parent {parent} ({label}).",
                line=lineno,
                rubrique=block,
                once=f"orphan:{block}:{v.hooks.decl_line}",
            )
            stack.append(_frame(block, spec, lineno))
            return
        while len(stack) > index + 1:
            self._close(stack.pop())
        top = stack[index]
        if spec.order < top[3]:
            self.v.add(
                "block.order",
                f"Le bloc {block} arrive trop tard : l'ordre des blocs suit l'arborescence de la "
                "norme, pas l'ordre des numéros.",
                line=lineno,
                rubrique=block,
            )
        else:
            top[3] = spec.order
        counts = top[2]
        count = counts[block] = counts.get(block, 0) + 1
        if spec.max is not None and count > spec.max:
            self.v.add(
                "block.too_many",
                f"Le bloc {block} est présent {count} fois sous son parent ; {spec.max} au plus.",
                line=lineno,
                rubrique=block,
            )
        if block == "S21.G00.30":
            self.v.hooks.start_employee(lineno)
        stack.append([block, spec, {}, -1, lineno])

    def missing_rubriques(self, block: str, missing: int, start: int) -> None:
        """Report the mandatory rubriques (bits of ``missing``) absent from a block instance."""
        ids = [f"{block}.{n:03d}" for n in range(missing.bit_length()) if missing >> n & 1]
        self.v.add(
            "rubrique.missing",
            "Rubrique(s) obligatoire(s) absente(s) du bloc : " + ", ".join(ids) + ".",
            line=start,
            rubrique=ids[0],
        )

    def _close(self, frame: list[Any]) -> None:
        spec: BlockSpec | None = frame[1]
        if spec is None or not spec.mandatory_children:
            return
        counts = frame[2]
        for child, minimum in spec.mandatory_children:
            if counts.get(child, 0) < minimum:
                label = self.v.model.block_labels.get(child, "")
                self.v.add(
                    "block.missing",
                    f"Le bloc obligatoire {child} ({label}) manque sous le bloc {frame[0]} "
                    f"commencé ligne {frame[4]}.",
                    line=frame[4],
                    rubrique=child,
                )

    def _pop_all(self) -> None:
        while self.stack:
            self._close(self.stack.pop())

    # --- envois -----------------------------------------------------------------------------

    def _require_envoi(self, lineno: int) -> _Envoi:
        if self.envoi is None:
            self._missing_header(lineno)
            self.envoi = _Envoi(lineno)
            self.v.hooks.start_envoi(lineno)
        return self.envoi

    def _missing_header(self, lineno: int) -> None:
        self.v.add(
            "envoi.header_missing",
            "La déclaration n'est pas précédée de l'en-tête d'envoi S10.G00.00.",
            line=lineno,
            rubrique=DECLARATION,
        )

    def _end_envoi(self) -> None:
        envoi, v = self.envoi, self.v
        if envoi is None:
            return
        self.envoi = None
        hooks = v.hooks
        if envoi.phase != 3 or hooks.s90_line is None:
            v.add(
                "envoi.totals_missing",
                "L'envoi ne se termine pas par le bloc S90.G00.90 (totaux).",
                line=envoi.first_line,
                rubrique=TOTALS,
            )
        else:
            lines = hooks.s90_line - envoi.first_line + 1 - envoi.extra
            if hooks.s90_total is not None and hooks.s90_total != lines:
                v.add(
                    "envoi.line_count",
                    f"S90.G00.90.001 annonce {hooks.s90_total} rubriques ; "
                    f"l'envoi en compte {lines}.",
                    line=hooks.s90_total_line,
                    rubrique="S90.G00.90.001",
                    value=str(hooks.s90_total),
                )
            if hooks.s90_decls is not None and hooks.s90_decls != envoi.declarations:
                v.add(
                    "envoi.declaration_count",
                    f"S90.G00.90.002 annonce {hooks.s90_decls} déclaration(s) ; l'envoi en "
                    f"contient {envoi.declarations}.",
                    line=hooks.s90_line,
                    rubrique="S90.G00.90.002",
                    value=str(hooks.s90_decls),
                )
        if envoi.declarations > 1:
            v.add(
                "envoi.several_declarations",
                f"L'envoi contient {envoi.declarations} déclarations ; un dépôt par l'API-DSN "
                "n'en admet qu'une : « dsnlink split » le découpe.",
                line=envoi.first_line,
                rubrique=ENVOI,
            )
        hooks.s90_line = hooks.s90_total = hooks.s90_decls = None

    def finish(self) -> None:
        self._pop_all()
        self._end_envoi()
