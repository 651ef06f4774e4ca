"""The portal port over the API-DSN client (:class:`dsnlink.portal.PortalClient`).

Tokens are the client's business (cached per identity, one login in flight, failed
credentials never sent again); this adapter only turns the pipeline's identity reference into
the four values, and the client's records into the pipeline's.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from dsnlink.pipeline.ports import DepositOutcome, IdentityRef, ListedDeposit, ListedReturn
from dsnlink.portal import PortalClient, PortalIdentity, ReturnRecord

#: Gives the four values of an identity (the password opened from the vault).
CredentialSource = Callable[[IdentityRef], PortalIdentity]


class ApiDsnPortal:
    def __init__(
        self, client: PortalClient, credentials: CredentialSource, scratch: Path | None = None
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.scratch = scratch

    def _token(self, identity: IdentityRef):  # type: ignore[no-untyped-def]
        return self.client.authenticate(self.credentials(identity))

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

    def list_deposits(self, identity: IdentityRef, since: datetime) -> list[ListedDeposit]:
        return [
            ListedDeposit(r.idflux, r.deposited_at, r.status)
            for r in self.client.list_deposits(self._token(identity), since)
        ]

    def list_flow_returns(self, identity: IdentityRef, idflux: str) -> list[ListedReturn]:
        return [_listed(r) for r in self.client.list_flow_returns(self._token(identity), idflux)]

    def list_returns_window(
        self, identity: IdentityRef, start: datetime, end: datetime
    ) -> list[ListedReturn]:
        records = self.client.list_declarant_returns(self._token(identity), start, end)
        return [_listed(r) for r in records]

    def download(self, identity: IdentityRef, listed: ListedReturn) -> bytes:
        with tempfile.TemporaryDirectory(dir=self.scratch) as tmp:
            dest = Path(tmp) / "return"
            self.client.download(self._token(identity), listed.url, dest)
            return dest.read_bytes()


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
