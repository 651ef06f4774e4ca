"""The credential linter: every invisible character, copy-pasted values, accents, limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsnlink.connectivity.linter import (
    LIMITS,
    Severity,
    lint_field,
    lint_identity,
    visible,
)

VALID_SIRET = "73282932000074"


def rules(report: object) -> set[str]:
    return {f.rule for f in report.findings}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("char", "rule"),
    [
        ("\u00a0", "non_breaking_space"),
        ("\u202f", "non_breaking_space"),
        ("\u2007", "non_breaking_space"),
        ("\u2009", "non_breaking_space"),
        ("\u3000", "non_breaking_space"),
        ("\u200b", "zero_width"),
        ("\u200c", "zero_width"),
        ("\u200d", "zero_width"),
        ("\u2060", "zero_width"),
        ("\ufeff", "zero_width"),
        ("\u00ad", "zero_width"),
        ("\u200e", "zero_width"),
        ("\t", "tab"),
        ("\n", "line_break"),
        ("\r", "line_break"),
        ("\u2028", "line_break"),
        ("\u2029", "line_break"),
        ("\u0085", "line_break"),
        ("\x00", "control"),
        ("\x1b", "control"),
    ],
)
@pytest.mark.parametrize("field", ["nom", "prenom", "motdepasse"])
def test_each_invisible_character_is_found_shown_and_cleaned(
    char: str, rule: str, field: str
) -> None:
    value = f"DU{char}PONT"
    report = lint_field(field, value)  # type: ignore[arg-type]
    found = [f for f in report.findings if f.rule == rule]
    assert found, report.findings
    assert found[0].severity is Severity.ERROR
    assert found[0].positions == (2,)
    # What will be sent is drawn: the invisible character is visible in the display.
    assert report.visible != "«" + value + "»"
    assert len(report.visible) > len(value) + 2 or char in "\t\n\r\u00a0\u202f"
    # A cleaned value is offered, never applied by itself.
    assert report.cleaned is not None
    assert char not in report.cleaned
    assert report.cleaned in {"DUPONT", "DU PONT"}


def test_values_are_never_changed_silently() -> None:
    report = lint_identity(siret=VALID_SIRET + "\n", nom="DUPONT ", prenom="JEAN\u200b")
    assert report.field("siret").visible == "«" + VALID_SIRET + "↵»"
    assert report.cleaned_values() == {"siret": VALID_SIRET, "nom": "DUPONT", "prenom": "JEAN"}
    assert not report.ok


@pytest.mark.parametrize("ending", ["\n", "\r\n", " \n", "\n\n", "\t"])
def test_copy_pasted_values_with_trailing_newlines(ending: str) -> None:
    report = lint_identity(
        siret=VALID_SIRET + ending,
        nom="MARTIN" + ending,
        prenom="CLAIRE" + ending,
        motdepasse="S3cret-pass" + ending,
    )
    for name in ("siret", "nom", "prenom"):
        field = report.field(name)
        assert "trailing_space" in {f.rule for f in field.findings}
        assert field.cleaned == {"siret": VALID_SIRET, "nom": "MARTIN", "prenom": "CLAIRE"}[name]
    password = report.field("motdepasse")
    assert password.cleaned == "S3cret-pass"
    # The password is never shown: only its suspicious characters are drawn.
    assert "S3cret" not in password.visible
    assert password.visible.startswith("«•••")
    assert "S3cret" not in repr(report) and "S3cret" not in str(report.to_dict())
    if "\n" in ending:
        assert any("saut de ligne" in f.message for f in password.findings)


def test_leading_and_doubled_spaces() -> None:
    report = lint_identity(siret=" " + VALID_SIRET, nom="DE  LA FONTAINE", prenom=" JEAN")
    assert "leading_space" in {f.rule for f in report.field("siret").findings}
    nom = report.field("nom")
    assert [f.rule for f in nom.findings] == ["double_space"]
    assert nom.findings[0].severity is Severity.WARNING
    assert nom.cleaned == "DE LA FONTAINE"
    assert nom.visible == "«DE␣␣LA␣FONTAINE»"


def test_lowercase_is_a_warning_not_an_error() -> None:
    report = lint_identity(siret=VALID_SIRET, nom="Dupont", prenom="JEAN")
    assert report.ok
    [finding] = report.warnings
    assert finding.rule == "lowercase" and finding.field == "nom"
    assert report.field("nom").cleaned is None  # nothing to offer: it can be legitimate


@pytest.mark.parametrize(
    ("previous", "new", "phrase"),
    [
        ("HÉLÈNE", "HELENE", "n'a plus les accents"),
        ("HELENE", "HÉLÈNE", "a des accents que"),
        ("HÉLÈNE", "HÈLÉNE", "pas les mêmes accents"),
    ],
)
def test_accents_compared_with_the_previous_value(previous: str, new: str, phrase: str) -> None:
    report = lint_identity(
        siret=VALID_SIRET, nom="DUPONT", prenom=new, previous={"prenom": previous}
    )
    [finding] = report.findings
    assert finding.rule == "accents_changed"
    assert phrase in finding.message
    assert previous in finding.message and new in finding.message


def test_same_accents_or_another_name_is_not_an_accent_change() -> None:
    same = lint_identity(
        siret=VALID_SIRET, nom="DUPONT", prenom="HÉLÈNE", previous={"prenom": "HÉLÈNE"}
    )
    other = lint_identity(
        siret=VALID_SIRET, nom="DUPONT", prenom="MARIE", previous={"prenom": "HÉLÈNE"}
    )
    assert same.findings == () and other.findings == ()


def test_decomposed_accents_are_found_and_composed() -> None:
    report = lint_field("prenom", "HE\u0301LE\u0300NE")
    assert "decomposed_accent" in {f.rule for f in report.findings}
    assert report.cleaned == "HÉLÈNE"
    assert "⟨U+0301⟩" in report.visible


def test_accents_themselves_are_fine() -> None:
    assert lint_field("nom", "LEFÈVRE-ÇÀÏÔ").findings == ()


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [("D\u2019ARC", "D'ARC"), ("SAINT\u2013JEAN", "SAINT-JEAN"), ("C\u0152UR", "COEUR")],
)
def test_characters_outside_latin1(value: str, cleaned: str) -> None:
    report = lint_field("nom", value)
    [finding] = report.findings
    assert finding.rule == "outside_latin1" and finding.severity is Severity.ERROR
    assert report.cleaned == cleaned


def test_cyrillic_lookalike_is_outside_latin1_and_not_cleaned() -> None:
    report = lint_field("nom", "DUPОNT")  # the О is Cyrillic
    assert rules(lint_identity(siret=VALID_SIRET, nom="DUPОNT", prenom="A")) >= {"outside_latin1"}
    assert report.cleaned is None


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("7328293200007", "siret_length"),
        ("732829320000745", "siret_length"),
        ("73282932000075", "siret_key"),
        ("7328293200007A", "siret_not_digits"),
        ("", "missing"),
    ],
)
def test_siret_errors(value: str, rule: str) -> None:
    assert rule in {f.rule for f in lint_field("siret", value).findings}


def test_siret_with_separators_is_offered_in_14_digits() -> None:
    report = lint_field("siret", "732 829 320 00074")
    assert {f.rule for f in report.findings} == {"siret_separators"}
    assert report.cleaned == VALID_SIRET


def test_la_poste_siret_follows_its_own_key() -> None:
    assert lint_field("siret", "35600000000048").findings == ()


@pytest.mark.parametrize("field", ["nom", "prenom", "motdepasse"])
def test_fields_over_the_api_limits(field: str) -> None:
    limit = LIMITS[field]
    assert lint_field(field, "A" * limit).findings == () or field != "motdepasse"  # type: ignore[arg-type]
    too_long = lint_field(field, "A" * (limit + 1))  # type: ignore[arg-type]
    assert "too_long" in {f.rule for f in too_long.findings}
    assert str(limit) in next(f for f in too_long.findings if f.rule == "too_long").message


def test_visible_form() -> None:
    assert visible("A B\u00a0C\tD\n") == "«A␣B⍽C⇥D↵»"
    assert visible("ab c", secret=True) == "«••␣•»"


@given(st.text(max_size=40))
def test_lint_never_crashes_and_cleaned_is_clean(value: str) -> None:
    for field in ("siret", "nom", "prenom", "motdepasse"):
        report = lint_field(field, value)  # type: ignore[arg-type]
        if report.cleaned is not None and field != "motdepasse":
            again = lint_field(field, report.cleaned)  # type: ignore[arg-type]
            assert not {"leading_space", "trailing_space", "zero_width", "line_break", "tab"} & {
                f.rule for f in again.findings
            }
