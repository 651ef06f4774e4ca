"""Who may do what: every operation × every combination of rights, on one's own objects and
on other users', for active and disabled users; then the same table enforced by the services.

The expected table is written here independently of ``dsnlink.accounts.rights.RULES``:
C configuration, A administration, P payslips, D declarations; "C|D" one of them, "CD" both,
"*" any active user. It is the table of docs/accounts.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from dsnlink.accounts import IdentityInput
from dsnlink.accounts.rights import Operation, allowed
from dsnlink.errors import AccountDisabled, PermissionDenied
from dsnlink.store.records import Environment, Module, User
from tests.unit.accounts.conftest import ADMIN_PW, MOCK_SIRET, PW, World

EXPECTED: dict[str, tuple[str, str]] = {
    # operation: (own objects, other users' objects)
    "users.list": ("C", "C"),
    "users.show": ("*", "C"),
    "users.create": ("C", "C"),
    "users.edit": ("*", "C"),
    "users.disable": ("C", "C"),
    "users.enable": ("C", "C"),
    "users.delete": ("C", "C"),
    "users.passwd": ("*", "C"),
    "rights.change": ("C", "C"),
    "identity.set": ("D|C", "C"),
    "identity.show": ("D", "CD"),
    "identity.delete": ("D|C", "C"),
    "identity.use": ("D", "D"),
    "employers.list": ("C|D", "C|D"),
    "employers.manage": ("C", "C"),
    "audit.read": ("A", "A"),
    "installation.read": ("*", "*"),
    "settings.read": ("*", "C"),
    "settings.write": ("*", "C"),
    "pas_rates.read": ("P|D", "P|D"),
    "deposits.read": ("D", "D"),
    "deposits.make": ("D", "D"),
    "returns.read": ("P|D", "P|D"),
    "deadlines.read": ("P|D", "P|D"),
    "maintenance.read": ("A|C", "A|C"),
    "backup.run": ("A|C", "A|C"),
    "backup.schedule": ("A|C", "A|C"),
}
LETTERS = {
    "C": Module.CONFIGURATION,
    "A": Module.ADMINISTRATION,
    "P": Module.PAYSLIPS,
    "D": Module.DECLARATIONS,
}
ALL_RIGHT_SETS = [frozenset(c) for n in range(5) for c in itertools.combinations(list(Module), n)]


def expected(rule: str, rights: frozenset[Module]) -> bool:
    if rule == "*":
        return True
    return any(all(LETTERS[x] in rights for x in alt) for alt in rule.split("|"))


def _user(rights: frozenset[Module], disabled: bool = False) -> User:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    return User(1, "u", "u", "h", disabled, False, rights, t, t)


def test_table_covers_every_operation() -> None:
    assert set(EXPECTED) == {op.value for op in Operation}


@pytest.mark.parametrize("operation", list(Operation), ids=lambda o: o.value)
def test_every_operation_every_rights_combination(operation: Operation) -> None:
    own_rule, other_rule = EXPECTED[operation.value]
    for rights in ALL_RIGHT_SETS:
        assert allowed(_user(rights), operation, own=True) == expected(own_rule, rights)
        assert allowed(_user(rights), operation, own=False) == expected(other_rule, rights)
        # A disabled user can do nothing, whatever their rights.
        assert not allowed(_user(rights, disabled=True), operation, own=True)
        assert not allowed(_user(rights, disabled=True), operation, own=False)


# --- the same table, enforced by the services ---------------------------------------------


def _values(password: str | None = "Refonte01") -> IdentityInput:
    return IdentityInput(MOCK_SIRET, "declarant", "declarant", Environment.SIMULATOR, password)


Call = Callable[[World, User, str], object]

SERVICE_CALLS: dict[str, Call] = {
    "users.list": lambda w, a, t: w.accounts.users.list(a),
    "users.show": lambda w, a, t: w.accounts.users.get(a, t),
    "users.create": lambda w, a, t: w.accounts.users.create(
        a, login="Nouveau", display_name="N", password=PW
    ),
    "users.edit": lambda w, a, t: w.accounts.users.edit(a, t, display_name="Autre nom"),
    "users.disable": lambda w, a, t: w.accounts.users.set_disabled(a, t, True),
    "users.enable": lambda w, a, t: w.accounts.users.set_disabled(a, t, False),
    "users.delete": lambda w, a, t: w.accounts.users.delete(a, t),
    "users.passwd": lambda w, a, t: w.accounts.users.change_password(
        a, t, new_password="new-password-2", current_password=PW
    ),
    "rights.change": lambda w, a, t: w.accounts.users.change_rights(a, t, grant=[Module.PAYSLIPS]),
    "identity.set": lambda w, a, t: w.accounts.identities.set(
        a, confirm=PW, owner_login=t, values=_values()
    ),
    "identity.show": lambda w, a, t: w.accounts.identities.show(a, t),
    "identity.delete": lambda w, a, t: w.accounts.identities.delete(
        a, confirm=PW, owner_login=t, environment=Environment.SIMULATOR
    ),
    "identity.use": lambda w, a, t: w.accounts.identities.open_password(a, _identity_id(w, t)),
    "employers.list": lambda w, a, t: w.accounts.employers.list(a),
    "employers.manage": lambda w, a, t: w.accounts.employers.add(
        a, siret="73282932000074", name="Asso"
    ),
    "audit.read": lambda w, a, t: w.accounts.audit.search(a),
    "installation.read": lambda w, a, t: w.accounts.installation.get(a),
    "settings.read": lambda w, a, t: w.accounts.settings.get(a, _scope(w, t), "connection"),
    "settings.write": lambda w, a, t: w.accounts.settings.put(
        a, _scope(w, t), "connection", {"mode": "normal"}
    ),
}


def _identity_id(w: World, login: str) -> int:
    admin_view = w.accounts.identities.show(w.admin, login)
    return admin_view[0].id


def _scope(w: World, login: str) -> str:
    user = w.accounts.users.get(w.admin, login)
    return f"user:{user.id}"


RIGHT_SETS = [
    frozenset(),
    *(frozenset({m}) for m in Module),
    frozenset(Module),
]
SERVICE_CASES = [
    (op, rights, own)
    for op in SERVICE_CALLS
    for rights in RIGHT_SETS
    for own in (True, False)
    if op != "installation.read"  # no "other" object: one case is enough
    or own
]


def _prepare(world: World, rights: frozenset[Module], own: bool) -> tuple[User, str]:
    actor = world.user("Acteur", *rights)
    target = "Acteur" if own else world.user("Cible", Module.DECLARATIONS).login
    # Every target has an identity, and the actor is linked to it through an employer.
    world.identity(world.admin, target, confirm=ADMIN_PW)
    employer = world.accounts.employers.add(world.admin, siret="35600000000048", name="Lien")
    world.accounts.employers.link(
        world.admin,
        siret=employer.siret,
        user_login="Acteur",
        identity_owner=target,
        environment=Environment.SIMULATOR,
    )
    return actor, target


@pytest.mark.parametrize(
    ("op", "rights", "own"),
    SERVICE_CASES,
    ids=[
        f"{o}-{''.join(sorted(m.value[0] for m in r)) or 'none'}-{'own' if w else 'other'}"
        for o, r, w in SERVICE_CASES
    ],
)
def test_services_enforce_the_table(
    memory_world: World, op: str, rights: frozenset[Module], own: bool
) -> None:
    world = memory_world
    actor, target = _prepare(world, rights, own)
    rule = EXPECTED[op][0 if own else 1]
    if expected(rule, rights):
        SERVICE_CALLS[op](world, actor, target)
    else:
        with pytest.raises(PermissionDenied):
            SERVICE_CALLS[op](world, actor, target)


@pytest.mark.parametrize("op", list(SERVICE_CALLS))
def test_disabled_user_can_do_nothing(world: World, op: str) -> None:
    # On both stores: "disabled" is read back from the database at each call.
    actor, target = _prepare(world, frozenset(Module), own=False)
    world.accounts.users.set_disabled(world.admin, "Acteur", True)
    with pytest.raises(AccountDisabled):
        SERVICE_CALLS[op](world, actor, target)
