"""Who may do what: every service operation and the rights it needs, in one table.

Rights are checked here, in the services, whatever the interface (CLI, web, API). An
"administrator" is an active user with the ``configuration`` right: only they manage accounts
and settings; there is always at least one (:data:`LAST_ADMIN_GUARDED`). Only ``declarations``
deposits or sees the state of Net-entreprises credentials. ``administration`` reads the
audit log and, with the administrators, looks after the installation (health, backups,
workers). ``payslips`` governs the PAS rates and payroll exports (and reads the returns and
deadlines, as declarations does).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dsnlink.errors import AccountDisabled, PermissionDenied
from dsnlink.store.records import Module, User

C, A, P, D = (Module.CONFIGURATION, Module.ADMINISTRATION, Module.PAYSLIPS, Module.DECLARATIONS)


class Operation(StrEnum):
    USERS_LIST = "users.list"
    USERS_SHOW = "users.show"
    USERS_CREATE = "users.create"
    USERS_EDIT = "users.edit"
    USERS_DISABLE = "users.disable"
    USERS_ENABLE = "users.enable"
    USERS_DELETE = "users.delete"
    USERS_PASSWD = "users.passwd"  # noqa: S105 - an operation name
    RIGHTS_CHANGE = "rights.change"
    IDENTITY_SET = "identity.set"
    IDENTITY_SHOW = "identity.show"
    IDENTITY_DELETE = "identity.delete"
    IDENTITY_USE = "identity.use"
    EMPLOYERS_LIST = "employers.list"
    EMPLOYERS_MANAGE = "employers.manage"
    AUDIT_READ = "audit.read"
    INSTALLATION_READ = "installation.read"
    SETTINGS_READ = "settings.read"
    SETTINGS_WRITE = "settings.write"
    PAS_RATES_READ = "pas_rates.read"
    DEPOSITS_READ = "deposits.read"
    DEPOSITS_MAKE = "deposits.make"
    RETURNS_READ = "returns.read"
    DEADLINES_READ = "deadlines.read"
    MAINTENANCE_READ = "maintenance.read"
    BACKUP_RUN = "backup.run"
    BACKUP_SCHEDULE = "backup.schedule"


@dataclass(frozen=True)
class Rule:
    """Rights needed on one's own objects (``own``) and on other users' (``other``).

    Each is a list of alternatives; each alternative a set of modules all required.
    An empty alternative means "any active user"; an empty list means "nobody".
    """

    own: tuple[frozenset[Module], ...]
    other: tuple[frozenset[Module], ...]


def _any(*alternatives: set[Module]) -> tuple[frozenset[Module], ...]:
    return tuple(frozenset(a) for a in alternatives)


RULES: dict[Operation, Rule] = {
    Operation.USERS_LIST: Rule(_any({C}), _any({C})),
    Operation.USERS_SHOW: Rule(_any(set()), _any({C})),
    Operation.USERS_CREATE: Rule(_any({C}), _any({C})),
    # Anyone may change their own display name; only configuration changes others'.
    Operation.USERS_EDIT: Rule(_any(set()), _any({C})),
    Operation.USERS_DISABLE: Rule(_any({C}), _any({C})),
    Operation.USERS_ENABLE: Rule(_any({C}), _any({C})),
    Operation.USERS_DELETE: Rule(_any({C}), _any({C})),
    # Anyone changes their own password (with the current one); configuration resets others'.
    Operation.USERS_PASSWD: Rule(_any(set()), _any({C})),
    Operation.RIGHTS_CHANGE: Rule(_any({C}), _any({C})),
    # Entering credentials: one's own with declarations; anyone's as configuration (the seed's
    # maintenance centre, where the administrator types them for each user).
    Operation.IDENTITY_SET: Rule(_any({D}, {C}), _any({C})),
    Operation.IDENTITY_DELETE: Rule(_any({D}, {C}), _any({C})),
    # Seeing an identity and its state: declarations only (and configuration for others').
    Operation.IDENTITY_SHOW: Rule(_any({D}), _any({C, D})),
    # Using the password to authenticate: declarations, on an identity one owns or is linked to
    # (the link check is the service's; "other" here means linked).
    Operation.IDENTITY_USE: Rule(_any({D}), _any({D})),
    Operation.EMPLOYERS_LIST: Rule(_any({C}, {D}), _any({C}, {D})),
    Operation.EMPLOYERS_MANAGE: Rule(_any({C}), _any({C})),
    Operation.AUDIT_READ: Rule(_any({A}), _any({A})),
    Operation.INSTALLATION_READ: Rule(_any(set()), _any(set())),
    Operation.SETTINGS_READ: Rule(_any(set()), _any({C})),
    Operation.SETTINGS_WRITE: Rule(_any(set()), _any({C})),
    Operation.PAS_RATES_READ: Rule(_any({P}, {D}), _any({P}, {D})),
    # Deposits (the ledger: files, envois, their history) are the declarants' business.
    Operation.DEPOSITS_READ: Rule(_any({D}), _any({D})),
    Operation.DEPOSITS_MAKE: Rule(_any({D}), _any({D})),
    # Returns and deadlines also concern the payroll (the CRM 94 carries the rates).
    Operation.RETURNS_READ: Rule(_any({P}, {D}), _any({P}, {D})),
    Operation.DEADLINES_READ: Rule(_any({P}, {D}), _any({P}, {D})),
    # The Centre de maintenance's health, backups and workers: administration, and the
    # administrators (configuration), who set the backup schedule.
    Operation.MAINTENANCE_READ: Rule(_any({A}, {C}), _any({A}, {C})),
    # Taking or verifying a backup now (restoring stays a command on the machine).
    Operation.BACKUP_RUN: Rule(_any({A}, {C}), _any({A}, {C})),
    # Setting the backup schedule (when, where, how many kept): the same people.
    Operation.BACKUP_SCHEDULE: Rule(_any({A}, {C}), _any({A}, {C})),
}

#: Operations that must never leave the installation without an active administrator.
LAST_ADMIN_GUARDED = frozenset(
    {Operation.USERS_DISABLE, Operation.USERS_DELETE, Operation.RIGHTS_CHANGE}
)


def allowed(actor: User, operation: Operation, *, own: bool) -> bool:
    if actor.disabled:
        return False
    rule = RULES[operation]
    alternatives = rule.own if own else rule.other
    return any(needed <= actor.rights for needed in alternatives)


def require(actor: User, operation: Operation, *, own: bool = True) -> None:
    """Raise unless ``actor`` may perform ``operation`` (on their own objects or others')."""
    if actor.disabled:
        raise AccountDisabled(login=actor.login)
    if not allowed(actor, operation, own=own):
        rule = RULES[operation]
        needed = sorted({m.value for alt in (rule.own if own else rule.other) for m in alt})
        raise PermissionDenied(login=actor.login, operation=operation.value, needs_one_of=needed)


def is_administrator(user: User) -> bool:
    return not user.disabled and Module.CONFIGURATION in user.rights
