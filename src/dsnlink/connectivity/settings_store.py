"""Where the connection settings live: the ``settings`` table, and the vault for the password.

The installation's settings are stored under scope ``installation``, a user's overrides under
``user:<id>``, both under the key ``connection``, as JSON holding only the keys set at that
scope. The proxy password is never in that JSON: it is sealed in the vault, bound to the scope
that holds the proxy, so a user's own proxy has its own password.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import SecretStr

from dsnlink.connectivity.settings import (
    SETTINGS_KEY,
    ConnectionSettings,
    ResolvedConnection,
    parse_settings,
    resolve,
)
from dsnlink.errors import InvalidInput
from dsnlink.redaction import register_secret
from dsnlink.vault.protocols import SecretRef

INSTALLATION = "installation"


def user_scope(user_id: str | int) -> str:
    return f"user:{user_id}"


class SettingsRepository(Protocol):
    """The generic settings table (JSON value per scope and key)."""

    def get(self, scope: str, key: str) -> Any | None: ...

    def put(self, scope: str, key: str, value: Any) -> None: ...

    def delete(self, scope: str, key: str) -> None: ...


class SecretVault(Protocol):
    def put_secret(self, ref: SecretRef, value: str) -> None: ...

    def get_secret(self, ref: SecretRef) -> str | None: ...

    def delete_secret(self, ref: SecretRef) -> None: ...


class MemorySettingsRepository:
    """In-memory settings table, for tests of code that only needs the interface."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Any] = {}

    def get(self, scope: str, key: str) -> Any | None:
        return self._rows.get((scope, key))

    def put(self, scope: str, key: str, value: Any) -> None:
        self._rows[(scope, key)] = value

    def delete(self, scope: str, key: str) -> None:
        self._rows.pop((scope, key), None)


def proxy_password_ref(scope: str) -> SecretRef:
    return SecretRef("settings", f"{scope}/{SETTINGS_KEY}", "proxy_password")


_UNSET: Any = object()


class ConnectionSettingsService:
    """Read, change and resolve the connection settings of an installation and its users."""

    def __init__(self, repository: SettingsRepository, vault: SecretVault | None) -> None:
        self._repository = repository
        self._vault = vault

    def stored(self, scope: str) -> dict[str, Any]:
        value = self._repository.get(scope, SETTINGS_KEY)
        return dict(value) if isinstance(value, dict) else {}

    def _proxy_scope(self, user_id: str | int | None) -> str:
        if user_id is not None and "proxy" in self.stored(user_scope(user_id)):
            return user_scope(user_id)
        return INSTALLATION

    def proxy_password(self, user_id: str | int | None = None) -> SecretStr | None:
        if self._vault is None:
            return None
        secret = self._vault.get_secret(proxy_password_ref(self._proxy_scope(user_id)))
        if not secret:
            return None
        register_secret(secret)
        return SecretStr(secret)

    def resolve(
        self,
        user_id: str | int | None = None,
        *,
        environ_proxies: dict[str, str] | None = None,
    ) -> ResolvedConnection:
        """The effective settings for ``user_id`` (or the installation's)."""
        user = self.stored(user_scope(user_id)) if user_id is not None else None
        return resolve(
            self.stored(INSTALLATION),
            user,
            proxy_password=self.proxy_password(user_id),
            environ_proxies=environ_proxies,
        )

    def update(
        self,
        scope: str,
        changes: dict[str, Any],
        *,
        unset: tuple[str, ...] = (),
        proxy_password: str | None = _UNSET,
    ) -> ConnectionSettings:
        """Set ``changes`` and remove ``unset`` keys at ``scope``; validated before saving.

        ``proxy_password``: a new password, ``None`` to remove it, or left out to keep it.
        """
        unknown = (set(changes) | set(unset)) - set(ConnectionSettings.model_fields)
        if unknown:
            raise InvalidInput(f"Réglage de connexion inconnu : {', '.join(sorted(unknown))}.")
        current = self.stored(scope)
        for key in unset:
            current.pop(key, None)
        current.update(changes)
        # Validate what will be in force: the scope alone for the installation, the merge
        # with the installation for a user.
        base = {} if scope == INSTALLATION else self.stored(INSTALLATION)
        effective = parse_settings({**base, **current})
        stored = effective.model_dump(mode="json")
        to_save = {key: stored[key] for key in current}
        if to_save:
            self._repository.put(scope, SETTINGS_KEY, to_save)
        else:
            self._repository.delete(scope, SETTINGS_KEY)
        if proxy_password is not _UNSET:
            if self._vault is None:
                raise InvalidInput("Aucun coffre-fort n'est disponible pour le mot de passe.")
            ref = proxy_password_ref(scope)
            if proxy_password:
                register_secret(proxy_password)
                self._vault.put_secret(ref, proxy_password)
            else:
                self._vault.delete_secret(ref)
        return effective

    def has_proxy_password(self, user_id: str | int | None = None) -> bool:
        return self.proxy_password(user_id) is not None
