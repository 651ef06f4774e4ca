"""In-memory store: the same contract as the SQL store (tests run both), for fast unit tests.

A write block works on the live state after taking a snapshot; an exception restores the
snapshot, so a failed operation leaves nothing half-written, as a SQL rollback would.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from dsnlink.errors import Conflict
from dsnlink.store.records import (
    AuditEntry,
    Employer,
    EmployerLink,
    Environment,
    Identity,
    IdentityState,
    Installation,
    LoginFailures,
    Mode,
    Module,
    NewAuditEntry,
    SettingValue,
    User,
)
from dsnlink.store.sql import Clock, utc_now
from dsnlink.store.sql_accounts import login_key
from dsnlink.vault.protocols import SealedSecret, SecretRef


@dataclass
class _State:
    installation: Installation | None = None
    users: dict[int, User] = field(default_factory=dict)
    failures: dict[str, LoginFailures] = field(default_factory=dict)
    identities: dict[int, Identity] = field(default_factory=dict)
    employers: dict[int, Employer] = field(default_factory=dict)
    links: dict[tuple[int, int], EmployerLink] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    settings: dict[tuple[str, str], SettingValue] = field(default_factory=dict)
    secrets: dict[SecretRef, bytes] = field(default_factory=dict)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


class MemoryInstallationRepo:
    def __init__(self, s: _State) -> None:
        self._s = s

    def get(self) -> Installation | None:
        return self._s.installation

    def create(
        self, *, name: str, mode: Mode, tiers_de_confiance: str | None, now: datetime
    ) -> Installation:
        if self._s.installation is not None:
            raise Conflict("Une installation existe déjà dans cette base de données.")
        self._s.installation = Installation(name, Mode(mode), tiers_de_confiance, now)
        return self._s.installation


class MemoryUserRepo:
    def __init__(self, s: _State) -> None:
        self._s = s

    def add(
        self, *, login: str, display_name: str, password_hash: str, builtin: bool, now: datetime
    ) -> User:
        if self.by_login(login) is not None:
            raise Conflict(f"L'identifiant « {login} » existe déjà.", login=login)
        user = User(
            self._s.new_id(),
            login,
            display_name,
            password_hash,
            False,
            builtin,
            frozenset(),
            now,
            now,
        )
        self._s.users[user.id] = user
        return user

    def get(self, user_id: int) -> User | None:
        return self._s.users.get(user_id)

    def login_of(self, user_id: int) -> str | None:
        user = self._s.users.get(user_id)
        return None if user is None else user.login

    def by_login(self, login: str) -> User | None:
        key = login_key(login)
        return next((u for u in self._s.users.values() if login_key(u.login) == key), None)

    def all(self) -> list[User]:
        return sorted(self._s.users.values(), key=lambda u: login_key(u.login))

    def update(
        self,
        user_id: int,
        *,
        now: datetime,
        display_name: str | None = None,
        password_hash: str | None = None,
        disabled: bool | None = None,
    ) -> None:
        user = self._s.users.get(user_id)
        if user is None:
            return
        changes: dict[str, Any] = {"updated_at": now}
        if display_name is not None:
            changes["display_name"] = display_name
        if password_hash is not None:
            changes["password_hash"] = password_hash
        if disabled is not None:
            changes["disabled"] = disabled
        self._s.users[user_id] = replace(user, **changes)

    def set_rights(self, user_id: int, rights: Iterable[Module]) -> None:
        user = self._s.users.get(user_id)
        modules = frozenset(Module(m) for m in rights)
        if user is None:
            if modules:
                raise Conflict("Cet utilisateur n'existe pas.", user_id=user_id)
            return
        self._s.users[user_id] = replace(user, rights=modules)

    def delete(self, user_id: int) -> None:
        if self._s.users.pop(user_id, None) is None:
            return
        for identity in [i for i in self._s.identities.values() if i.owner_user_id == user_id]:
            MemoryIdentityRepo(self._s).delete(identity.id)
        for key in [k for k in self._s.links if k[1] == user_id]:
            del self._s.links[key]


class MemoryThrottleRepo:
    def __init__(self, s: _State) -> None:
        self._s = s

    def get(self, login_key: str) -> LoginFailures | None:
        return self._s.failures.get(login_key)

    def record_failure(self, login_key: str, now: datetime) -> LoginFailures:
        current = self._s.failures.get(login_key)
        count = 1 if current is None else current.failures + 1
        self._s.failures[login_key] = LoginFailures(login_key, count, now)
        return self._s.failures[login_key]

    def clear(self, login_key: str) -> None:
        self._s.failures.pop(login_key, None)


class MemoryIdentityRepo:
    def __init__(self, s: _State) -> None:
        self._s = s

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
        if owner_user_id not in self._s.users:
            raise Conflict("Cet utilisateur n'existe pas.", user_id=owner_user_id)
        if self.find(owner_user_id, environment) is not None:
            raise Conflict(
                "Cet utilisateur a déjà une identité Net-entreprises pour cet environnement.",
                environment=environment.value,
            )
        identity = Identity(
            id=self._s.new_id(),
            owner_user_id=owner_user_id,
            environment=Environment(environment),
            siret=siret,
            nom=nom,
            prenom=prenom,
            state=IdentityState.UNTESTED,
            state_detail=None,
            state_at=None,
            last_login_at=None,
            created_at=now,
            updated_at=now,
        )
        self._s.identities[identity.id] = identity
        return identity

    def get(self, identity_id: int) -> Identity | None:
        return self._s.identities.get(identity_id)

    def find(self, owner_user_id: int, environment: Environment) -> Identity | None:
        return next(
            (
                i
                for i in self._s.identities.values()
                if i.owner_user_id == owner_user_id and i.environment == environment
            ),
            None,
        )

    def all(self, owner_user_id: int | None = None) -> list[Identity]:
        return sorted(
            (
                i
                for i in self._s.identities.values()
                if owner_user_id is None or i.owner_user_id == owner_user_id
            ),
            key=lambda i: i.id,
        )

    def update_fields(
        self, identity_id: int, *, siret: str, nom: str, prenom: str, now: datetime
    ) -> None:
        identity = self._s.identities.get(identity_id)
        if identity is not None:
            self._s.identities[identity_id] = replace(
                identity,
                siret=siret,
                nom=nom,
                prenom=prenom,
                state=IdentityState.UNTESTED,
                state_detail=None,
                state_at=now,
                updated_at=now,
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
        identity = self._s.identities.get(identity_id)
        if identity is not None:
            self._s.identities[identity_id] = replace(
                identity,
                state=IdentityState(state),
                state_detail=detail,
                state_at=at,
                last_login_at=at if logged_in else identity.last_login_at,
            )

    def delete(self, identity_id: int) -> None:
        if self._s.identities.pop(identity_id, None) is None:
            return
        for key in [k for k, v in self._s.links.items() if v.identity_id == identity_id]:
            del self._s.links[key]


class MemoryEmployerRepo:
    def __init__(self, s: _State) -> None:
        self._s = s

    def add(self, *, siret: str, name: str, due_day: int, now: datetime) -> Employer:
        if self.by_siret(siret) is not None:
            raise Conflict(f"L'employeur de SIRET {siret} existe déjà.", siret=siret)
        if due_day not in (5, 15):
            raise Conflict("Échéance impossible.", due_day=due_day)
        employer = Employer(self._s.new_id(), siret, name, due_day, now)
        self._s.employers[employer.id] = employer
        return employer

    def get(self, employer_id: int) -> Employer | None:
        return self._s.employers.get(employer_id)

    def by_siret(self, siret: str) -> Employer | None:
        return next((e for e in self._s.employers.values() if e.siret == siret), None)

    def all(self) -> list[Employer]:
        return sorted(self._s.employers.values(), key=lambda e: (e.name, e.id))

    def delete(self, employer_id: int) -> None:
        self._s.employers.pop(employer_id, None)
        for key in [k for k in self._s.links if k[0] == employer_id]:
            del self._s.links[key]

    def link(self, employer_id: int, user_id: int, identity_id: int | None) -> None:
        if (
            employer_id not in self._s.employers
            or user_id not in self._s.users
            or (identity_id is not None and identity_id not in self._s.identities)
        ):
            raise Conflict("L'employeur, l'utilisateur ou l'identité n'existe pas.")
        self._s.links[(employer_id, user_id)] = EmployerLink(employer_id, user_id, identity_id)

    def unlink(self, employer_id: int, user_id: int) -> bool:
        return self._s.links.pop((employer_id, user_id), None) is not None

    def links(
        self, *, employer_id: int | None = None, user_id: int | None = None
    ) -> list[EmployerLink]:
        return [
            link
            for key, link in sorted(self._s.links.items())
            if (employer_id is None or key[0] == employer_id)
            and (user_id is None or key[1] == user_id)
        ]


class MemoryAuditRepo:
    def __init__(self, s: _State) -> None:
        self._s = s

    def append(self, entry: NewAuditEntry) -> int:
        entry_id = len(self._s.audit) + 1
        self._s.audit.append(
            AuditEntry(
                entry_id,
                entry.at,
                entry.actor_user_id,
                entry.actor_login,
                entry.as_whom,
                entry.action,
                entry.object_type,
                entry.object_id,
                copy.deepcopy(entry.detail),
            )
        )
        return entry_id

    def search(
        self, *, since: datetime | None = None, actor_login: str | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        found = [
            e
            for e in reversed(self._s.audit)
            if (since is None or e.at >= since)
            and (actor_login is None or (e.actor_login or "").lower() == actor_login.lower())
        ]
        return found[:limit]


class MemorySettingsRepo:
    def __init__(self, s: _State) -> None:
        self._s = s

    def get(self, scope: str, key: str) -> SettingValue | None:
        return self._s.settings.get((scope, key))

    def put(self, scope: str, key: str, value: Any, now: datetime) -> None:
        self._s.settings[(scope, key)] = SettingValue(scope, key, copy.deepcopy(value), now)

    def delete(self, scope: str, key: str) -> bool:
        return self._s.settings.pop((scope, key), None) is not None

    def all(self, scope: str) -> list[SettingValue]:
        return [v for (s, _k), v in sorted(self._s.settings.items()) if s == scope]


class MemorySecretsRepo:
    def __init__(self, s: _State) -> None:
        self._s = s

    def get_sealed(self, ref: SecretRef) -> bytes | None:
        return self._s.secrets.get(ref)

    def put_sealed(self, ref: SecretRef, blob: bytes) -> None:
        self._s.secrets[ref] = bytes(blob)

    def delete_sealed(self, ref: SecretRef) -> None:
        self._s.secrets.pop(ref, None)

    def iter_sealed(self, *, after: SecretRef | None, limit: int) -> list[SealedSecret]:
        refs = sorted(r for r in self._s.secrets if after is None or r > after)[:limit]
        return [SealedSecret(r, self._s.secrets[r]) for r in refs]

    def replace_sealed(self, ref: SecretRef, old: bytes, new: bytes) -> bool:
        if self._s.secrets.get(ref) != old:
            return False
        self._s.secrets[ref] = bytes(new)
        return True


class MemoryRepositories:
    def __init__(self, state: _State) -> None:
        self.installation = MemoryInstallationRepo(state)
        self.users = MemoryUserRepo(state)
        self.throttle = MemoryThrottleRepo(state)
        self.identities = MemoryIdentityRepo(state)
        self.employers = MemoryEmployerRepo(state)
        self.audit = MemoryAuditRepo(state)
        self.settings = MemorySettingsRepo(state)
        self.secrets = MemorySecretsRepo(state)


class MemoryStore:
    """A :class:`~dsnlink.store.protocols.Store` in memory, one writer at a time."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self._state = _State()
        self._lock = threading.RLock()
        self._clock = clock

    @contextmanager
    def read(self) -> Iterator[MemoryRepositories]:
        with self._lock:
            yield MemoryRepositories(self._state)

    @contextmanager
    def write(self) -> Iterator[MemoryRepositories]:
        with self._lock:
            # Records are immutable and mutable values are copied on the way in: copying the
            # containers is a full snapshot.
            snapshot = _State(
                **{name: copy.copy(value) for name, value in self._state.__dict__.items()}
            )
            try:
                yield MemoryRepositories(self._state)
            except BaseException:
                self._state.__dict__.update(snapshot.__dict__)
                raise
