"""The password and the token never show: logs, errors, reprs."""

from __future__ import annotations

import logging

import httpx
import pytest
from structlog.testing import capture_logs

from dsnlink.errors import DsnlinkError
from dsnlink.portal import PortalClient, PortalIdentity
from dsnlink.portal.core import PortalCore
from dsnlink.redaction import redact
from tests.unit.portal.conftest import PASSWORD
from tests.unit.portal.fake import OPTIONS, TOKEN, FakePortal, config, token_answer, unauthorized


def test_canaries_never_appear(
    identity: PortalIdentity, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Raw log events, before the redaction step: they must not carry the secrets at all.
    caplog.set_level(logging.DEBUG)
    fake = (
        FakePortal()
        .on("/authentifier/", token_answer(), unauthorized("net-entreprises.fr"))
        .on("/deposer-dsn/", unauthorized("Jeton manquant ou invalide", "DSNLogin"))
        .on("/lister-depots/", httpx.Response(500))
    )
    texts: list[str] = []
    client = PortalClient(config(), OPTIONS, transport=fake.transport())
    with capture_logs() as events, client as c:
        token = c.authenticate(identity)
        texts += [repr(identity), str(identity), repr(token), str(token)]
        texts.append(repr(PortalCore(config()).auth_request(identity)))
        for call in (
            lambda: c.deposit(token, b"S10.G00.00.001,'x'\n"),
            lambda: c.authenticate(identity),
        ):
            try:
                call()
            except DsnlinkError as exc:
                texts += [str(exc), repr(exc), repr(exc.to_dict()), repr(exc.context)]
    captured = capsys.readouterr()
    texts += [captured.out, captured.err, caplog.text, repr(events)]
    everything = "\n".join(texts)
    assert "portal_credentials_refused" in everything  # the log line exists...
    assert PASSWORD not in everything  # ...without the secrets
    assert TOKEN not in everything
    # The values are registered for redaction wherever they would slip through.
    assert redact(f"oops {TOKEN} {PASSWORD}") == "oops *** ***"
