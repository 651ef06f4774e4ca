"""Building the pipeline of an installation: the SQL ledger, the API-DSN client, the norme
validator, the return parsers, accounts and vault, alerts from the settings."""

from __future__ import annotations

import ssl
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from dsnlink.connectivity.service import portal_client_for
from dsnlink.logs import get_logger
from dsnlink.pipeline.adapters.accounts import AccountIdentities
from dsnlink.pipeline.adapters.norme import NormeChecker
from dsnlink.pipeline.adapters.portal import ApiDsnPortal
from dsnlink.pipeline.adapters.returns import GipMdsReturnParser
from dsnlink.pipeline.alerts import alerts_from_settings
from dsnlink.pipeline.context import Pipeline, PipelineConfig, config_from_settings
from dsnlink.pipeline.ports import AlertSink, Clock
from dsnlink.pipeline.sql import SqlLedger
from dsnlink.portal import PortalClient
from dsnlink.settings import Settings
from dsnlink.setup import App

log = get_logger("dsnlink.pipeline.setup")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatorClock:
    """With the simulator profile, the pipeline follows the simulator's virtual clock (which
    tests and the demo move forward), read from its control API at most once a second.

    One HTTP client is kept for the reads (a new one per read costs a TLS context, milliseconds
    of CPU). While one thread reads, the others go on with the last offset instead of queueing
    behind it: only the very first read is waited for."""

    def __init__(
        self, base_url: str, *, refresh: float = 1.0, ca_bundle: Path | None = None
    ) -> None:
        self.url = base_url.rstrip("/") + "/_admin/clock"
        self.refresh = refresh
        self._offset = timedelta(0)
        self._read_at = -refresh
        self._known = False
        self._lock = threading.Lock()
        # the control API is on this machine: no proxy from the environment
        # a simulator served over HTTPS has its own CA: the one the portal client trusts
        verify: ssl.SSLContext | bool = True
        if ca_bundle is not None:
            verify = ssl.create_default_context(cafile=str(ca_bundle))
        self._client = httpx.Client(timeout=5, trust_env=False, verify=verify)
        # a clock nobody closed still closes its connection when it is collected
        weakref.finalize(self, self._client.close)

    def now(self) -> datetime:
        if time.monotonic() - self._read_at >= self.refresh and self._lock.acquire(
            blocking=not self._known
        ):
            try:
                if time.monotonic() - self._read_at >= self.refresh:
                    self._read()
            finally:
                self._lock.release()
        return datetime.now(UTC) + self._offset

    def close(self) -> None:
        self._client.close()

    def _read(self) -> None:
        try:
            answer = self._client.get(self.url)
            answer.raise_for_status()
            theirs = datetime.fromisoformat(answer.json()["now"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning("simulator_clock_unreadable", error=type(exc).__name__)
            return
        self._offset = theirs - datetime.now(UTC)
        self._read_at = time.monotonic()
        self._known = True


def clock_for(settings: Settings) -> Clock:
    if settings.portal_profile == "simulator":
        return SimulatorClock(settings.portal_simulator_url, ca_bundle=settings.portal_ca_bundle)
    return SystemClock()


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
    # The installation's stored connection settings (proxy, mode...), else DSNLINK_PORTAL_*.
    portal_client = client or portal_client_for(app)
    identities = AccountIdentities(app)
    own_clock = clock_for(settings) if clock is None else None
    try:
        yield Pipeline(
            ledger=SqlLedger(app.db),
            portal=ApiDsnPortal(portal_client, identities.credentials),
            identities=identities,
            checker=NormeChecker(),
            parser=GipMdsReturnParser(),
            clock=clock or own_clock or SystemClock(),
            alerts=alerts or alerts_from_settings(settings),
            config=config or config_from_settings(settings),
        )
    finally:
        if owned:
            portal_client.close()
        if isinstance(own_clock, SimulatorClock):  # its HTTP client, opened here
            own_clock.close()
