"""Logins: the request, the token, the errors, and the never-twice rule for bad credentials."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from dsnlink.errors import (
    AccountLocked,
    BadRequest,
    InvalidInput,
    NotRegisteredForDsn,
    PasswordExpired,
    ProxyError,
    RequestRefused,
    ServiceUnavailable,
    TokenRejected,
    WrongCredentials,
)
from dsnlink.portal import AsyncPortalClient, PortalClient, PortalIdentity
from dsnlink.portal.wire import USER_AGENT
from tests.unit.portal.conftest import PASSWORD
from tests.unit.portal.fake import (
    OPTIONS,
    TOKEN,
    FakePortal,
    config,
    token_answer,
    unauthorized,
    xml,
)

AEE = (
    '<rapport xmlns="http://www.gip-mds.fr/" type="AEE"><envoi><envoi_identification>'
    "<idflux>AAAAAAAAAAAAAAAAAAAAAA1</idflux><date_reception>2026-01-05</date_reception>"
    "<heure_reception>10:00:00</heure_reception></envoi_identification>"
    "<envoi_bilan><envoi_etat>OK</envoi_etat></envoi_bilan></envoi></rapport>"
)
DSN = b"S10.G00.00.001,'dsnlink'\nS20.G00.05.001,'01'\n"


def client(fake: FakePortal, **overrides: object) -> PortalClient:
    return PortalClient(config(**overrides), OPTIONS, transport=fake.transport())


def test_login_request_is_the_documented_xml(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/authentifier/", token_answer())
    with client(fake) as c:
        token = c.authenticate(identity)
    assert token.value == TOKEN
    request = fake.seen[0]
    assert request.method == "POST"
    assert request.url.path == "/authentifier/1.0/"
    assert request.headers["content-type"] == "application/xml"
    assert request.headers["accept-encoding"] == "gzip"
    assert request.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("Client-DSN (dsnlink/") and USER_AGENT.endswith("; dsnlink)")
    assert "content-encoding" not in request.headers
    assert fake.bodies[0] == (
        b"<identifiants><siret>99900000300015</siret><nom>declarant</nom>"
        b"<prenom>declarant</prenom><motdepasse>" + PASSWORD.encode() + b"</motdepasse>"
        b"<service>97</service></identifiants>"
    )


def test_special_characters_are_escaped_not_altered() -> None:
    fake = FakePortal().on("/authentifier/", token_answer())
    who = PortalIdentity("12345678901234", "D'Arc & Fils", "Zoé", "a<b>&c")
    with client(fake) as c:
        c.authenticate(who)
    body = fake.bodies[0].decode()
    assert "<nom>D'Arc &amp; Fils</nom>" in body
    assert "<prenom>Zoé</prenom>" in body
    assert "<motdepasse>a&lt;b&gt;&amp;c</motdepasse>" in body


def test_token_is_reused_for_a_batch(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/authentifier/", token_answer())
    with client(fake) as c:
        first = c.authenticate(identity)
        second = c.authenticate(identity)
    assert first is second
    assert fake.count("/authentifier/") == 1


def test_token_is_renewed_after_its_reuse_period(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/authentifier/", token_answer("T1"), token_answer("T2"))
    with client(fake, token_reuse_seconds=0.0) as c:
        assert c.authenticate(identity).value == "T1"
        assert c.authenticate(identity).value == "T2"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (unauthorized("net-entreprises.fr"), WrongCredentials),
        (httpx.Response(401), WrongCredentials),
        (unauthorized("Expiration du mot de passe"), PasswordExpired),
        (unauthorized("Utilisateur non-inscrit au service"), NotRegisteredForDsn),
        (httpx.Response(403), AccountLocked),
    ],
)
def test_credential_failures_are_typed_and_never_retried(
    identity: PortalIdentity, answer: httpx.Response, error: type[Exception]
) -> None:
    fake = FakePortal().on("/authentifier/", answer)
    with client(fake) as c:
        with pytest.raises(error) as first:
            c.authenticate(identity)
        # Whatever the caller does next: again, a new client, a business call's login...
        with pytest.raises(error) as again:
            c.authenticate(identity)
        assert again.value.context["already_refused"] is True
    with client(fake) as other, pytest.raises(error):
        other.authenticate(identity)
    assert fake.count("/authentifier/") == 1
    assert first.value.message and first.value.remedy
    assert PASSWORD not in str(first.value) and PASSWORD not in repr(first.value.to_dict())


def test_corrected_password_gets_a_new_attempt(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/authentifier/", unauthorized("net-entreprises.fr"), token_answer())
    with client(fake) as c:
        with pytest.raises(WrongCredentials):
            c.authenticate(identity)
        fixed = PortalIdentity(identity.siret, identity.nom, identity.prenom, "CANARY-new-pw")
        assert c.authenticate(fixed).value == TOKEN
    assert fake.count("/authentifier/") == 2


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(407), RequestRefused),
        (httpx.Response(407, headers={"Proxy-Authenticate": 'Basic realm="proxy"'}), ProxyError),
        (httpx.Response(422), BadRequest),
        (httpx.Response(404), ServiceUnavailable),
        (httpx.Response(503), ServiceUnavailable),
    ],
)
def test_other_login_answers(
    identity: PortalIdentity, answer: httpx.Response, error: type[Exception]
) -> None:
    fake = FakePortal().on("/authentifier/", answer, token_answer())
    with client(fake) as c:
        with pytest.raises(error):
            c.authenticate(identity)
        # Not a credential failure: a later login is allowed.
        assert c.authenticate(identity).value == TOKEN


def test_fields_too_long_are_refused_before_any_call() -> None:
    with pytest.raises(InvalidInput):
        PortalIdentity("123", "nom", "prenom", "pw")
    with pytest.raises(InvalidInput):
        PortalIdentity("12345678901234", "nom", "prenom", "x" * 31)


def test_concurrent_logins_share_one_request(identity: PortalIdentity) -> None:
    fake = FakePortal(delay=0.05).on("/authentifier/", token_answer())
    tokens: list[object] = []
    with client(fake) as c:
        threads = [
            threading.Thread(target=lambda: tokens.append(c.authenticate(identity)))
            for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert fake.count("/authentifier/") == 1
    assert len(tokens) == 8 and all(t is tokens[0] for t in tokens)


def test_concurrent_callers_after_a_credential_failure_make_one_attempt(
    identity: PortalIdentity,
) -> None:
    fake = FakePortal(delay=0.05).on("/authentifier/", unauthorized("net-entreprises.fr"))
    errors: list[Exception] = []

    def attempt() -> None:
        try:
            c.authenticate(identity)
        except WrongCredentials as exc:
            errors.append(exc)

    with client(fake) as c:
        threads = [threading.Thread(target=attempt) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert fake.count("/authentifier/") == 1
    assert len(errors) == 8


def test_async_concurrent_callers_after_a_credential_failure_make_one_attempt(
    identity: PortalIdentity,
) -> None:
    fake = FakePortal().on("/authentifier/", unauthorized("Expiration du mot de passe"))

    async def main() -> list[BaseException | object]:
        async with AsyncPortalClient(config(), OPTIONS, transport=fake.async_transport()) as c:
            first = await asyncio.gather(
                *(c.authenticate(identity) for _ in range(8)), return_exceptions=True
            )
        async with AsyncPortalClient(config(), OPTIONS, transport=fake.async_transport()) as c2:
            later = await asyncio.gather(c2.authenticate(identity), return_exceptions=True)
        return [*first, *later]

    results = asyncio.run(main())
    assert all(isinstance(r, PasswordExpired) for r in results)
    assert fake.count("/authentifier/") == 1


def test_async_concurrent_logins_share_one_request(identity: PortalIdentity) -> None:
    fake = FakePortal().on("/authentifier/", token_answer())

    async def main() -> list[object]:
        async with AsyncPortalClient(config(), OPTIONS, transport=fake.async_transport()) as c:
            return list(await asyncio.gather(*(c.authenticate(identity) for _ in range(16))))

    tokens = asyncio.run(main())
    assert fake.count("/authentifier/") == 1
    assert all(t is tokens[0] for t in tokens)


def test_expired_token_triggers_exactly_one_new_login(identity: PortalIdentity) -> None:
    fake = (
        FakePortal()
        .on("/authentifier/", token_answer("T1"), token_answer("T2"))
        .on("/deposer-dsn/", unauthorized("Jeton manquant ou invalide", "DSNLogin"), xml(200, AEE))
    )
    with client(fake) as c:
        token = c.authenticate(identity)
        result = c.deposit(token, DSN)
        # The stale token held by the caller is upgraded without another 401.
        c.deposit(token, DSN)
    assert result.accepted
    assert fake.count("/authentifier/") == 2
    assert fake.count("/deposer-dsn/") == 3
    authorizations = [r.headers["authorization"] for r in fake.seen if "deposer" in r.url.path]
    assert authorizations == ["DSNLogin jeton=T1", "DSNLogin jeton=T2", "DSNLogin jeton=T2"]


def test_a_second_token_rejection_is_not_a_loop(identity: PortalIdentity) -> None:
    fake = (
        FakePortal()
        .on("/authentifier/", token_answer("T1"), token_answer("T2"), token_answer("T3"))
        .on("/lister-retours-flux/", unauthorized("Jeton manquant ou invalide", "DSNLogin"))
    )
    with client(fake) as c:
        token = c.authenticate(identity)
        with pytest.raises(TokenRejected):
            c.list_flow_returns(token, "AAAAAAAAAAAAAAAAAAAAAA1")
    assert fake.count("/authentifier/") == 2
    assert fake.count("/lister-retours-flux/") == 2


def test_relogin_refused_for_credentials_is_final(identity: PortalIdentity) -> None:
    fake = (
        FakePortal()
        .on("/authentifier/", token_answer("T1"), unauthorized("net-entreprises.fr"))
        .on("/deposer-dsn/", unauthorized("Jeton manquant ou invalide", "DSNLogin"))
    )
    with client(fake) as c:
        token = c.authenticate(identity)
        with pytest.raises(WrongCredentials):
            c.deposit(token, DSN)
        with pytest.raises(WrongCredentials):
            c.deposit(token, DSN)
        with pytest.raises(WrongCredentials):
            c.authenticate(identity)
    assert fake.count("/authentifier/") == 2
    assert fake.count("/deposer-dsn/") == 2


def test_business_call_naming_a_missing_registration_blocks_logins(
    identity: PortalIdentity,
) -> None:
    fake = (
        FakePortal()
        .on("/authentifier/", token_answer())
        .on("/lister-retours-flux/", unauthorized("Utilisateur non-inscrit au service", "DSNLogin"))
    )
    with client(fake, token_reuse_seconds=0.0) as c:
        token = c.authenticate(identity)
        with pytest.raises(NotRegisteredForDsn):
            c.list_flow_returns(token, "AAAAAAAAAAAAAAAAAAAAAA1")
        with pytest.raises(NotRegisteredForDsn):
            c.authenticate(identity)
    assert fake.count("/authentifier/") == 1
    assert fake.count("/lister-retours-flux/") == 1


def test_async_expired_token_triggers_exactly_one_new_login(identity: PortalIdentity) -> None:
    def by_token(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"].endswith("T1"):
            return unauthorized("Jeton manquant ou invalide", "DSNLogin")
        return xml(200, "<retours></retours>")

    fake = (
        FakePortal()
        .on("/authentifier/", token_answer("T1"), token_answer("T2"))
        .on("/lister-retours-flux/", by_token)
    )

    async def main() -> None:
        async with AsyncPortalClient(config(), OPTIONS, transport=fake.async_transport()) as c:
            token = await c.authenticate(identity)
            await asyncio.gather(
                *(c.list_flow_returns(token, "AAAAAAAAAAAAAAAAAAAAAA1") for _ in range(4))
            )

    asyncio.run(main())
    # Four calls refused together: one new login, shared by all of them.
    assert fake.count("/authentifier/") == 2
    assert fake.count("/lister-retours-flux/") == 8


def test_client_from_settings_uses_the_configured_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DSNLINK_PORTAL_PROFILE", "test")
    monkeypatch.setenv("DSNLINK_PORTAL_CONNECTION_MODE", "etendu")
    from dsnlink.settings import get_settings

    get_settings.cache_clear()
    with PortalClient.from_settings() as c:
        assert c.core.config.endpoints.service_code == "97"
        assert c.core.config.endpoints.auth_url.startswith("https://test-services.")
        assert c.options.get_attempts == 6
