"""SQL repositories of employers and links, the audit log, settings and sealed secrets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.sql.elements import ColumnElement

from dsnlink.store import tables as t
from dsnlink.store.records import AuditEntry, Employer, EmployerLink, NewAuditEntry, SettingValue
from dsnlink.store.sql_rows import conflicts, reading
from dsnlink.vault.protocols import SealedSecret, SecretRef


def _employer(row: RowMapping) -> Employer:
    with reading("employers", row["id"]):
        return Employer(
            id=row["id"],
            siret=str(row["siret"]),
            name=str(row["name"]),
            due_day=int(row["due_day"]),
            created_at=row["created_at"],
        )


# Lookups of every file received, built once (building costs more than running them).
_EMPLOYER_BY_SIRET = select(t.employers).where(t.employers.c.siret == bindparam("siret"))
_LINK = t.employer_links
_LINKS_OF = (
    select(_LINK)
    .where(_LINK.c.employer_id == bindparam("eid"), _LINK.c.user_id == bindparam("uid"))
    .order_by(_LINK.c.employer_id, _LINK.c.user_id)
)


class SqlEmployerRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, *, siret: str, name: str, due_day: int, now: datetime) -> Employer:
        with conflicts(f"L'employeur de SIRET {siret} existe déjà.", siret=siret):
            employer_id = self._c.execute(
                insert(t.employers)
                .values(siret=siret, name=name, due_day=due_day, created_at=now)
                .returning(t.employers.c.id)
            ).scalar_one()
        return Employer(employer_id, siret, name, due_day, now)

    def get(self, employer_id: int) -> Employer | None:
        query = select(t.employers).where(t.employers.c.id == employer_id)
        row = self._c.execute(query).mappings().first()
        return None if row is None else _employer(row)

    def by_siret(self, siret: str) -> Employer | None:
        row = self._c.execute(_EMPLOYER_BY_SIRET, {"siret": siret}).mappings().first()
        return None if row is None else _employer(row)

    def all(self) -> list[Employer]:
        query = select(t.employers).order_by(t.employers.c.name, t.employers.c.id)
        return [_employer(r) for r in self._c.execute(query).mappings()]

    def delete(self, employer_id: int) -> None:
        self._c.execute(delete(t.employers).where(t.employers.c.id == employer_id))

    def link(self, employer_id: int, user_id: int, identity_id: int | None) -> None:
        self.unlink(employer_id, user_id)
        with conflicts("L'employeur, l'utilisateur ou l'identité n'existe pas."):
            self._c.execute(
                insert(t.employer_links).values(
                    employer_id=employer_id, user_id=user_id, identity_id=identity_id
                )
            )

    def unlink(self, employer_id: int, user_id: int) -> bool:
        result = self._c.execute(
            delete(t.employer_links).where(
                t.employer_links.c.employer_id == employer_id,
                t.employer_links.c.user_id == user_id,
            )
        )
        return bool(result.rowcount)

    def links(
        self, *, employer_id: int | None = None, user_id: int | None = None
    ) -> list[EmployerLink]:
        links = t.employer_links
        if employer_id is not None and user_id is not None:
            rows = self._c.execute(_LINKS_OF, {"eid": employer_id, "uid": user_id}).mappings()
            return [EmployerLink(r["employer_id"], r["user_id"], r["identity_id"]) for r in rows]
        query = select(links).order_by(links.c.employer_id, links.c.user_id)
        if employer_id is not None:
            query = query.where(links.c.employer_id == employer_id)
        if user_id is not None:
            query = query.where(links.c.user_id == user_id)
        return [
            EmployerLink(r["employer_id"], r["user_id"], r["identity_id"])
            for r in self._c.execute(query).mappings()
        ]


class SqlAuditRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def append(self, entry: NewAuditEntry) -> int:
        return int(
            self._c.execute(
                insert(t.audit_log)
                .values(
                    at=entry.at,
                    actor_user_id=entry.actor_user_id,
                    actor_login=entry.actor_login,
                    as_whom=entry.as_whom,
                    action=entry.action,
                    object_type=entry.object_type,
                    object_id=entry.object_id,
                    detail=entry.detail,
                )
                .returning(t.audit_log.c.id)
            ).scalar_one()
        )

    def search(
        self, *, since: datetime | None = None, actor_login: str | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        log = t.audit_log
        query = select(log).order_by(log.c.id.desc()).limit(limit)
        if since is not None:
            query = query.where(log.c.at >= since)
        if actor_login is not None:
            query = query.where(func.lower(log.c.actor_login) == actor_login.lower())
        entries = []
        for r in self._c.execute(query).mappings():
            with reading("audit_log", r["id"]):
                detail = r["detail"]
                if not isinstance(detail, dict):
                    raise TypeError("audit detail is not an object")
                entries.append(
                    AuditEntry(
                        id=r["id"],
                        at=r["at"],
                        actor_user_id=r["actor_user_id"],
                        actor_login=r["actor_login"],
                        as_whom=r["as_whom"],
                        action=r["action"],
                        object_type=r["object_type"],
                        object_id=r["object_id"],
                        detail=detail,
                    )
                )
        return entries


class SqlSettingsRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def _where(self, scope: str, key: str) -> ColumnElement[bool]:
        return and_(t.settings.c.scope == scope, t.settings.c.key == key)

    def get(self, scope: str, key: str) -> SettingValue | None:
        row = self._c.execute(select(t.settings).where(self._where(scope, key))).mappings().first()
        if row is None:
            return None
        return SettingValue(scope, key, row["value"], row["updated_at"])

    def put(self, scope: str, key: str, value: Any, now: datetime) -> None:
        updated = self._c.execute(
            update(t.settings).where(self._where(scope, key)).values(value=value, updated_at=now)
        )
        if not updated.rowcount:
            self._c.execute(
                insert(t.settings).values(scope=scope, key=key, value=value, updated_at=now)
            )

    def delete(self, scope: str, key: str) -> bool:
        return bool(self._c.execute(delete(t.settings).where(self._where(scope, key))).rowcount)

    def all(self, scope: str) -> list[SettingValue]:
        query = select(t.settings).where(t.settings.c.scope == scope).order_by(t.settings.c.key)
        return [
            SettingValue(scope, r["key"], r["value"], r["updated_at"])
            for r in self._c.execute(query).mappings()
        ]


class SqlSecretsRepo:
    """:class:`SealedSecretStore` on one connection (inside the caller's transaction)."""

    def __init__(self, conn: Connection, now: datetime) -> None:
        self._c = conn
        self._now = now
        # SecretRef order is code point order: PostgreSQL must not use a locale's collation.
        self._pg = conn.dialect.name == "postgresql"

    def _col(self, name: str) -> ColumnElement[Any]:
        column: ColumnElement[Any] = t.secrets.c[name]
        return column.collate("C") if self._pg else column

    def _where(self, ref: SecretRef) -> ColumnElement[bool]:
        s = t.secrets.c
        return and_(s.table_name == ref.table, s.row_id == ref.row_id, s.field == ref.field)

    def get_sealed(self, ref: SecretRef) -> bytes | None:
        blob = self._c.execute(select(t.secrets.c.blob).where(self._where(ref))).scalar()
        return None if blob is None else bytes(blob)

    def put_sealed(self, ref: SecretRef, blob: bytes) -> None:
        updated = self._c.execute(
            update(t.secrets).where(self._where(ref)).values(blob=blob, updated_at=self._now)
        )
        if not updated.rowcount:
            self._c.execute(
                insert(t.secrets).values(
                    table_name=ref.table,
                    row_id=ref.row_id,
                    field=ref.field,
                    blob=blob,
                    updated_at=self._now,
                )
            )

    def delete_sealed(self, ref: SecretRef) -> None:
        self._c.execute(delete(t.secrets).where(self._where(ref)))

    def iter_sealed(self, *, after: SecretRef | None, limit: int) -> list[SealedSecret]:
        table, row, field = self._col("table_name"), self._col("row_id"), self._col("field")
        query = select(t.secrets).order_by(table, row, field).limit(limit)
        if after is not None:
            query = query.where(
                or_(
                    table > after.table,
                    and_(table == after.table, row > after.row_id),
                    and_(table == after.table, row == after.row_id, field > after.field),
                )
            )
        return [
            SealedSecret(SecretRef(r["table_name"], r["row_id"], r["field"]), bytes(r["blob"]))
            for r in self._c.execute(query).mappings()
        ]

    def replace_sealed(self, ref: SecretRef, old: bytes, new: bytes) -> bool:
        result = self._c.execute(
            update(t.secrets)
            .where(self._where(ref), t.secrets.c.blob == old)
            .values(blob=new, updated_at=self._now)
        )
        return bool(result.rowcount)

    def replace_sealed_many(self, swaps: Sequence[tuple[SecretRef, bytes, bytes]]) -> list[bool]:
        """``replace_sealed`` for each ``(ref, old, new)``, as one prepared statement run many
        times (building a statement per row costs more than the update itself)."""
        if not swaps:
            return []
        params = [
            {"k_table": r.table, "k_row": r.row_id, "k_field": r.field, "k_old": o, "k_new": n}
            | {"k_now": self._now}
            for r, o, n in swaps
        ]
        result = self._c.execute(_SWAP, params)
        if result.rowcount == len(swaps):
            return [True] * len(swaps)
        # Some blobs changed meanwhile (or the driver does not count): a swapped row now holds
        # its new blob, which nobody else can have written (fresh random nonces).
        return [self.get_sealed(ref) == new for ref, _old, new in swaps]


_SWAP = (
    update(t.secrets)
    .where(
        t.secrets.c.table_name == bindparam("k_table"),
        t.secrets.c.row_id == bindparam("k_row"),
        t.secrets.c.field == bindparam("k_field"),
        t.secrets.c.blob == bindparam("k_old"),
    )
    .values(blob=bindparam("k_new"), updated_at=bindparam("k_now"))
)
