"""Building the pipeline of an installation: the SQL ledger, the API-DSN client, the norme
validator, the return parsers, accounts and vault, alerts from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from dsnlink.pipeline.adapters.accounts import AccountIdentities
from dsnlink.pipeline.adapters.norme import NormeChecker
from dsnlink.pipeline.adapters.portal import ApiDsnPortal
from dsnlink.pipeline.adapters.returns import GipMdsReturnParser
from dsnlink.pipeline.alerts import alerts_from_settings
from dsnlink.pipeline.context import Pipeline, PipelineConfig, config_from_settings
from dsnlink.pipeline.ports import AlertSink, Clock
from dsnlink.pipeline.sql import SqlLedger
from dsnlink.portal import PortalClient
from dsnlink.setup import App


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@contextmanager
def open_pipeline(
    app: App,
    *,
    clock: Clock | None = None,
    alerts: AlertSink | None = None,
    client: PortalClient | None = None,
    config: PipelineConfig | None = None,
) -> Iterator[Pipeline]:
    """The pipeline of ``app``; the portal client is closed at the end unless given."""
    settings = app.settings
    owned = client is None
    portal_client = client or PortalClient.from_settings(settings)
    identities = AccountIdentities(app)
    try:
        yield Pipeline(
            ledger=SqlLedger(app.db),
            portal=ApiDsnPortal(portal_client, identities.credentials, settings.data_dir),
            identities=identities,
            checker=NormeChecker(),
            parser=GipMdsReturnParser(),
            clock=clock or SystemClock(),
            alerts=alerts or alerts_from_settings(settings),
            config=config or config_from_settings(settings),
        )
    finally:
        if owned:
            portal_client.close()
