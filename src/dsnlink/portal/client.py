"""The synchronous API-DSN client: a thin driver over :mod:`dsnlink.portal.core`.

Rules it enforces (the async client enforces the same, see ``async_client.py``):

- one login in flight per identity; concurrent callers wait for it and share its token;
- after a credential failure, no login with the same credentials in this process, ever;
- on a token-expired 401 of a later call: one new login and one new try, never a loop;
- GETs are retried with backoff and jitter on 5xx, 429 (after its Retry-After when short) and
  network errors; a deposit POST never is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import stamina

from dsnlink.errors import (
    CredentialError,
    NetworkError,
    TokenRejected,
)
from dsnlink.portal import calls
from dsnlink.portal.answers import retry_wait
from dsnlink.portal.core import ClientConfig, PortalCore, config_from_settings
from dsnlink.portal.deposit import (
    DepositResult,
    after_network_error,
    deposit_request,
    dsn_payload,
    read_deposit_answer,
)
from dsnlink.portal.endpoints import ApiVersion
from dsnlink.portal.files import DownloadedFile, FileSink
from dsnlink.portal.identity import CredentialFailures, PortalIdentity, Token
from dsnlink.portal.listings import DepositRecord, ReturnRecord
from dsnlink.portal.transport import (
    HttpSession,
    TransportOptions,
    build_client,
    options_from_settings,
)
from dsnlink.portal.wire import Answer, PortalRequest
from dsnlink.settings import Settings

T = TypeVar("T")


class PortalClient:
    """Talks to one Net-entreprises environment. Thread-safe; close it (or use ``with``)."""

    def __init__(
        self,
        config: ClientConfig,
        options: TransportOptions,
        *,
        transport: Any = None,
        failures: CredentialFailures | None = None,
    ) -> None:
        self.core = PortalCore(config, failures)
        self.options = options
        self._session = HttpSession(
            lambda: build_client(options, transport=transport), options, direct=transport is None
        )
        self._locks_guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> PortalClient:
        """A client for the configured environment and connection settings."""
        return cls(config_from_settings(settings), options_from_settings(settings))

    def __enter__(self) -> PortalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    # --- authentication -------------------------------------------------------------------

    def _lock_for(self, fingerprint: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(fingerprint, threading.Lock())

    def authenticate(self, identity: PortalIdentity) -> Token:
        """A token for this identity: the cached one, or a new login (one at a time)."""
        token = self.core.cached(identity)
        if token is not None:
            return token
        with self._lock_for(identity.fingerprint):
            # Whoever held the lock may have logged in (or failed) meanwhile.
            token = self.core.cached(identity)
            if token is not None:
                return token
            request = self.core.auth_request(identity)
            return self.core.auth_answer(identity, self._session.send(request))

    def _reauthenticate(self, stale: Token) -> Token:
        identity = self.core.identity_for(stale)
        if identity is None:
            raise TokenRejected(call="reauthenticate")
        self.core.drop(stale)
        return self.authenticate(identity)

    # --- the call loop --------------------------------------------------------------------

    def _call(
        self,
        token: Token,
        build: Callable[[Token], PortalRequest],
        exchange: Callable[[PortalRequest], T],
        *,
        idempotent: bool,
    ) -> T:
        """Send ``build(token)`` through ``exchange``; one new login on a token-expired 401."""
        token = self.core.latest(token)
        try:
            try:
                return self._attempt(token, build, exchange, idempotent)
            except TokenRejected:
                fresh = self._reauthenticate(token)
                return self._attempt(fresh, build, exchange, idempotent)
        except CredentialError as exc:
            self.core.business_credential_failure(token, exc)
            raise

    def _attempt(
        self,
        token: Token,
        build: Callable[[Token], PortalRequest],
        exchange: Callable[[PortalRequest], T],
        idempotent: bool,
    ) -> T:
        if not idempotent:
            return exchange(build(token))
        opts = self.options
        for attempt in stamina.retry_context(
            on=retry_wait, attempts=opts.get_attempts, timeout=opts.retry_budget
        ):
            with attempt:
                return exchange(build(token))
        raise AssertionError("unreachable: stamina re-raises the last error")

    def _send_and(self, read: Callable[[Answer], T]) -> Callable[[PortalRequest], T]:
        return lambda request: read(self._session.send(request))

    # --- deposit --------------------------------------------------------------------------

    def deposit(
        self, token: Token, dsn: bytes | str, *, version: ApiVersion | None = None
    ) -> DepositResult:
        """Deposit one declaration. Raises ``DepositFateUnknown`` when the outcome is unknown."""
        payload = dsn_payload(dsn)
        endpoints = self.core.config.endpoints
        try:
            return self._call(
                token,
                lambda t: deposit_request(endpoints, t, payload, version),
                self._send_and(read_deposit_answer),
                idempotent=False,
            )
        except NetworkError as exc:
            translated = after_network_error(exc)
            if translated is exc:
                raise
            raise translated from exc

    # --- listings -------------------------------------------------------------------------

    def _walk(self, token: Token, walk: calls.WindowWalk[T]) -> list[T]:
        while (window := walk.next_window()) is not None:
            self._walk_step(token, walk, window)
        return walk.records

    def _walk_step(self, token: Token, walk: calls.WindowWalk[T], window: calls.Window) -> None:
        endpoints = self.core.config.endpoints
        self._call(
            token,
            lambda t: walk.request(endpoints, t, window),
            self._send_and(lambda a: walk.feed(window, a)),
            idempotent=True,
        )

    def list_deposits(
        self, token: Token, start: datetime, end: datetime | None = None
    ) -> list[DepositRecord]:
        cfg = self.core.config
        return self._walk(token, calls.deposits_walk(start, end, cfg.window_minutes, cfg.tz))

    def list_declarant_returns(
        self, token: Token, start: datetime, end: datetime | None = None
    ) -> list[ReturnRecord]:
        cfg = self.core.config
        walk = calls.declarant_returns_walk(start, end, cfg.window_minutes, cfg.tz)
        return self._walk(token, walk)

    def list_flow_returns(self, token: Token, idflux: str) -> list[ReturnRecord]:
        cfg = self.core.config
        return self._call(
            token,
            lambda t: calls.flow_returns_request(cfg.endpoints, t, idflux),
            self._send_and(lambda a: calls.read_flow_returns(a, cfg.tz)),
            idempotent=True,
        )

    # --- download -------------------------------------------------------------------------

    def download(self, token: Token, url: str, dest: Path) -> DownloadedFile:
        """Stream a return file to ``dest`` (temp file, then atomic rename)."""
        endpoints = self.core.config.endpoints
        calls.download_request(endpoints, token, url)  # refuse a foreign host before anything
        return self._call(
            token,
            lambda t: calls.download_request(endpoints, t, url),
            lambda request: self._stream_to(request, dest),
            idempotent=True,
        )

    def fetch(self, token: Token, url: str) -> bytes:
        """A return file's content in memory, for a caller that keeps it itself (the pipeline
        stores returns in its database): no temporary file, no fsync."""
        endpoints = self.core.config.endpoints
        calls.download_request(endpoints, token, url)  # refuse a foreign host before anything
        return self._call(
            token,
            lambda t: calls.download_request(endpoints, t, url),
            self._send_and(calls.read_download),
            idempotent=True,
        )

    def _stream_to(self, request: PortalRequest, dest: Path) -> DownloadedFile:
        with self._session.stream(request) as streamed:
            if streamed.status != 200:
                body = b"".join(streamed.chunks)
                answer = Answer(streamed.status, streamed.headers, body, streamed.via_proxy)
                raise calls.download_error(answer)
            sink = FileSink(dest)
            try:
                for chunk in streamed.chunks:
                    sink.write(chunk)
            except BaseException:
                sink.abort()
                raise
        try:
            return sink.commit(streamed.headers.get("content-type"))
        except BaseException:
            sink.abort()
            raise
