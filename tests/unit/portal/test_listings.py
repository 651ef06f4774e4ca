"""Listings: XML and JSON shapes, window stepping, 429, retries, downloads."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from dsnlink.errors import (
    ConnectError,
    ConnectionLost,
    InvalidInput,
    PortalNotFound,
    ProtocolError,
    WindowTooWide,
    WrongCredentials,
)
from dsnlink.portal import AsyncPortalClient, PortalClient, PortalIdentity
from dsnlink.portal.listings import PARIS
from tests.unit.portal.fake import (
    BASE,
    OPTIONS,
    FakePortal,
    config,
    raising,
    token_answer,
    unauthorized,
    xml,
)

IDFLUX = "AAAAAAAAAAAAAAAAAAAAAA1"
RETURNS_XML = f"""<retours><flux><id>{IDFLUX}</id>
<retour><publication>20260105101500</publication><production>20260105101000</production>
<nature>10</nature><statut>OK</statut><id>R1</id><url>{BASE}/telecharger-retour/1.0/{IDFLUX}/R1</url></retour>
<retour><publication>20260108090000</publication><production>20260108085900</production>
<nature>94</nature><statut>OK</statut><id>R2</id><url>{BASE}/telecharger-retour/1.0/{IDFLUX}/R2</url>
<ops>DGFIP</ops></retour></flux></retours>"""
RETOUR_1 = {
    "publication": "20260105101500",
    "production": "20260105101000",
    "nature": "10",
    "statut": "OK",
    "id": "R1",
    "url": f"{BASE}/telecharger-retour/1.0/{IDFLUX}/R1",
}
DEPOSITS_XML = f"""<depots><declarant><siret>99900000300015</siret><nom>declarant</nom>
<prenom>declarant</prenom><depot><idflux>{IDFLUX}</idflux><date>20260105100000</date>
<statut>OK</statut></depot><depot><idflux>BBBBBBBBBBBBBBBBBBBBBB2</idflux>
<date>20260105103000</date><statut>KO</statut></depot></declarant></depots>"""


def client(fake: FakePortal, **overrides: object) -> PortalClient:
    fake.routes.setdefault("/authentifier/", [token_answer()])
    return PortalClient(config(**overrides), OPTIONS, transport=fake.transport())


def flow_returns(fake: FakePortal, identity: PortalIdentity) -> list[object]:
    with client(fake) as c:
        return list(c.list_flow_returns(c.authenticate(identity), IDFLUX))


def test_returns_of_a_flow_from_xml(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/lister-retours-flux/", xml(200, RETURNS_XML))
    first, second = flow_returns(fake, identity)
    assert fake.paths("/lister")[0] == f"/lister-retours-flux/1.0/{IDFLUX}"
    assert first.return_id == "R1" and first.nature == "10" and first.status == "OK"  # type: ignore[attr-defined]
    assert first.published_at == datetime(2026, 1, 5, 10, 15, tzinfo=PARIS)  # type: ignore[attr-defined]
    assert second.ops == "DGFIP" and second.nature == "94"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "document",
    [
        {"flux": [{"id": IDFLUX, "Retour": [RETOUR_1]}]},  # GIP-MDS's mock
        {"retours": {"flux": [{"id": IDFLUX, "retour": [RETOUR_1]}]}},  # sister API client
        {"retours": {"flux": {"id": IDFLUX, "retour": RETOUR_1}}},  # single elements as objects
        {"FLUX": {"ID": IDFLUX, "RETOUR": RETOUR_1}},
    ],
)
def test_every_json_shape_gives_the_same_records(
    identity: PortalIdentity, document: object
) -> None:
    xml_records = flow_returns(
        FakePortal().on("/lister-retours-flux/", xml(200, RETURNS_XML)), identity
    )
    fake = FakePortal().on(
        "/lister-retours-flux/", httpx.Response(200, content=json.dumps(document).encode())
    )
    assert flow_returns(fake, identity) == xml_records[:1]


@pytest.mark.parametrize("body", [b"<retours></retours>", b"<retours/>", b"", b'{"flux": []}'])
def test_empty_listing(identity: PortalIdentity, body: bytes) -> None:
    fake = FakePortal().on("/lister-retours-flux/", httpx.Response(200, content=body))
    assert flow_returns(fake, identity) == []


def test_unknown_flow_is_not_found_and_not_retried(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/lister-retours-flux/", httpx.Response(404))
    with pytest.raises(PortalNotFound):
        flow_returns(fake, identity)
    assert fake.count("/lister") == 1


def test_bad_idflux_is_refused_before_any_call(identity: PortalIdentity) -> None:
    fake = FakePortal()
    with client(fake) as c, pytest.raises(InvalidInput):
        c.list_flow_returns(c.authenticate(identity), "../../etc")
    assert fake.count("/lister") == 0


def test_gets_are_retried_on_5xx_and_broken_answers(identity: PortalIdentity) -> None:
    fake = FakePortal().on(
        "/lister-retours-flux/",
        httpx.Response(503),
        httpx.Response(200, content=b"<retours><flux><id>X</id><ret"),
        xml(200, RETURNS_XML),
    )
    assert len(flow_returns(fake, identity)) == 2
    assert fake.count("/lister") == 3


def test_gets_are_retried_on_network_errors_then_give_up(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/lister-retours-flux/", raising(httpx.ConnectError("refused")))
    with pytest.raises(ConnectError):
        flow_returns(fake, identity)
    assert fake.count("/lister") == 3


def test_malformed_listing_after_retries_is_a_protocol_error(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/lister-retours-flux/", httpx.Response(200, content=b"<retours>"))
    with pytest.raises(ProtocolError):
        flow_returns(fake, identity)
    assert fake.count("/lister") == 3


def test_credential_refusal_on_a_get_is_never_retried(identity: PortalIdentity) -> None:
    fake = (
        FakePortal()
        .on("/authentifier/", token_answer(), unauthorized("net-entreprises.fr"))
        .on("/lister-retours-flux/", unauthorized("Jeton manquant ou invalide", "DSNLogin"))
    )
    with pytest.raises(WrongCredentials):
        flow_returns(fake, identity)
    assert fake.count("/authentifier/") == 2
    assert fake.count("/lister") == 1


def test_deposit_listing_steps_60_minute_windows(identity: PortalIdentity) -> None:
    fake = FakePortal().on(
        "/lister-depots/",
        xml(200, DEPOSITS_XML, **{"Accept-Ranges": "minutes=0-60"}),
    )
    start = datetime(2026, 1, 5, 9, 0, tzinfo=PARIS)
    end = datetime(2026, 1, 5, 12, 30, tzinfo=PARIS)
    with client(fake) as c:
        records = c.list_deposits(c.authenticate(identity), start, end)
    assert fake.paths("/lister") == [
        "/lister-depots/1.0/20260105090000/20260105100000",
        "/lister-depots/1.0/20260105100000/20260105110000",
        "/lister-depots/1.0/20260105110000/20260105120000",
        "/lister-depots/1.0/20260105120000/20260105123000",
    ]
    # The same deposits listed by every window are kept once.
    assert [(r.idflux, r.status) for r in records] == [
        (IDFLUX, "OK"),
        ("BBBBBBBBBBBBBBBBBBBBBB2", "KO"),
    ]
    assert records[0].siret == "99900000300015"


def test_open_end_leaves_the_last_bound_to_the_server(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/lister-retours-declarant/", xml(200, "<retours></retours>"))
    with client(fake) as c:
        c.list_declarant_returns(
            c.authenticate(identity), datetime.now(PARIS).replace(microsecond=0)
        )
    [path] = fake.paths("/lister")
    assert path.count("/") == 3  # /lister-retours-declarant/1.0/<start>


def test_429_shrinks_to_the_announced_window(identity: PortalIdentity) -> None:
    narrow = {"Accept-Ranges": "minutes=0-30"}
    fake = FakePortal().on(
        "/lister-retours-declarant/",
        httpx.Response(429, headers=narrow),
        xml(200, RETURNS_XML, **narrow),
    )
    start = datetime(2026, 1, 5, 9, 0)  # naive: taken as Paris time
    with client(fake) as c:
        records = c.list_declarant_returns(
            c.authenticate(identity), start, datetime(2026, 1, 5, 10, 0)
        )
    assert fake.paths("/lister") == [
        "/lister-retours-declarant/1.0/20260105090000/20260105100000",
        "/lister-retours-declarant/1.0/20260105090000/20260105093000",
        "/lister-retours-declarant/1.0/20260105093000/20260105100000",
    ]
    assert len(records) == 2


def test_429_without_a_narrower_window_is_window_too_wide(identity: PortalIdentity) -> None:
    fake = FakePortal().on(
        "/lister-retours-declarant/",
        httpx.Response(429, headers={"Accept-Ranges": "minutes=0-60"}),
    )
    with client(fake) as c, pytest.raises(WindowTooWide) as caught:
        c.list_declarant_returns(
            c.authenticate(identity), datetime(2026, 1, 5, 9), datetime(2026, 1, 5, 10)
        )
    assert caught.value.allowed_minutes == 60
    assert "60 minutes" in (caught.value.remedy or "")
    assert fake.count("/lister") == 1


def test_a_429_without_window_hint_is_rate_limiting_not_a_window() -> None:
    """Sans I/O: only a 429 naming the allowed window (Accept-Ranges) is about the window."""
    from dsnlink.errors import RateLimited
    from dsnlink.portal.answers import MAX_WAIT_IN_PLACE, error_for, retry_wait
    from dsnlink.portal.wire import Answer

    bare = error_for(Answer(429), call="list_deposits")
    assert isinstance(bare, RateLimited) and bare.retry_after is None
    assert bare.code == "portal.rate_limited" and bare.retryable
    waited = error_for(Answer(429, {"retry-after": "7"}), call="list_deposits")
    assert isinstance(waited, RateLimited) and waited.retry_after == 7
    dated = Answer(
        429,
        {"retry-after": "Fri, 27 Nov 2026 08:01:30 GMT", "date": "Fri, 27 Nov 2026 08:00:00 GMT"},
    )
    assert error_for(dated, call="list_deposits").context["retry_after_seconds"] == 90
    garbled = error_for(Answer(429, {"retry-after": "bientôt"}), call="list_deposits")
    assert isinstance(garbled, RateLimited) and garbled.retry_after is None
    hinted = error_for(Answer(429, {"accept-ranges": "minutes=0-60"}), call="list_deposits")
    assert isinstance(hinted, WindowTooWide) and hinted.allowed_minutes == 60
    # The wait: what the portal asked when short, stamina's backoff when it said nothing,
    # no retry in place when longer (the caller comes back later), never for a window.
    assert retry_wait(waited) == 7.0
    assert retry_wait(bare) is True
    too_long = RateLimited(status=429, retry_after_seconds=int(MAX_WAIT_IN_PLACE) + 1)
    assert retry_wait(too_long) is False
    assert retry_wait(hinted) is False


def test_a_rate_limited_deposit_listing_is_asked_again_for_the_same_window(
    identity: PortalIdentity,
) -> None:
    fake = FakePortal().on(
        "/lister-depots/",
        httpx.Response(429, headers={"Retry-After": "1"}),
        xml(200, DEPOSITS_XML, **{"Accept-Ranges": "minutes=0-60"}),
    )
    with client(fake) as c:
        records = c.list_deposits(
            c.authenticate(identity), datetime(2026, 1, 5, 9), datetime(2026, 1, 5, 10)
        )
    assert len(records) == 2
    assert fake.paths("/lister") == ["/lister-depots/1.0/20260105090000/20260105100000"] * 2


def test_the_window_width_is_a_setting(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/lister-depots/", xml(200, "<depots></depots>"))
    with client(fake, window_minutes=180) as c:
        c.list_deposits(c.authenticate(identity), datetime(2026, 1, 5), datetime(2026, 1, 5, 6))
    assert fake.count("/lister") == 2


def test_three_days_take_72_calls(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/lister-retours-declarant/", xml(200, "<retours></retours>"))
    with client(fake) as c:
        c.list_declarant_returns(
            c.authenticate(identity), datetime(2026, 1, 1), datetime(2026, 1, 4)
        )
    assert fake.count("/lister") == 72


def test_async_listings(identity: PortalIdentity) -> None:
    fake = (
        FakePortal()
        .on("/authentifier/", token_answer())
        .on("/lister-retours-flux/", xml(200, RETURNS_XML))
        .on("/lister-depots/", httpx.Response(503), xml(200, DEPOSITS_XML))
    )

    async def main() -> tuple[int, int]:
        async with AsyncPortalClient(config(), OPTIONS, transport=fake.async_transport()) as c:
            token = await c.authenticate(identity)
            flows = await c.list_flow_returns(token, IDFLUX)
            deposits = await c.list_deposits(
                token, datetime(2026, 1, 5, 9), datetime(2026, 1, 5, 10)
            )
            return len(flows), len(deposits)

    assert asyncio.run(main()) == (2, 2)
    assert fake.count("/lister-depots/") == 2


# --- downloads ------------------------------------------------------------------------------

CRM = b"<rapport type='CRM nominatif'>" + b"x" * 100_000 + b"</rapport>"
URL = f"{BASE}/telecharger-retour/1.0/{IDFLUX}/R2"


def test_download_streams_to_the_file(identity: PortalIdentity, tmp_path: Path) -> None:
    fake = FakePortal().on("/telecharger-retour/", xml(200, CRM))
    dest = tmp_path / "returns" / "R2.xml"
    with client(fake) as c:
        got = c.download(c.authenticate(identity), URL, dest)
    assert dest.read_bytes() == CRM
    assert got.size == len(CRM) and got.content_type == "application/xml"
    assert [p.name for p in dest.parent.iterdir()] == ["R2.xml"]
    assert fake.seen[-1].headers["authorization"].startswith("DSNLogin jeton=")


def test_failed_download_keeps_the_previous_file(identity: PortalIdentity, tmp_path: Path) -> None:
    dest = tmp_path / "R2.xml"
    dest.write_bytes(b"previous copy")
    fake = FakePortal().on("/telecharger-retour/", httpx.Response(404))
    with client(fake) as c, pytest.raises(PortalNotFound):
        c.download(c.authenticate(identity), URL, dest)
    assert dest.read_bytes() == b"previous copy"
    assert [p.name for p in tmp_path.iterdir()] == ["R2.xml"]
    assert fake.count("/telecharger") == 1


class _BrokenStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __iter__(self):  # type: ignore[no-untyped-def]
        yield b"<rapport>partial"
        raise httpx.ReadError("connection reset")

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield b"<rapport>partial"
        raise httpx.ReadError("connection reset")


def test_cut_download_leaves_no_partial_file(identity: PortalIdentity, tmp_path: Path) -> None:
    fake = FakePortal().on(
        "/telecharger-retour/", lambda r: httpx.Response(200, stream=_BrokenStream())
    )
    with client(fake) as c, pytest.raises(ConnectionLost):
        c.download(c.authenticate(identity), URL, tmp_path / "R2.xml")
    assert list(tmp_path.iterdir()) == []
    assert fake.count("/telecharger") == 3  # a GET: retried


def test_token_is_never_sent_to_a_foreign_host(identity: PortalIdentity, tmp_path: Path) -> None:
    fake = FakePortal().on("/", httpx.Response(200, content=b"x"))
    with client(fake) as c, pytest.raises(InvalidInput):
        c.download(c.authenticate(identity), "https://evil.example/steal", tmp_path / "x")
    assert fake.count("/steal") == 0


def test_relative_download_url_is_joined_to_the_portal(
    identity: PortalIdentity, tmp_path: Path
) -> None:
    fake = FakePortal().on("/telecharger-retour/", httpx.Response(200, content=b"ok"))
    with client(fake) as c:
        c.download(c.authenticate(identity), f"/telecharger-retour/1.0/{IDFLUX}/R1", tmp_path / "a")
    assert str(fake.seen[-1].url) == f"{BASE}/telecharger-retour/1.0/{IDFLUX}/R1"


def test_async_download(identity: PortalIdentity, tmp_path: Path) -> None:
    fake = (
        FakePortal().on("/authentifier/", token_answer()).on("/telecharger-retour/", xml(200, CRM))
    )

    async def main() -> int:
        async with AsyncPortalClient(config(), OPTIONS, transport=fake.async_transport()) as c:
            got = await c.download(await c.authenticate(identity), URL, tmp_path / "R2.xml")
            return got.size

    assert asyncio.run(main()) == len(CRM)
    assert (tmp_path / "R2.xml").read_bytes() == CRM


def test_fetch_keeps_the_return_in_memory(identity: PortalIdentity, tmp_path: Path) -> None:
    fake = FakePortal().on("/telecharger-retour/", xml(200, CRM))
    with client(fake) as c:
        assert c.fetch(c.authenticate(identity), URL) == CRM
    assert fake.seen[-1].headers["authorization"].startswith("DSNLogin jeton=")


def test_fetch_errors_are_those_of_a_download(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/telecharger-retour/", httpx.Response(404))
    with client(fake) as c, pytest.raises(PortalNotFound):
        c.fetch(c.authenticate(identity), URL)
    cut = FakePortal().on(
        "/telecharger-retour/", lambda r: httpx.Response(200, stream=_BrokenStream())
    )
    with client(cut) as c, pytest.raises(ConnectionLost):
        c.fetch(c.authenticate(identity), URL)
    assert cut.count("/telecharger") == 3  # a GET: retried
    with client(fake) as c, pytest.raises(InvalidInput):
        c.fetch(c.authenticate(identity), "https://evil.example/steal")
    assert fake.count("/steal") == 0


def test_async_fetch(identity: PortalIdentity) -> None:
    fake = (
        FakePortal().on("/authentifier/", token_answer()).on("/telecharger-retour/", xml(200, CRM))
    )

    async def main() -> bytes:
        async with AsyncPortalClient(config(), OPTIONS, transport=fake.async_transport()) as c:
            return await c.fetch(await c.authenticate(identity), URL)

    assert asyncio.run(main()) == CRM
