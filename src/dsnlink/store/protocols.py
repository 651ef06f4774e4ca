"""The repositories, as small interfaces. Implementations: :mod:`.memory` and :mod:`.sql`.

A :class:`Store` hands out a :class:`Repositories` bundle bound to one transaction: everything
done through it is committed together at the end of the ``write()`` block, or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

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
from dsnlink.vault.protocols import SealedSecretStore


class InstallationRepo(Protocol):
    def get(self) -> Installation | None: ...

    def create(
        self, *, name: str, mode: Mode, tiers_de_confiance: str | None, now: datetime
    ) -> Installation: ...


class UserRepo(Protocol):
    def add(
        self, *, login: str, display_name: str, password_hash: str, builtin: bool, now: datetime
    ) -> User:
        """Raises Conflict when the login exists already (whatever its case)."""
        ...

    def get(self, user_id: int) -> User | None: ...

    def login_of(self, user_id: int) -> str | None:
        """Only the login (no rights read): what naming an identity's owner needs."""
        ...

    def by_login(self, login: str) -> User | None:
        """Case-insensitive lookup."""
        ...

    def all(self) -> list[User]:
        """Every user, by login."""
        ...

    def update(
        self,
        user_id: int,
        *,
        now: datetime,
        display_name: str | None = None,
        password_hash: str | None = None,
        disabled: bool | None = None,
    ) -> None: ...

    def set_rights(self, user_id: int, rights: Iterable[Module]) -> None: ...

    def delete(self, user_id: int) -> None:
        """Also deletes the user's rights, identities and employer links."""
        ...


class ThrottleRepo(Protocol):
    def get(self, login_key: str) -> LoginFailures | None: ...

    def record_failure(self, login_key: str, now: datetime) -> LoginFailures: ...

    def clear(self, login_key: str) -> None: ...


class IdentityRepo(Protocol):
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
        """A new identity, state ``untested``. Conflict if the owner has one on that environment."""
        ...

    def get(self, identity_id: int) -> Identity | None: ...

    def find(self, owner_user_id: int, environment: Environment) -> Identity | None: ...

    def all(self, owner_user_id: int | None = None) -> list[Identity]: ...

    def update_fields(
        self, identity_id: int, *, siret: str, nom: str, prenom: str, now: datetime
    ) -> None:
        """New credentials: the state goes back to ``untested``."""
        ...

    def set_state(
        self,
        identity_id: int,
        *,
        state: IdentityState,
        detail: str | None,
        at: datetime,
        logged_in: bool,
    ) -> None: ...

    def delete(self, identity_id: int) -> None:
        """Also deletes the employer links that use it."""
        ...


class EmployerRepo(Protocol):
    def add(self, *, siret: str, name: str, due_day: int, now: datetime) -> Employer:
        """Conflict if the SIRET exists already."""
        ...

    def get(self, employer_id: int) -> Employer | None: ...

    def by_siret(self, siret: str) -> Employer | None: ...

    def all(self) -> list[Employer]: ...

    def delete(self, employer_id: int) -> None: ...

    def link(self, employer_id: int, user_id: int, identity_id: int | None) -> None:
        """Create or replace the link of this user to this employer."""
        ...

    def unlink(self, employer_id: int, user_id: int) -> bool: ...

    def links(
        self, *, employer_id: int | None = None, user_id: int | None = None
    ) -> list[EmployerLink]: ...


class AuditRepo(Protocol):
    def append(self, entry: NewAuditEntry) -> int: ...

    def search(
        self, *, since: datetime | None = None, actor_login: str | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        """Newest first."""
        ...


class SettingsRepo(Protocol):
    def get(self, scope: str, key: str) -> SettingValue | None: ...

    def put(self, scope: str, key: str, value: Any, now: datetime) -> None: ...

    def delete(self, scope: str, key: str) -> bool: ...

    def all(self, scope: str) -> list[SettingValue]: ...


class Repositories(Protocol):
    @property
    def installation(self) -> InstallationRepo: ...
    @property
    def users(self) -> UserRepo: ...
    @property
    def throttle(self) -> ThrottleRepo: ...
    @property
    def identities(self) -> IdentityRepo: ...
    @property
    def employers(self) -> EmployerRepo: ...
    @property
    def audit(self) -> AuditRepo: ...
    @property
    def settings(self) -> SettingsRepo: ...
    @property
    def secrets(self) -> SealedSecretStore: ...


class Store(Protocol):
    def read(self) -> AbstractContextManager[Repositories]: ...

    def write(self) -> AbstractContextManager[Repositories]: ...
