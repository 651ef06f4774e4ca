"""Alerts: e-mail (SMTP) and webhook, each sent once (deduplicated through the ledger).

Sending an alert never breaks the step that raised it: a sink that fails is logged and the
alert stays claimed, so a broken mail server cannot make the pipeline loop on a deposit.
"""

from __future__ import annotations

import json
import smtplib
import threading
from collections.abc import Sequence
from email.message import EmailMessage
from typing import TYPE_CHECKING

import httpx

from dsnlink.logs import get_logger
from dsnlink.pipeline.context import Pipeline
from dsnlink.pipeline.model import Alert
from dsnlink.pipeline.ports import AlertSink
from dsnlink.redaction import redact

if TYPE_CHECKING:
    from dsnlink.settings import Settings

log = get_logger("dsnlink.pipeline.alerts")


def raise_alert(pipeline: Pipeline, alert: Alert) -> bool:
    """Send ``alert`` unless an alert with the same key was sent already. True if sent."""
    if not pipeline.ledger.claim_alert(alert.key, pipeline.clock.now()):
        return False
    try:
        pipeline.alerts.send(alert)
    except Exception as exc:  # noqa: BLE001 - an alert channel must not stop the pipeline
        log.error("alert_failed", kind=alert.kind, key=alert.key, error=type(exc).__name__)
    else:
        log.info("alert_sent", kind=alert.kind, key=alert.key)
    return True


class MemoryAlertSink:
    """Keeps alerts in a list (tests, the demo)."""

    def __init__(self) -> None:
        self.sent: list[Alert] = []
        self._lock = threading.Lock()

    def send(self, alert: Alert) -> None:
        with self._lock:
            self.sent.append(alert)


class SmtpAlertSink:
    """One e-mail per alert, to the alert's recipients plus the configured ones."""

    def __init__(
        self, host: str, port: int, sender: str, recipients: Sequence[str] = (), timeout: float = 10
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.recipients = tuple(recipients)
        self.timeout = timeout

    def send(self, alert: Alert) -> None:
        to = sorted({*alert.recipients, *self.recipients})
        if not to:
            return
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = f"[dsnlink] {alert.subject}"
        message.set_content(redact(alert.body))
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)


class WebhookAlertSink:
    """POSTs the alert as JSON to a URL."""

    def __init__(self, url: str, timeout: float = 10) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, alert: Alert) -> None:
        payload = {
            "kind": alert.kind,
            "subject": alert.subject,
            "body": alert.body,
            "key": alert.key,
            "facts": alert.facts,
        }
        response = httpx.post(
            self.url,
            content=json.dumps(redact(payload), ensure_ascii=False, default=str),
            headers={"Content-Type": "application/json"},
            timeout=self.timeout,
        )
        response.raise_for_status()


class FanOutAlertSink:
    """Every sink gets every alert; one failing does not stop the others."""

    def __init__(self, sinks: Sequence[AlertSink]) -> None:
        self.sinks = list(sinks)

    def send(self, alert: Alert) -> None:
        for sink in self.sinks:
            try:
                sink.send(alert)
            except Exception as exc:  # noqa: BLE001 - see the module docstring
                log.error("alert_sink_failed", sink=type(sink).__name__, error=type(exc).__name__)


def alerts_from_settings(settings: Settings, *, extra: Sequence[AlertSink] = ()) -> AlertSink:
    """E-mail and/or webhook as configured; with neither, alerts are only logged."""
    sinks: list[AlertSink] = list(extra)
    recipients = [a.strip() for a in settings.alert_email_to.split(",") if a.strip()]
    if settings.alert_smtp_host:
        sinks.append(
            SmtpAlertSink(
                settings.alert_smtp_host,
                settings.alert_smtp_port,
                settings.alert_smtp_from,
                recipients,
            )
        )
    if settings.alert_webhook_url:
        sinks.append(WebhookAlertSink(settings.alert_webhook_url))
    sinks.append(LogAlertSink())
    return FanOutAlertSink(sinks)


class LogAlertSink:
    """Every alert also goes to the log (and thus to whoever reads it)."""

    def send(self, alert: Alert) -> None:
        log.warning("alert", kind=alert.kind, subject=alert.subject, key=alert.key)
