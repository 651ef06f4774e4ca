"""SQLAlchemy Core tables of dsnlink: one ``metadata`` for every area.

Other areas add their tables to this same ``metadata`` (and a migration after the current
head), so that the migration test keeps comparing the whole schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names: migrations can refer to them on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both dialects (SQLite has no time zone: stored as naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise ValueError(f"not a datetime: {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: list[str] | list[int]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


MODES = ["monoposte", "reseau"]
MODULES = ["configuration", "administration", "payslips", "declarations"]
ENVIRONMENTS = ["production", "editors-test", "msa", "simulator", "custom"]
IDENTITY_STATES = [
    "untested",
    "ok",
    "wrong_credentials",
    "password_expired",
    "not_registered",
    "locked",
    "failing",
]

installation = Table(
    "installation",
    metadata,
    # A single row: the installation this database belongs to.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("tiers_de_confiance", String(200), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
    CheckConstraint(_in("mode", MODES), name="mode"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("login", String(64), nullable=False),
    # casefold() of the login: logins are unique whatever their case.
    Column("login_key", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean(), nullable=False),
    Column("builtin", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

rights = Table(
    "rights",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("module", String(32), nullable=False),
    PrimaryKeyConstraint("user_id", "module"),
    CheckConstraint(_in("module", MODULES), name="module"),
)

login_failures = Table(
    "login_failures",
    metadata,
    # Keyed by login, known or not, so that throttling says nothing about which logins exist.
    Column("login_key", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UtcDateTime(), nullable=False),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner_user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("environment", String(32), nullable=False),
    Column("siret", String(14), nullable=False),
    Column("nom", String(64), nullable=False),
    Column("prenom", String(39), nullable=False),
    Column("state", String(32), nullable=False),
    Column("state_detail", String(500), nullable=True),
    Column("state_at", UtcDateTime(), nullable=True),
    Column("last_login_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("owner_user_id", "environment", name="uq_identities_owner_environment"),
    CheckConstraint(_in("environment", ENVIRONMENTS), name="environment"),
    CheckConstraint(_in("state", IDENTITY_STATES), name="state"),
)

employers = Table(
    "employers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("siret", String(14), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("due_day", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    CheckConstraint(_in("due_day", [5, 15]), name="due_day"),
)

employer_links = Table(
    "employer_links",
    metadata,
    Column("employer_id", Integer, ForeignKey("employers.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("identity_id", Integer, ForeignKey("identities.id", ondelete="CASCADE"), nullable=True),
    PrimaryKeyConstraint("employer_id", "user_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime(), nullable=False, index=True),
    # No foreign key: the history outlives deleted accounts.
    Column("actor_user_id", Integer, nullable=True),
    Column("actor_login", String(64), nullable=True),
    Column("as_whom", String(200), nullable=True),
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(64), nullable=True),
    Column("detail", JSON(), nullable=False),
    # The journal page filters by actor and by action (migration 0102_web_read_indexes).
    Index("ix_audit_log_actor_login", "actor_login"),
    Index("ix_audit_log_action", "action"),
)

secrets = Table(
    "secrets",
    metadata,
    Column("table_name", String(64), nullable=False),
    Column("row_id", String(64), nullable=False),
    Column("field", String(64), nullable=False),
    Column("blob", LargeBinary(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("table_name", "row_id", "field"),
)

settings = Table(
    "settings",
    metadata,
    Column("scope", String(80), nullable=False),
    Column("key", String(120), nullable=False),
    Column("value", JSON(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("scope", "key"),
)


web_sessions = Table(
    "web_sessions",
    metadata,
    # SHA-256 (hex) of the session id: the id itself lives only in the browser's cookie, so
    # reading this table (a backup, a read-only account) does not let anyone log in.
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    # Absolute end (login + maximum age); the idle end is last_seen_at + the idle timeout.
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("confirmed_until", UtcDateTime(), nullable=True),
    Index("ix_web_sessions_user_id", "user_id"),
    Index("ix_web_sessions_expires_at", "expires_at"),
)

web_credential_checks = Table(
    "web_credential_checks",
    metadata,
    # What Net-entreprises answered to values typed on the Net-entreprises tab, keyed by an
    # HMAC of those values under a key sealed in the vault: never the values, and a copy of the
    # table cannot be tested against guessed passwords without the master key.
    Column("fingerprint", String(64), primary_key=True),
    Column("accepted", Boolean(), nullable=False),
    Column("checked_at", UtcDateTime(), nullable=False),
    Index("ix_web_credential_checks_checked_at", "checked_at"),
)

# Tables of other areas join this metadata when their module is imported; importing them here
# lets every user of ``metadata`` (migrations, the migration test) see the whole schema.
from dsnlink.pipeline import tables as _pipeline_tables  # noqa: E402, F401
