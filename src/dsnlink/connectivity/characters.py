"""The characters the credential linter looks for, and how it draws them.

Pure tables: spaces that are not U+0020, characters that draw nothing, line breaks, the
typographic punctuation a word processor substitutes, and the glyphs used to make each visible.
"""

from __future__ import annotations

import unicodedata

# Spaces that look like a space but are not U+0020.
ODD_SPACES = {
    "\u00a0": "espace insécable",
    "\u202f": "espace fine insécable",
    "\u2007": "espace tabulaire",
    "\u2000": "espace",
    "\u2001": "espace",
    "\u2002": "espace demi-cadratin",
    "\u2003": "espace cadratin",
    "\u2004": "espace",
    "\u2005": "espace",
    "\u2006": "espace",
    "\u2008": "espace",
    "\u2009": "espace fine",
    "\u200a": "espace ultra-fine",
    "\u205f": "espace",
    "\u3000": "espace idéographique",
}
# Characters that draw nothing at all.
ZERO_WIDTH = {
    "\u200b": "espace sans chasse",
    "\u200c": "antiliant sans chasse",
    "\u200d": "liant sans chasse",
    "\u2060": "gluon de mots",
    "\ufeff": "indicateur d'ordre des octets (BOM)",
    "\u00ad": "trait d'union conditionnel",
    "\u200e": "marque gauche-à-droite",
    "\u200f": "marque droite-à-gauche",
}
LINE_BREAKS = {
    "\n": "saut de ligne",
    "\r": "retour chariot",
    "\u0085": "saut de ligne",
    "\u2028": "séparateur de ligne",
    "\u2029": "séparateur de paragraphe",
    "\x0b": "tabulation verticale",
    "\x0c": "saut de page",
}
# What a word processor or a PDF puts in place of plain ASCII punctuation.
TYPOGRAPHIC = {
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
    "\u00b4": "'",
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u0153": "oe",
    "\u0152": "OE",
}

# How each odd character is drawn in the visible form.
_GLYPHS: dict[str, str] = {
    " ": "␣",
    "\t": "⇥",
    "\n": "↵",
    "\r": "␍",
    "\u00a0": "⍽",
    "\u202f": "⍽",
}


def _draw(ch: str) -> str:
    if ch in _GLYPHS:
        return _GLYPHS[ch]
    if ch in ODD_SPACES or ch in ZERO_WIDTH or ch in LINE_BREAKS or is_control(ch):
        return f"⟨U+{ord(ch):04X}⟩"
    if unicodedata.combining(ch):
        return f"⟨U+{ord(ch):04X}⟩"
    return ch


def is_control(ch: str) -> bool:
    return unicodedata.category(ch) in {"Cc", "Cf"} and ch not in "\t\n\r"


def visible(value: str, *, secret: bool = False) -> str:
    """``value`` with every space and invisible character drawn; a secret is masked (•)."""
    out = []
    for ch in value:
        drawn = _draw(ch)
        if secret and drawn == ch:
            out.append("•")
        else:
            out.append(drawn)
    return "«" + "".join(out) + "»"


def fold_accents(value: str) -> str:
    decomposed = unicodedata.normalize("NFD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
