"""Deposits: what is sent, AEE and ARE (official samples), and the never-resent POST."""

from __future__ import annotations

import asyncio
import gzip
import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from dsnlink.errors import (
    BadRequest,
    ConnectError,
    ConnectionLost,
    DepositFateUnknown,
    InvalidInput,
    NetworkTimeout,
    ServiceUnavailable,
)
from dsnlink.portal import AsyncPortalClient, PortalClient, PortalIdentity
from dsnlink.portal.listings import PARIS
from tests.unit.portal.fake import OPTIONS, FakePortal, config, raising, token_answer, xml

DSN = (
    "S10.G00.00.001,'dsnlink'\nS10.G00.00.005,'01'\nS20.G00.05.001,'01'\nS21.G00.30.002,'Hélène'\n"
)


@pytest.fixture
def samples(reference_dir: Path) -> Path:
    return reference_dir / "gipmds-returns"


def portal(*deposit_answers: httpx.Response | object) -> FakePortal:
    return FakePortal().on("/authentifier/", token_answer()).on("/deposer-dsn/", *deposit_answers)  # type: ignore[arg-type]


def run(fake: FakePortal, identity: PortalIdentity, dsn: bytes | str = DSN, **kw: object) -> object:
    with PortalClient(config(), OPTIONS, transport=fake.transport()) as c:
        return c.deposit(c.authenticate(identity), dsn, **kw)  # type: ignore[arg-type]


def test_official_aee_gives_an_accepted_result(identity: PortalIdentity, samples: Path) -> None:
    aee = (samples / "exemple_retour_10_AEE.xml").read_bytes()
    fake = portal(xml(200, aee))
    result = run(fake, identity)
    assert result.accepted and result.state == "accepted"  # type: ignore[attr-defined]
    assert result.idflux == "WSaah7AQlUpYL5RsQssseG."  # type: ignore[attr-defined]
    assert result.received_at == datetime(2015, 2, 10, 11, 2, 59, tzinfo=PARIS)  # type: ignore[attr-defined]
    assert result.test is False  # type: ignore[attr-defined]
    assert result.anomalies == ()  # type: ignore[attr-defined]
    assert result.report == aee  # type: ignore[attr-defined]


def test_official_are_gives_a_rejected_result(identity: PortalIdentity, samples: Path) -> None:
    are = (samples / "exemple_retour_10_ARE.xml").read_bytes()
    result = run(portal(xml(422, are)), identity)
    assert result.state == "rejected"  # type: ignore[attr-defined]
    assert result.idflux == "UR5WJEBA5T74R4jNmCgvm1F"  # type: ignore[attr-defined]
    [anomaly] = result.anomalies  # type: ignore[attr-defined]
    assert anomaly.code == "B1-105-15"
    assert anomaly.message.startswith("Le format du fichier depot_mtom")


def test_request_is_latin1_gzip_with_the_required_headers(
    identity: PortalIdentity, samples: Path
) -> None:
    fake = portal(xml(200, (samples / "exemple_retour_10_AEE.xml").read_bytes()))
    run(fake, identity, version="2.0")
    request = fake.seen[-1]
    assert request.method == "POST"
    assert request.url.path == "/deposer-dsn/2.0/"
    assert request.headers["content-type"] == "text/plain"
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["accept-encoding"] == "gzip"
    assert request.headers["authorization"].startswith("DSNLogin jeton=")
    assert gzip.decompress(fake.bodies[-1]) == DSN.encode("iso-8859-1")


def test_json_acknowledgement_is_read(identity: PortalIdentity) -> None:
    body = {
        "rapport": {
            "type": "ARE",
            "envoi": {
                "envoi_identification": {"idflux": "JJJJJJJJJJJJJJJJJJJJJJ1"},
                "envoi_bilan": {"envoi_etat": "KO"},
                "envoi_anomalie": [{"description": {"code": "B1-1", "message": "Non."}}],
            },
        }
    }
    answer = httpx.Response(422, json=body)
    result = run(portal(answer), identity, version="2.0")
    assert result.idflux == "JJJJJJJJJJJJJJJJJJJJJJ1"  # type: ignore[attr-defined]
    assert result.state == "rejected"  # type: ignore[attr-defined]
    assert [(a.code, a.message) for a in result.anomalies] == [("B1-1", "Non.")]  # type: ignore[attr-defined]
    assert json.loads(result.report)["rapport"]["type"] == "ARE"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (raising(httpx.ReadTimeout("slow")), DepositFateUnknown),
        (raising(httpx.RemoteProtocolError("reset")), DepositFateUnknown),
        (raising(httpx.ReadError("reset")), DepositFateUnknown),
        (raising(httpx.WriteTimeout("slow")), DepositFateUnknown),
        (httpx.Response(500), DepositFateUnknown),
        (httpx.Response(502), DepositFateUnknown),
        (httpx.Response(200, content=b"<rapport><tronqu"), DepositFateUnknown),
        (raising(httpx.ConnectError("refused")), ConnectError),
        (raising(httpx.ConnectTimeout("slow")), NetworkTimeout),
        (httpx.Response(503), ServiceUnavailable),
        (httpx.Response(422), BadRequest),
        (httpx.Response(415), Exception),
    ],
)
def test_a_deposit_is_never_sent_twice(
    identity: PortalIdentity, answer: object, error: type[Exception]
) -> None:
    fake = portal(answer)
    with pytest.raises(error) as caught:
        run(fake, identity)
    assert fake.count("/deposer-dsn/") == 1
    if error is DepositFateUnknown:
        assert "liste des dépôts" in (caught.value.remedy or "") or caught.value.message


def test_reset_after_sending_is_fate_unknown_not_connection_lost(identity: PortalIdentity) -> None:
    with pytest.raises(DepositFateUnknown) as caught:
        run(portal(raising(httpx.ReadError("reset"))), identity)
    assert isinstance(caught.value.__cause__, ConnectionLost)


@pytest.mark.parametrize(
    ("dsn", "reason"),
    [
        ("", "vide"),
        ("S10.G00.00.001,'x'\nS21.G00.30.002,'😀'\n", "ISO-8859-1"),
        (b"S10.G00.00.001,'x'\nS20.G00.05.001,'01'\nS20.G00.05.001,'01'\n", "plusieurs"),
    ],
)
def test_unsendable_files_are_refused_before_any_call(
    identity: PortalIdentity, dsn: bytes | str, reason: str
) -> None:
    fake = portal(httpx.Response(200))
    with pytest.raises(InvalidInput) as caught:
        run(fake, identity, dsn)
    assert reason in caught.value.message
    assert fake.count("/deposer-dsn/") == 0


def test_async_deposit(identity: PortalIdentity, samples: Path) -> None:
    aee = (samples / "exemple_retour_10_AEE.xml").read_bytes()
    fake = portal(xml(200, aee))

    async def main() -> object:
        async with AsyncPortalClient(config(), OPTIONS, transport=fake.async_transport()) as c:
            return await c.deposit(await c.authenticate(identity), DSN)

    assert asyncio.run(main()).idflux == "WSaah7AQlUpYL5RsQssseG."  # type: ignore[attr-defined]


def test_async_deposit_timeout_is_fate_unknown(identity: PortalIdentity) -> None:
    fake = portal(raising(httpx.ReadTimeout("slow")))

    async def main() -> None:
        async with AsyncPortalClient(config(), OPTIONS, transport=fake.async_transport()) as c:
            await c.deposit(await c.authenticate(identity), DSN)

    with pytest.raises(DepositFateUnknown):
        asyncio.run(main())
    assert fake.count("/deposer-dsn/") == 1
