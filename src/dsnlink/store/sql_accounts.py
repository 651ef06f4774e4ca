"""SQL repositories of the installation, users, rights, login failures and identities."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from dsnlink.store import tables as t
from dsnlink.store.records import (
    Environment,
    Identity,
    IdentityState,
    Installation,
    LoginFailures,
    Mode,
    Module,
    User,
)
from dsnlink.store.sql_rows import conflicts, reading

# Lookups of every deposit and poll, built once (a statement and its cache key cost more CPU to
# build than SQLite takes to run them).
_USER_BY_ID = select(t.users).where(t.users.c.id == bindparam("uid"))
_LOGIN_OF = select(t.users.c.login).where(t.users.c.id == bindparam("uid"))
_USER_BY_LOGIN = select(t.users).where(t.users.c.login_key == bindparam("key"))
_RIGHTS_OF = select(t.rights.c.user_id, t.rights.c.module).where(
    t.rights.c.user_id.in_(bindparam("ids", expanding=True))
)
# One user (by id or login, the busy case): an expanding IN is rendered again at every
# execution, a plain equality is compiled once.
_RIGHTS_OF_ONE = select(t.rights.c.user_id, t.rights.c.module).where(
    t.rights.c.user_id == bindparam("uid")
)
_IDENTITY_BY_ID = select(t.identities).where(t.identities.c.id == bindparam("iid"))
_IDENTITIES_OF_OWNER = (
    select(t.identities)
    .where(t.identities.c.owner_user_id == bindparam("owner"))
    .order_by(t.identities.c.id)
)


def login_key(login: str) -> str:
    return login.casefold()


class SqlInstallationRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self) -> Installation | None:
        row = self._c.execute(select(t.installation)).mappings().first()
        if row is None:
            return None
        with reading("installation", 1):
            return Installation(
                name=row["name"],
                mode=Mode(row["mode"]),
                tiers_de_confiance=row["tiers_de_confiance"],
                created_at=row["created_at"],
            )

    def create(
        self, *, name: str, mode: Mode, tiers_de_confiance: str | None, now: datetime
    ) -> Installation:
        with conflicts("Une installation existe déjà dans cette base de données."):
            self._c.execute(
                insert(t.installation).values(
                    id=1,
                    name=name,
                    mode=mode.value,
                    tiers_de_confiance=tiers_de_confiance,
                    created_at=now,
                )
            )
        return Installation(name, mode, tiers_de_confiance, now)


class SqlUserRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(
        self, *, login: str, display_name: str, password_hash: str, builtin: bool, now: datetime
    ) -> User:
        with conflicts(f"L'identifiant « {login} » existe déjà.", login=login):
            user_id = self._c.execute(
                insert(t.users)
                .values(
                    login=login,
                    login_key=login_key(login),
                    display_name=display_name,
                    password_hash=password_hash,
                    disabled=False,
                    builtin=builtin,
                    created_at=now,
                    updated_at=now,
                )
                .returning(t.users.c.id)
            ).scalar_one()
        return User(
            user_id, login, display_name, password_hash, False, builtin, frozenset(), now, now
        )

    def _users(self, rows: Iterable[RowMapping]) -> list[User]:
        rows = list(rows)
        ids = [r["id"] for r in rows]
        rights: dict[int, set[Module]] = {i: set() for i in ids}
        if ids:
            found = (
                self._c.execute(_RIGHTS_OF_ONE, {"uid": ids[0]})
                if len(ids) == 1
                else self._c.execute(_RIGHTS_OF, {"ids": ids})
            )
            for user_id, module in found:
                with reading("rights", user_id):
                    rights[user_id].add(Module(module))
        result = []
        for r in rows:
            with reading("users", r["id"]):
                result.append(
                    User(
                        id=r["id"],
                        login=str(r["login"]),
                        display_name=str(r["display_name"]),
                        password_hash=str(r["password_hash"]),
                        disabled=bool(r["disabled"]),
                        builtin=bool(r["builtin"]),
                        rights=frozenset(rights[r["id"]]),
                        created_at=r["created_at"],
                        updated_at=r["updated_at"],
                    )
                )
        return result

    def get(self, user_id: int) -> User | None:
        rows = self._c.execute(_USER_BY_ID, {"uid": user_id}).mappings()
        found = self._users(rows)
        return found[0] if found else None

    def login_of(self, user_id: int) -> str | None:
        login = self._c.execute(_LOGIN_OF, {"uid": user_id}).scalar()
        return None if login is None else str(login)

    def by_login(self, login: str) -> User | None:
        rows = self._c.execute(_USER_BY_LOGIN, {"key": login_key(login)}).mappings()
        found = self._users(rows)
        return found[0] if found else None

    def all(self) -> list[User]:
        query = select(t.users).order_by(t.users.c.login_key)
        return self._users(self._c.execute(query).mappings())

    def update(
        self,
        user_id: int,
        *,
        now: datetime,
        display_name: str | None = None,
        password_hash: str | None = None,
        disabled: bool | None = None,
    ) -> None:
        values: dict[str, Any] = {"updated_at": now}
        if display_name is not None:
            values["display_name"] = display_name
        if password_hash is not None:
            values["password_hash"] = password_hash
        if disabled is not None:
            values["disabled"] = disabled
        self._c.execute(update(t.users).where(t.users.c.id == user_id).values(**values))

    def set_rights(self, user_id: int, rights: Iterable[Module]) -> None:
        self._c.execute(delete(t.rights).where(t.rights.c.user_id == user_id))
        modules = sorted({Module(m) for m in rights})
        if modules:
            with conflicts("Cet utilisateur n'existe pas.", user_id=user_id):
                self._c.execute(
                    insert(t.rights), [{"user_id": user_id, "module": m.value} for m in modules]
                )

    def delete(self, user_id: int) -> None:
        # Foreign keys cascade to rights, identities and links (PRAGMA foreign_keys on SQLite).
        self._c.execute(delete(t.users).where(t.users.c.id == user_id))


class SqlThrottleRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self, login_key: str) -> LoginFailures | None:
        row = (
            self._c.execute(
                select(t.login_failures).where(t.login_failures.c.login_key == login_key)
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return LoginFailures(login_key, int(row["failures"]), row["last_failure_at"])

    def record_failure(self, login_key: str, now: datetime) -> LoginFailures:
        current = self.get(login_key)
        if current is None:
            self._c.execute(
                insert(t.login_failures).values(
                    login_key=login_key, failures=1, last_failure_at=now
                )
            )
            return LoginFailures(login_key, 1, now)
        self._c.execute(
            update(t.login_failures)
            .where(t.login_failures.c.login_key == login_key)
            .values(failures=t.login_failures.c.failures + 1, last_failure_at=now)
        )
        return LoginFailures(login_key, current.failures + 1, now)

    def clear(self, login_key: str) -> None:
        self._c.execute(delete(t.login_failures).where(t.login_failures.c.login_key == login_key))


def _identity(row: RowMapping) -> Identity:
    with reading("identities", row["id"]):
        return Identity(
            id=row["id"],
            owner_user_id=row["owner_user_id"],
            environment=Environment(row["environment"]),
            siret=str(row["siret"]),
            nom=str(row["nom"]),
            prenom=str(row["prenom"]),
            state=IdentityState(row["state"]),
            state_detail=row["state_detail"],
            state_at=row["state_at"],
            last_login_at=row["last_login_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


class SqlIdentityRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(
        self,
        *,
        owner_user_id: int,
        environment: Environment,
        siret: str,
        nom: str,
        prenom: str,
        now: datetime,
    ) -> Identity:
        with conflicts(
            "Cet utilisateur a déjà une identité Net-entreprises pour cet environnement.",
            environment=environment.value,
        ):
            identity_id = self._c.execute(
                insert(t.identities)
                .values(
                    owner_user_id=owner_user_id,
                    environment=environment.value,
                    siret=siret,
                    nom=nom,
                    prenom=prenom,
                    state=IdentityState.UNTESTED.value,
                    created_at=now,
                    updated_at=now,
                )
                .returning(t.identities.c.id)
            ).scalar_one()
        found = self.get(identity_id)
        assert found is not None
        return found

    def get(self, identity_id: int) -> Identity | None:
        row = self._c.execute(_IDENTITY_BY_ID, {"iid": identity_id}).mappings().first()
        return None if row is None else _identity(row)

    def find(self, owner_user_id: int, environment: Environment) -> Identity | None:
        row = (
            self._c.execute(
                select(t.identities).where(
                    t.identities.c.owner_user_id == owner_user_id,
                    t.identities.c.environment == environment.value,
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _identity(row)

    def all(self, owner_user_id: int | None = None) -> list[Identity]:
        if owner_user_id is not None:  # every file received: the acting user's identities
            rows = self._c.execute(_IDENTITIES_OF_OWNER, {"owner": owner_user_id})
        else:
            rows = self._c.execute(select(t.identities).order_by(t.identities.c.id))
        return [_identity(r) for r in rows.mappings()]

    def update_fields(
        self, identity_id: int, *, siret: str, nom: str, prenom: str, now: datetime
    ) -> None:
        self._c.execute(
            update(t.identities)
            .where(t.identities.c.id == identity_id)
            .values(
                siret=siret,
                nom=nom,
                prenom=prenom,
                state=IdentityState.UNTESTED.value,
                state_detail=None,
                state_at=now,
                updated_at=now,
            )
        )

    def set_state(
        self,
        identity_id: int,
        *,
        state: IdentityState,
        detail: str | None,
        at: datetime,
        logged_in: bool,
    ) -> None:
        values: dict[str, Any] = {"state": state.value, "state_detail": detail, "state_at": at}
        if logged_in:
            values["last_login_at"] = at
        self._c.execute(
            update(t.identities).where(t.identities.c.id == identity_id).values(**values)
        )

    def delete(self, identity_id: int) -> None:
        self._c.execute(delete(t.identities).where(t.identities.c.id == identity_id))
