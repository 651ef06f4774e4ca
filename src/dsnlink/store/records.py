"""What the store holds, as plain immutable records shared by every repository."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Mode(StrEnum):
    """How the installation is deployed."""

    MONOPOSTE = "monoposte"  # one workstation, SQLite in the data folder
    RESEAU = "reseau"  # a shared PostgreSQL server, several workstations


class Module(StrEnum):
    """Rights are given per module, as in the seed's maintenance centre."""

    CONFIGURATION = "configuration"
    ADMINISTRATION = "administration"
    PAYSLIPS = "payslips"
    DECLARATIONS = "declarations"


class Environment(StrEnum):
    """Which Net-entreprises platform an identity authenticates on."""

    PRODUCTION = "production"
    EDITORS_TEST = "editors-test"
    MSA = "msa"
    SIMULATOR = "simulator"
    CUSTOM = "custom"


class IdentityState(StrEnum):
    """What the last authentication with an identity taught us."""

    UNTESTED = "untested"
    OK = "ok"
    WRONG_CREDENTIALS = "wrong_credentials"
    PASSWORD_EXPIRED = "password_expired"  # noqa: S105 - a state name
    NOT_REGISTERED = "not_registered"
    LOCKED = "locked"
    FAILING = "failing"  # network or service trouble: says nothing about the credentials


@dataclass(frozen=True)
class Installation:
    name: str
    mode: Mode
    tiers_de_confiance: str | None
    created_at: datetime


@dataclass(frozen=True)
class User:
    id: int
    login: str
    display_name: str
    password_hash: str = field(repr=False)
    disabled: bool
    builtin: bool
    rights: frozenset[Module]
    created_at: datetime
    updated_at: datetime

    def has(self, module: Module) -> bool:
        return module in self.rights


@dataclass(frozen=True)
class LoginFailures:
    login_key: str
    failures: int
    last_failure_at: datetime


@dataclass(frozen=True)
class Identity:
    """A Net-entreprises identity. The password is not here: it lives sealed in ``secrets``."""

    id: int
    owner_user_id: int
    environment: Environment
    siret: str
    nom: str
    prenom: str
    state: IdentityState
    state_detail: str | None
    state_at: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Employer:
    id: int
    siret: str
    name: str
    due_day: int
    created_at: datetime


@dataclass(frozen=True)
class EmployerLink:
    """User ``user_id`` may declare for ``employer_id``, with ``identity_id`` (None: their own)."""

    employer_id: int
    user_id: int
    identity_id: int | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_user_id: int | None
    actor_login: str | None
    as_whom: str | None
    action: str
    object_type: str
    object_id: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class NewAuditEntry:
    at: datetime
    actor_user_id: int | None
    actor_login: str | None
    action: str
    object_type: str
    object_id: str | None = None
    as_whom: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SettingValue:
    scope: str
    key: str
    value: Any
    updated_at: datetime
