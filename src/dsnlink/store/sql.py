"""The SQL store: repositories bound to one transaction of a :class:`Database`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy.engine import Connection

from dsnlink.store.database import Database
from dsnlink.store.sql_accounts import (
    SqlIdentityRepo,
    SqlInstallationRepo,
    SqlThrottleRepo,
    SqlUserRepo,
)
from dsnlink.store.sql_other import (
    SqlAuditRepo,
    SqlEmployerRepo,
    SqlSecretsRepo,
    SqlSettingsRepo,
)
from dsnlink.vault.protocols import SealedSecret, SecretRef

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class SqlRepositories:
    """Every repository, on one connection: one transaction for all of them."""

    def __init__(self, conn: Connection, clock: Clock = utc_now) -> None:
        self.installation = SqlInstallationRepo(conn)
        self.users = SqlUserRepo(conn)
        self.throttle = SqlThrottleRepo(conn)
        self.identities = SqlIdentityRepo(conn)
        self.employers = SqlEmployerRepo(conn)
        self.audit = SqlAuditRepo(conn)
        self.settings = SqlSettingsRepo(conn)
        self.secrets = SqlSecretsRepo(conn, clock())


class SqlStore:
    """:class:`~dsnlink.store.protocols.Store` over a database whose schema is current."""

    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self.db = db
        self._clock = clock

    @contextmanager
    def read(self) -> Iterator[SqlRepositories]:
        with self.db.read() as conn:
            yield SqlRepositories(conn, self._clock)

    @contextmanager
    def write(self) -> Iterator[SqlRepositories]:
        with self.db.write() as conn:
            yield SqlRepositories(conn, self._clock)


class SqlSealedSecretStore:
    """The vault's :class:`SealedSecretStore` on the ``secrets`` table, a transaction per call.

    Code that must write a secret together with other rows uses ``repos.secrets`` inside its
    own ``store.write()`` block instead.
    """

    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def get_sealed(self, ref: SecretRef) -> bytes | None:
        with self._db.read() as conn:
            return SqlSecretsRepo(conn, self._clock()).get_sealed(ref)

    def put_sealed(self, ref: SecretRef, blob: bytes) -> None:
        with self._db.write() as conn:
            SqlSecretsRepo(conn, self._clock()).put_sealed(ref, blob)

    def delete_sealed(self, ref: SecretRef) -> None:
        with self._db.write() as conn:
            SqlSecretsRepo(conn, self._clock()).delete_sealed(ref)

    def iter_sealed(self, *, after: SecretRef | None, limit: int) -> list[SealedSecret]:
        with self._db.read() as conn:
            return SqlSecretsRepo(conn, self._clock()).iter_sealed(after=after, limit=limit)

    def replace_sealed(self, ref: SecretRef, old: bytes, new: bytes) -> bool:
        with self._db.write() as conn:
            return SqlSecretsRepo(conn, self._clock()).replace_sealed(ref, old, new)

    def replace_sealed_many(self, swaps: Sequence[tuple[SecretRef, bytes, bytes]]) -> list[bool]:
        """Compare-and-swap each blob, all in one transaction (the vault's rotation batches)."""
        with self._db.write() as conn:
            return SqlSecretsRepo(conn, self._clock()).replace_sealed_many(swaps)
