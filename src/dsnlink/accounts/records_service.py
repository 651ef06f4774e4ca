"""Reading the audit log and the installation; scoped settings (installation or user)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from dsnlink.accounts.base import Services, audit, authorise, current_actor
from dsnlink.accounts.rights import Operation, require
from dsnlink.errors import InstallationMissing, InvalidInput
from dsnlink.store.records import AuditEntry, Installation, SettingValue, User

INSTALLATION_SCOPE = "installation"
MAX_SETTING_BYTES = 64 * 1024


def user_scope(user_id: int) -> str:
    return f"user:{user_id}"


class AuditService:
    def __init__(self, ctx: Services) -> None:
        self._ctx = ctx

    def search(
        self,
        actor: User,
        *,
        since: datetime | None = None,
        login: str | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        with self._ctx.store.read() as r:
            authorise(r, actor, Operation.AUDIT_READ, None)
            return r.audit.search(since=since, actor_login=login, limit=limit)


class InstallationService:
    def __init__(self, ctx: Services) -> None:
        self._ctx = ctx

    def get(self, actor: User) -> Installation:
        with self._ctx.store.read() as r:
            authorise(r, actor, Operation.INSTALLATION_READ, None)
            installation = r.installation.get()
        if installation is None:
            raise InstallationMissing()
        return installation


class SettingsService:
    """Installation-wide or per-user settings stored as JSON (connection settings live here)."""

    def __init__(self, ctx: Services) -> None:
        self._ctx = ctx

    def _check(self, actor: User, scope: str, write: bool) -> None:
        if scope == INSTALLATION_SCOPE:
            own = not write  # everyone reads installation settings; configuration writes them
        elif scope.startswith("user:") and scope[5:].isdigit():
            own = int(scope[5:]) == actor.id
        else:
            raise InvalidInput(f"Portée de réglage inconnue : {scope}.", scope=scope)
        require(actor, Operation.SETTINGS_WRITE if write else Operation.SETTINGS_READ, own=own)

    def get(self, actor: User, scope: str, key: str) -> SettingValue | None:
        with self._ctx.store.read() as r:
            fresh = current_actor(r, actor)
            self._check(fresh, scope, write=False)
            return r.settings.get(scope, key)

    def all(self, actor: User, scope: str) -> list[SettingValue]:
        with self._ctx.store.read() as r:
            fresh = current_actor(r, actor)
            self._check(fresh, scope, write=False)
            return r.settings.all(scope)

    def put(self, actor: User, scope: str, key: str, value: Any) -> None:
        try:
            size = len(json.dumps(value))
        except (TypeError, ValueError) as exc:
            raise InvalidInput("Ce réglage n'est pas une valeur JSON.", key=key) from exc
        if size > MAX_SETTING_BYTES:
            raise InvalidInput("Ce réglage est trop volumineux.", key=key)
        with self._ctx.store.write() as r:
            fresh = current_actor(r, actor)
            self._check(fresh, scope, write=True)
            r.settings.put(scope, key, value, self._ctx.clock())
            # The value itself is not audited: connection settings may hold a proxy password.
            audit(r, self._ctx, fresh, "settings.put", "setting", f"{scope}/{key}")

    def delete(self, actor: User, scope: str, key: str) -> bool:
        with self._ctx.store.write() as r:
            fresh = current_actor(r, actor)
            self._check(fresh, scope, write=True)
            deleted = r.settings.delete(scope, key)
            if deleted:
                audit(r, self._ctx, fresh, "settings.delete", "setting", f"{scope}/{key}")
            return deleted
