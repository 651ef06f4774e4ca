"""Every template keeps to the Content-Security-Policy: no inline script, no inline style, no
event-handler attribute, nothing loaded from another site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import SRC

WEB = SRC / "dsnlink" / "web"
TEMPLATES = sorted((WEB / "templates").glob("*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_needs_no_unsafe_inline(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert "<style" not in text, "inline <style>"
    assert not re.search(r"\sstyle\s*=", text), "style attribute"
    assert not re.search(r"\son[a-z]+\s*=", text), "event-handler attribute"
    assert "javascript:" not in text
    assert not re.search(r"""(src|href|action)\s*=\s*["']?(https?:)?//""", text), "other site"


def test_static_files_are_our_own() -> None:
    names = sorted(p.name for p in (WEB / "static").iterdir())
    assert "app.js" in names and "style.css" in names
    for path in (WEB / "static").glob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert "eval(" not in text and "new Function" not in text
        assert "http://" not in text and "https://" not in text
