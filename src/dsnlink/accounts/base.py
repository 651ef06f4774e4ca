"""What every account service shares: the store, the clock, the hasher, and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dsnlink.accounts.passwords import PasswordHasher
from dsnlink.accounts.rights import Operation, require
from dsnlink.accounts.throttle import check_not_throttled
from dsnlink.errors import AccountDisabled, AuthenticationFailed, NotFound
from dsnlink.redaction import is_secret_key, redact
from dsnlink.store.protocols import Repositories, Store
from dsnlink.store.records import NewAuditEntry, User
from dsnlink.store.sql_accounts import login_key
from dsnlink.vault.protocols import SecretRef

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Services:
    """The context shared by account services."""

    store: Store
    hasher: PasswordHasher
    clock: Clock


def password_ref(identity_id: int) -> SecretRef:
    """Where the sealed Net-entreprises password of an identity lives."""
    return SecretRef("identities", str(identity_id), "password")


def current_actor(r: Repositories, actor: User) -> User:
    """The actor as the database sees them now: a user disabled meanwhile can do nothing."""
    fresh = r.users.get(actor.id)
    if fresh is None:
        raise AuthenticationFailed("Ce compte utilisateur n'existe plus.", login=actor.login)
    if fresh.disabled:
        raise AccountDisabled(login=fresh.login)
    return fresh


def user_by_login(r: Repositories, login: str) -> User:
    user = r.users.by_login(login)
    if user is None:
        raise NotFound(f"L'utilisateur « {login} » n'existe pas.", login=login)
    return user


def authorise(r: Repositories, actor: User, operation: Operation, target: User | None) -> User:
    """Reload ``actor`` and check ``operation`` on ``target`` (None or themselves: own)."""
    fresh = current_actor(r, actor)
    require(fresh, operation, own=target is None or target.id == fresh.id)
    return fresh


def confirm_password(ctx: Services, actor: User, password: str) -> None:
    """The actor re-types their own password before a sensitive change.

    Throttled and counted like a login, in its own transaction so that a failure is kept.
    """
    now = ctx.clock()
    key = login_key(actor.login)
    with ctx.store.read() as r:
        check_not_throttled(r.throttle.get(key), now)
        fresh = current_actor(r, actor)
    if ctx.hasher.verify(fresh.password_hash, password):
        return
    with ctx.store.write() as r:
        r.throttle.record_failure(key, now)
        audit(r, ctx, fresh, "password.confirm_failed", "user", str(fresh.id))
    raise AuthenticationFailed(
        "Le mot de passe de confirmation est incorrect.",
        remedy="Saisissez le mot de passe de votre propre compte dsnlink.",
        login=fresh.login,
    )


def audit(
    r: Repositories,
    ctx: Services,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: str | None = None,
    *,
    as_whom: str | None = None,
    **detail: Any,
) -> None:
    """Append an audit entry, in the caller's transaction (see :func:`record_audit`)."""
    record_audit(
        r, actor, action, object_type, object_id, at=ctx.clock(), as_whom=as_whom, **detail
    )


def record_audit(
    r: Repositories,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: str | None = None,
    *,
    at: datetime,
    as_whom: str | None = None,
    **detail: Any,
) -> None:
    """Append an audit entry at ``at``, in the caller's transaction: for changes made outside
    the account services (backup schedule, employer policies, backups). Never given a secret:
    keys that look like one are refused outright, and values pass through redaction as a
    second net."""
    bad = [k for k in detail if is_secret_key(k)]
    if bad:
        raise ValueError(f"audit detail keys look secret: {bad}")
    r.audit.append(
        NewAuditEntry(
            at=at,
            actor_user_id=actor.id if actor else None,
            actor_login=actor.login if actor else None,
            as_whom=as_whom,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=redact(detail),
        )
    )
