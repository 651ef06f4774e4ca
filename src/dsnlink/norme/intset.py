"""A set of 64-bit keys in a flat array: 16 bytes per key instead of about 70 for a Python set
of ints, so that the per-declaration NIR check keeps memory flat on very large files."""

from __future__ import annotations

from array import array
from typing import Protocol


class KeySet(Protocol):
    """What the validator needs of a set of keys (``IntSet`` or the compiled ``KeySet``)."""

    def add(self, key: int) -> bool: ...

    def __len__(self) -> int: ...


_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing multiplier
_MASK64 = (1 << 64) - 1


class IntSet:
    """Open addressing with linear probing; 0 is reserved as the empty slot."""

    __slots__ = ("_bits", "_count", "_table")

    def __init__(self, bits: int = 10) -> None:
        self._bits = bits
        self._table = array("Q", bytes(8 << bits))
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, key: int) -> bool:
        """Add ``key`` (1 ≤ key < 2**64); False if it was already there."""
        table, bits = self._table, self._bits
        mask = (1 << bits) - 1
        index = ((key * _GOLDEN) & _MASK64) >> (64 - bits)
        while True:
            slot = table[index]
            if slot == 0:
                break
            if slot == key:
                return False
            index = (index + 1) & mask
        table[index] = key
        self._count += 1
        if self._count * 2 > len(table):
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._table
        self._bits += 1
        self._table = array("Q", bytes(8 << self._bits))
        self._count = 0
        for key in old:
            if key:
                self.add(key)


def nir_key(raw: bytes) -> int | None:
    """A distinct positive 64-bit integer for each 13-character NIR (Corsica's 2A/2B included);
    None for a value that is not NIR-shaped."""
    if len(raw) != 13:
        return None
    flag = 0
    if raw[5:7] in (b"2A", b"2B"):
        flag = 1 if raw[6:7] == b"A" else 2
        raw = raw[:5] + b"20" + raw[7:]
    if not raw.isdigit():
        return None
    return int(raw) + 1 + (flag << 50)
