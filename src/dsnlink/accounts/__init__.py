"""Local accounts and rights, Net-entreprises identities, employers, the audit log.

Every operation takes the acting :class:`~dsnlink.store.records.User` and checks its rights
here, whatever the interface; every change writes an audit entry in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsnlink.accounts.base import Clock, Services
from dsnlink.accounts.employers import EmployerService
from dsnlink.accounts.identities import IdentityInput, IdentityService, SecretSealer
from dsnlink.accounts.passwords import PasswordHasher
from dsnlink.accounts.records_service import AuditService, InstallationService, SettingsService
from dsnlink.accounts.users import ADMIN_LOGIN, UserService
from dsnlink.store.protocols import Store
from dsnlink.store.sql import utc_now


@dataclass(frozen=True)
class Accounts:
    """Every account service over one store."""

    users: UserService
    identities: IdentityService
    employers: EmployerService
    audit: AuditService
    installation: InstallationService
    settings: SettingsService

    @classmethod
    def build(
        cls,
        store: Store,
        sealer: SecretSealer,
        *,
        hasher: PasswordHasher | None = None,
        clock: Clock = utc_now,
    ) -> Accounts:
        ctx = Services(store=store, hasher=hasher or PasswordHasher(), clock=clock)
        return cls(
            users=UserService(ctx),
            identities=IdentityService(ctx, sealer),
            employers=EmployerService(ctx),
            audit=AuditService(ctx),
            installation=InstallationService(ctx),
            settings=SettingsService(ctx),
        )


__all__ = ["ADMIN_LOGIN", "Accounts", "IdentityInput", "PasswordHasher", "SecretSealer"]
