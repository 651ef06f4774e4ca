"""The portal port over the API-DSN client (:class:`dsnlink.portal.PortalClient`).

Tokens are the client's business (cached per identity, one login in flight, failed
credentials never sent again); this adapter only turns the pipeline's identity reference into
the four values, and the client's records into the pipeline's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from dsnlink.errors import CredentialError
from dsnlink.pipeline.ports import DepositOutcome, IdentityRef, ListedDeposit, ListedReturn
from dsnlink.portal import PortalClient, PortalIdentity, ReturnRecord, Token

#: Gives the four values of an identity (the password opened from the vault).
CredentialSource = Callable[[IdentityRef], PortalIdentity]


class ApiDsnPortal:
    def __init__(
        self,
        client: PortalClient,
        credentials: CredentialSource,
        *,
        reuse_seconds: float = 60.0,
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.reuse_seconds = reuse_seconds
        # Opening a password costs a read and a decryption; a minute's reuse keeps that off
        # every call while an edited identity is still picked up soon.
        self._opened: dict[str, tuple[float, PortalIdentity]] = {}
        self._lock = threading.Lock()

    def _identity(self, identity: IdentityRef) -> PortalIdentity:
        now = time.monotonic()
        with self._lock:
            cached = self._opened.get(identity.id)
            if cached is not None and now - cached[0] < self.reuse_seconds:
                return cached[1]
        opened = self.credentials(identity)
        with self._lock:
            self._opened[identity.id] = (now, opened)
        return opened

    def _token(self, identity: IdentityRef) -> Token:
        try:
            return self.client.authenticate(self._identity(identity))
        except CredentialError:
            with self._lock:
                self._opened.pop(identity.id, None)
            raise

    def deposit(self, identity: IdentityRef, data: bytes) -> DepositOutcome:
        result = self.client.deposit(self._token(identity), data)
        return DepositOutcome(
            accepted=result.accepted,
            idflux=result.idflux,
            received_at=result.received_at,
            anomalies=tuple(
                " ".join(p for p in (a.code, a.message) if p) for a in result.anomalies
            ),
            document=result.report,
        )

    def list_deposits(
        self, identity: IdentityRef, since: datetime, until: datetime
    ) -> list[ListedDeposit]:
        # An explicit end: an open window would end at this machine's time, which is not the
        # platform's (the simulator's clock moves; a workstation's clock drifts).
        return [
            ListedDeposit(r.idflux, r.deposited_at, r.status)
            for r in self.client.list_deposits(self._token(identity), since, until)
        ]

    def list_flow_returns(self, identity: IdentityRef, idflux: str) -> list[ListedReturn]:
        return [_listed(r) for r in self.client.list_flow_returns(self._token(identity), idflux)]

    def list_returns_window(
        self, identity: IdentityRef, start: datetime, end: datetime
    ) -> list[ListedReturn]:
        records = self.client.list_declarant_returns(self._token(identity), start, end)
        return [_listed(r) for r in records]

    def download(self, identity: IdentityRef, listed: ListedReturn) -> bytes:
        # In memory: the ledger keeps the content, a temporary file would only cost fsyncs.
        return self.client.fetch(self._token(identity), listed.url)


def _listed(record: ReturnRecord) -> ListedReturn:
    return ListedReturn(
        idflux=record.idflux,
        nature=record.nature,
        ops=record.ops or "",
        return_id=record.return_id,
        status=record.status,
        url=record.url,
        published_at=record.published_at,
    )
