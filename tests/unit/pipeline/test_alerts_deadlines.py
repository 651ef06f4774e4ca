"""Alerts over real SMTP and HTTP on loopback; deadlines."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from dsnlink.jobs.runner import Runner
from dsnlink.pipeline.alerts import (
    FanOutAlertSink,
    SmtpAlertSink,
    WebhookAlertSink,
    raise_alert,
)
from dsnlink.pipeline.deadlines import (
    alert_deadlines,
    deadline_limit,
    deadlines,
    due_date,
    due_date_for,
)
from dsnlink.pipeline.intake import receive
from dsnlink.pipeline.model import Alert, EmployerPolicy
from tests.support.mailservers import Mailbox, Webhook

from .samples import SIRET_A, SIRET_B, SIRET_C, dsn, make_pipeline


def test_wrong_password_alert_reaches_smtp_and_webhook(smtp: Mailbox, webhook: Webhook) -> None:
    pipeline, portal, *_ = make_pipeline()
    pipeline.alerts = FanOutAlertSink(
        [
            SmtpAlertSink(smtp.host, smtp.port, "dsnlink@localhost", ["paie@example.org"]),
            WebhookAlertSink(webhook.url),
        ]
    )
    portal.wrong_passwords.add("id-dupont")
    receive(pipeline, dsn(SIRET_A), name="a.dsn", acting_login="dupont")
    receive(pipeline, dsn(SIRET_B), name="b.dsn", acting_login="dupont")
    Runner(pipeline).run_until_idle()
    Runner(pipeline).run_until_idle()
    assert portal.auth_attempts["id-dupont"] == 1
    (mail,) = smtp.messages
    assert sorted(mail.rcpt_tos) == ["dupont@example.org", "paie@example.org"]
    assert "Identifiants Net-entreprises refusés" in mail.subject
    assert "suspendus" in mail.text()
    (hook,) = webhook.received
    assert hook["kind"] == "credential_failure" and hook["facts"]["identity_id"] == "id-dupont"


def test_a_failing_channel_does_not_stop_the_pipeline() -> None:
    pipeline, *_ = make_pipeline()
    pipeline.alerts = SmtpAlertSink("127.0.0.1", 1, "x@localhost", ["y@localhost"], timeout=1)
    assert raise_alert(pipeline, Alert("k", "s", "b", key="k1"))
    assert not raise_alert(pipeline, Alert("k", "s", "b", key="k1"))  # claimed once


def test_secrets_are_redacted_from_alerts(webhook: Webhook) -> None:
    from dsnlink.redaction import register_secret

    canary = "CANARY-s3cr3t-alert-42"
    register_secret(canary)
    WebhookAlertSink(webhook.url).send(Alert("k", "s", f"mot de passe {canary}", key="x"))
    assert canary not in json.dumps(webhook.received)


def test_due_dates() -> None:
    assert due_date("01/2026", 5) == date(2026, 2, 5)
    assert due_date("12/2025", 15) == date(2026, 1, 15)
    # The employer's policy, then its record, then the installation's default.
    assert due_date_for("01/2026", None, 15, 5) == date(2026, 2, 15)
    assert due_date_for("01/2026", 5, 15, 15) == date(2026, 2, 5)
    assert due_date_for("01/2026", None, None, 15) == date(2026, 2, 15)
    assert deadline_limit(date(2026, 2, 5)) == datetime(2026, 2, 5, 11, 0, tzinfo=UTC)


def test_deadlines_states_and_alerts() -> None:
    pipeline, _, _, clock, alerts = make_pipeline()
    pipeline.ledger.set_policy(EmployerPolicy(SIRET_B, deadline_day=5))
    receive(pipeline, dsn(SIRET_A), name="a.dsn", acting_login="dupont")
    Runner(pipeline).run_until_idle()
    by_siret = {d.siret: d for d in deadlines(pipeline, month="01/2026")}
    assert by_siret[SIRET_A].status == "deposited"
    assert by_siret[SIRET_B].due == date(2026, 2, 5) and by_siret[SIRET_B].status == "missing"
    assert by_siret[SIRET_C].due == date(2026, 2, 15)
    clock.advance(timedelta(days=1))  # 3 February: B is due in 2 days, C in 12
    assert alert_deadlines(pipeline, month="01/2026") == 1
    assert [a.facts["siret"] for a in alerts.sent] == [SIRET_B]
    clock.advance(timedelta(days=20))
    assert {d.siret: d.status for d in deadlines(pipeline, month="01/2026")}[SIRET_C] == "overdue"
    assert alert_deadlines(pipeline, month="01/2026") == 2  # B overdue now, C overdue
    assert alert_deadlines(pipeline, month="01/2026") == 0
    assert clock.now() > datetime(2026, 2, 15, tzinfo=UTC)
