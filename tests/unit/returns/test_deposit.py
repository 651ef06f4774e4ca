"""The deposit's answer, as the API-DSN client reads it: AEE (200) or ARE (422), XML or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest

from dsnlink.errors import ReturnParseError, UnsafeXml
from dsnlink.returns import parse_deposit_report
from dsnlink.returns.build import build_aee, build_are

Sample = Callable[[str], bytes]


def test_aee_sample(sample: Sample) -> None:
    report = parse_deposit_report(sample("exemple_retour_10_AEE.xml"))
    assert report.accepted
    assert report.idflux == "WSaah7AQlUpYL5RsQssseG."


def test_are_sample(sample: Sample) -> None:
    report = parse_deposit_report(sample("exemple_retour_10_ARE.xml"))
    assert not report.accepted
    assert [a.code for a in report.anomalies] == ["B1-105-15"]


def test_built_answers() -> None:
    assert parse_deposit_report(build_aee(idflux="A" * 23, emitter_siret="1")).accepted
    are = parse_deposit_report(build_are(idflux="B" * 23, emitter_siret="1"))
    assert not are.accepted and are.idflux == "B" * 23


def test_other_return_is_not_a_deposit_answer(sample: Sample) -> None:
    with pytest.raises(ReturnParseError) as caught:
        parse_deposit_report(sample("exemple_retour_11_CCO.xml"))
    assert "ni un accusé" in caught.value.message


def test_aee_without_idflux_is_refused(sample: Sample) -> None:
    data = sample("exemple_retour_10_AEE.xml").replace(
        b"<idflux>WSaah7AQlUpYL5RsQssseG.</idflux>", b""
    )
    with pytest.raises(ReturnParseError) as caught:
        parse_deposit_report(data)
    assert "idflux" in caught.value.message


def test_hostile_body_refused() -> None:
    with pytest.raises(UnsafeXml):
        parse_deposit_report(b'<!DOCTYPE r [<!ENTITY a "b">]><r/>')


@pytest.mark.parametrize(
    "body",
    [
        # The XML structure spelled in JSON, as a 2.0 path might answer.
        {
            "rapport": {
                "type": "AEE",
                "envoi": {
                    "envoi_identification": {
                        "idflux": "WSaah7AQlUpYL5RsQssseG.",
                        "date_reception": "2015-02-10",
                        "heure_reception": "11:02:59",
                        "essai_reel": "02",
                    },
                    "envoi_bilan": {"envoi_etat": "OK"},
                },
            }
        },
        # A flat form.
        {"IdFlux": "WSaah7AQlUpYL5RsQssseG.", "etat": "OK", "date_reception": "2015-02-10"},
    ],
)
def test_json_aee(body: dict[str, object]) -> None:
    report = parse_deposit_report(json.dumps(body).encode())
    assert report.accepted
    assert report.idflux == "WSaah7AQlUpYL5RsQssseG."
    assert report.envoi.reception_date == date(2015, 2, 10)


def test_json_are_with_anomalies() -> None:
    body = {
        "type": "ARE",
        "envoi": {
            "idflux": "UR5WJEBA5T74R4jNmCgvm1F",
            "envoi_anomalie": [
                {"description": {"code": "B1-105-15", "message": "Format non  reconnu."}}
            ],
        },
    }
    report = parse_deposit_report(json.dumps(body).encode())
    assert not report.accepted
    assert report.state == "KO"
    assert [(a.code, a.message) for a in report.anomalies] == [("B1-105-15", "Format non reconnu.")]


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b'{"foo": "bar"}', b'{"type": "CCO"}'])
def test_unusable_json(body: bytes) -> None:
    with pytest.raises(ReturnParseError):
        parse_deposit_report(body)
