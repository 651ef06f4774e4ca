"""Hostile and broken XML: refused with a clear French error, never anything else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dsnlink.errors import ReturnParseError, UnsafeXml
from dsnlink.returns import DepositReport, PasRateReport, parse, parse_deposit_report

Sample = Callable[[str], bytes]

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE gipmds:rapport [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<gipmds:rapport xmlns:gipmds="http://www.gip-mds.fr/" type="AEE" profil="DSN">
<envoi><envoi_identification><idflux>&secret;</idflux></envoi_identification></envoi>
</gipmds:rapport>"""

XXE_NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><r/>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<gipmds:rapport xmlns:gipmds="http://www.gip-mds.fr/" type="AEE" profil="DSN">
&lol9;</gipmds:rapport>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x"> %p;]><r/>"""


@pytest.mark.parametrize(
    "data",
    [
        XXE_FILE,
        XXE_NETWORK,
        BILLION_LAUGHS,
        PARAMETER_ENTITY,
        # The same in UTF-16, where the markers are not ASCII bytes.
        BILLION_LAUGHS.decode()
        .replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
        .encode("utf-16"),
        b"\xef\xbb\xbf" + XXE_FILE,
    ],
    ids=["xxe-file", "xxe-network", "billion-laughs", "parameter-entity", "utf16", "bom"],
)
def test_dtd_and_entities_are_refused(data: bytes) -> None:
    with pytest.raises(UnsafeXml) as caught:
        parse(data)
    error = caught.value
    assert "DTD" in error.message
    assert "refusé" in error.message
    assert error.remedy and "provenance" in error.remedy
    assert error.code == "returns.unsafe_xml"


def test_unsafe_is_a_parse_error() -> None:
    # Callers that catch ReturnParseError also catch the hostile case.
    assert issubclass(UnsafeXml, ReturnParseError)


def test_utf8_bom_accepted(sample: Sample) -> None:
    document = parse(b"\xef\xbb\xbf" + sample("exemple_retour_10_AEE.xml"))
    assert isinstance(document, DepositReport)
    assert document.idflux == "WSaah7AQlUpYL5RsQssseG."


def test_any_prefix_and_qualified_children(sample: Sample) -> None:
    data = sample("Exemple-94-DGFIP-crm-nominatif.xml")
    renamed = data.replace(b"gipmds:", b"x:").replace(b"xmlns:gipmds", b"xmlns:x")
    assert parse(renamed) == parse(data)
    # A default namespace makes every descendant qualified: still read by local name.
    default = data.replace(b"gipmds:", b"").replace(b"xmlns:gipmds", b"xmlns")
    crm = parse(default)
    assert isinstance(crm, PasRateReport)
    assert [str(e.rate) for e in crm.employees] == ["14.00"]


def test_latin1_declared_encoding(sample: Sample) -> None:
    data = sample("exemple_retour_11_CCO.xml").decode("utf-8")
    data = data.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    document = parse(data.encode("latin-1"))
    assert document.envoi.software_editor == "génielog"


def test_broken_xml_gives_line_and_column(sample: Sample) -> None:
    data = sample("exemple_retour_10_AEE.xml")
    with pytest.raises(ReturnParseError) as caught:
        parse(data[: len(data) // 2])
    error = caught.value
    assert not isinstance(error, UnsafeXml)
    assert error.context["line"] > 1
    assert error.context["column"] >= 0
    assert f"ligne {error.context['line']}" in error.message
    assert "bien formé" in error.message


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "vide"),
        (b"\xef\xbb\xbf  \n", "vide"),
        (b"<foo/>", "racine"),
        (b'<r:rapport xmlns:r="http://example.org/"/>', "racine"),
        (b"not xml at all", "bien formé"),
        (b'<?xml version="1.0" encoding="bogus"?><a/>', "bien formé"),
        (b"<a>&undefined;</a>", "bien formé"),
    ],
)
def test_unreadable_inputs(data: bytes, words: str) -> None:
    with pytest.raises(ReturnParseError) as caught:
        parse(data)
    assert words in caught.value.message


def test_text_instead_of_bytes() -> None:
    with pytest.raises(ReturnParseError):
        parse("<rapport/>")  # type: ignore[arg-type]
    with pytest.raises(ReturnParseError):
        parse_deposit_report("<rapport/>")  # type: ignore[arg-type]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReturnParseError) as caught:
        parse(tmp_path / "absent.xml")
    assert "ne peut pas être lu" in caught.value.message


def test_unknown_elements_are_tolerated(sample: Sample) -> None:
    data = sample("Exemple-94-DGFIP-crm-nominatif.xml")
    extended = data.replace(
        b"<salarie>", b"<salarie><nouveau_champ a='1'><x>y</x></nouveau_champ><!-- c -->", 1
    ).replace(b"<envoi>", b"<envoi><inconnu/>", 1)
    # An element of another namespace is unknown too, even when its name is one of ours.
    extended = extended.replace(
        b"<matricule>", b'<x:matricule xmlns:x="urn:other">X</x:matricule><matricule>', 1
    )
    assert parse(extended) == parse(data)


def test_unreadable_values_become_warnings(sample: Sample) -> None:
    data = sample("Exemple-94-DGFIP-crm-nominatif.xml").replace(b"14.00", b"NaN")
    data = data.replace(b"<rang>7</rang>", b"<rang>sept</rang>")
    data = data.replace(b'identifiant="123456789123456789"', b'identifiant="12AB"')
    crm = parse(data)
    assert isinstance(crm, PasRateReport)
    assert crm.employees[0].rate is None
    assert crm.declarations[0].rank is None
    assert len(crm.warnings) == 3
    assert any("NaN" in w and "taux_imposition_PAS" in w for w in crm.warnings)
    assert any("12AB" in w for w in crm.warnings)
