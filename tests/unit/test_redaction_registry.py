"""The value registry of dsnlink.redaction: many secrets, overlapping ones, no partial leak."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsnlink import redaction
from dsnlink.redaction import MASK, redact, redact_text, register_secret, registered_count


@pytest.fixture(params=["prefix-search", "window-scan"], autouse=True)
def scan_strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run each test with both ways of finding registered values in a text."""
    forced = request.param == "prefix-search"
    monkeypatch.setattr(redaction, "_prefix_search_is_cheaper", lambda n, length: forced)
    yield request.param


def test_ten_thousand_registered_secrets_are_each_masked() -> None:
    values = [f"CANARY-bulk-{secrets.token_hex(8)}" for _ in range(10_000)]
    before = registered_count()
    for value in values:
        register_secret(value)
    assert registered_count() == before + len(values)
    # Registering again is a no-op.
    register_secret(values[0])
    assert registered_count() == before + len(values)
    for value in values[::997]:
        line = f"user=x detail='{value}' then {value}."
        out = redact_text(line)
        assert value not in out
        assert out == f"user=x detail='{MASK}' then {MASK}."


def test_longest_value_wins_at_the_same_position() -> None:
    register_secret("Pfx1-short")
    register_secret("Pfx1-short-and-longer")
    assert redact_text("a Pfx1-short-and-longer b") == f"a {MASK} b"
    assert redact_text("a Pfx1-short b") == f"a {MASK} b"


def test_overlapping_secrets_leave_no_fragment() -> None:
    register_secret("ovlpAAAA")
    register_secret("AAAAzzzz")
    out = redact_text("<ovlpAAAAzzzz>")
    assert out == f"<{MASK}>"
    assert "zzzz" not in out and "ovlp" not in out


def test_short_values_are_not_registered() -> None:
    before = registered_count()
    register_secret("abc")
    register_secret("")
    register_secret(None)
    assert registered_count() == before
    assert redact_text("abc") == "abc"


def test_a_secret_with_accents_is_masked_in_utf8_bytes() -> None:
    register_secret("Mot-de-passe-Été-ÀÇ")
    out = redact("login failed: Mot-de-passe-Été-ÀÇ".encode())
    assert "Mot-de-passe-Été-ÀÇ".encode() not in out
    assert out == f"login failed: {MASK}".encode()


def test_bytes_and_nested_values_are_masked() -> None:
    register_secret("Nested-Canary-77")
    assert b"Nested-Canary-77" not in redact(b"raw Nested-Canary-77 raw")
    out = redact({"a": ("x Nested-Canary-77", ["Nested-Canary-77"])})
    assert "Nested-Canary-77" not in repr(out)


@given(prefix=st.text(max_size=20), suffix=st.text(max_size=20), tail=st.text(max_size=30))
def test_a_registered_value_never_survives_in_any_text(prefix: str, suffix: str, tail: str) -> None:
    # A distinctive head: the registry is process-wide, and ordinary words must stay readable
    # in the other tests of this process.
    secret = "HypCanary-" + tail
    register_secret(secret)
    out = redact_text(prefix + secret + suffix)
    assert secret not in out
