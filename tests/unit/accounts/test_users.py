from __future__ import annotations

import pytest

from dsnlink.accounts import Accounts, PasswordHasher
from dsnlink.accounts.passwords import PROFILES
from dsnlink.accounts.throttle import FREE_FAILURES, MAX_DELAY, delay_after
from dsnlink.errors import (
    AccountDisabled,
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    LoginThrottled,
    NotFound,
)
from dsnlink.store.records import Module
from tests.unit.accounts.conftest import ADMIN_PW, PW, World, make_vault


def test_login_is_case_insensitive_and_unique(world: World) -> None:
    world.user("Dupont", Module.DECLARATIONS)
    assert world.accounts.users.authenticate("DUPONT", PW).login == "Dupont"
    with pytest.raises(Conflict):
        world.user("dupont")


def test_wrong_password_and_unknown_login_look_the_same(world: World) -> None:
    world.user("Dupont")
    with pytest.raises(AuthenticationFailed) as wrong:
        world.accounts.users.authenticate("Dupont", "nope-nope")
    with pytest.raises(AuthenticationFailed) as unknown:
        world.accounts.users.authenticate("Personne", "nope-nope")
    assert wrong.value.message == unknown.value.message


def test_disabled_user_cannot_log_in(world: World) -> None:
    world.user("Dupont")
    world.accounts.users.set_disabled(world.admin, "Dupont", True)
    with pytest.raises(AccountDisabled):
        world.accounts.users.authenticate("Dupont", PW)
    world.accounts.users.set_disabled(world.admin, "Dupont", False)
    world.accounts.users.authenticate("Dupont", PW)


def test_throttling_grows_persists_and_clears(world: World) -> None:
    world.user("Dupont")
    users = world.accounts.users
    for _ in range(FREE_FAILURES):
        with pytest.raises(AuthenticationFailed):
            users.authenticate("Dupont", "bad-password")
    # Now even the right password must wait: the answer does not tell whether it was right.
    with pytest.raises(LoginThrottled) as info:
        users.authenticate("Dupont", PW)
    assert info.value.context["retry_after_seconds"] >= 1
    world.clock.advance(delay_after(FREE_FAILURES).total_seconds())
    with pytest.raises(AuthenticationFailed):
        users.authenticate("Dupont", "bad-password")
    # The wait doubled, and a fresh service over the same store still knows it.
    again = Accounts.build(
        world.store, make_vault(), hasher=PasswordHasher("fast-insecure-tests"), clock=world.clock
    )
    world.clock.advance(delay_after(FREE_FAILURES).total_seconds())
    with pytest.raises(LoginThrottled):
        again.users.authenticate("Dupont", PW)
    world.clock.advance(delay_after(FREE_FAILURES + 1).total_seconds())
    again.users.authenticate("Dupont", PW)
    # Success clears the count.
    with pytest.raises(AuthenticationFailed):
        users.authenticate("Dupont", "bad-password")
    users.authenticate("Dupont", PW)


def test_unknown_logins_are_throttled_too(world: World) -> None:
    for _ in range(FREE_FAILURES):
        with pytest.raises(AuthenticationFailed):
            world.accounts.users.authenticate("Fantome", "x-x-x-x-x")
    with pytest.raises(LoginThrottled):
        world.accounts.users.authenticate("Fantome", "x-x-x-x-x")


def test_delay_is_bounded() -> None:
    assert delay_after(0).total_seconds() == 0
    assert delay_after(FREE_FAILURES) < delay_after(FREE_FAILURES + 1)
    assert delay_after(10_000) == MAX_DELAY


def test_rehash_on_login_when_parameters_change(world: World) -> None:
    world.user("Dupont")
    with world.store.read() as r:
        before = r.users.by_login("Dupont")
    assert before is not None and "m=8," in before.password_hash
    stronger = Accounts.build(
        world.store, make_vault(), hasher=PasswordHasher("owasp"), clock=world.clock
    )
    stronger.users.authenticate("Dupont", PW)
    with world.store.read() as r:
        after = r.users.by_login("Dupont")
    assert after is not None and "m=19456,t=2,p=1" in after.password_hash
    stronger.users.authenticate("Dupont", PW)


def test_owasp_profile_at_or_above_floor() -> None:
    p = PROFILES["owasp"]
    # OWASP: argon2id, at least 19 MiB of memory, 2 iterations, 1 degree of parallelism.
    assert p.type.name == "ID"
    assert p.memory_cost >= 19 * 1024 and p.time_cost >= 2 and p.parallelism >= 1
    assert p.salt_len >= 16


def test_last_administrator_is_protected(world: World) -> None:
    users = world.accounts.users
    with pytest.raises(Conflict):
        users.set_disabled(world.admin, "Administrateur", True)
    with pytest.raises(Conflict):
        users.change_rights(world.admin, "Administrateur", revoke=[Module.CONFIGURATION])
    with pytest.raises(Conflict):
        users.delete(world.admin, "Administrateur")  # built-in: never deleted
    second = world.user("Chef", Module.CONFIGURATION)
    # With a second administrator, the first may go; then the second is the last one.
    users.set_disabled(world.admin, "Administrateur", True)
    with pytest.raises(Conflict):
        users.set_disabled(second, "Chef", True)
    with pytest.raises(Conflict):
        users.delete(second, "Chef")
    with pytest.raises(Conflict):
        users.change_rights(second, "Chef", revoke=[Module.CONFIGURATION])
    # Nothing half-written: Chef still has every right they had and is still active.
    me = users.whoami(second)
    assert Module.CONFIGURATION in me.rights and not me.disabled


def test_a_disabled_administrator_does_not_count(world: World) -> None:
    world.user("Chef", Module.CONFIGURATION)
    world.accounts.users.set_disabled(world.admin, "Chef", True)
    with pytest.raises(Conflict):
        world.accounts.users.set_disabled(world.admin, "Administrateur", True)


def test_create_edit_delete_and_audit(world: World) -> None:
    users = world.accounts.users
    created = users.create(
        world.admin,
        login="Martin",
        display_name="Paul Martin",
        password=PW,
        rights=[Module.PAYSLIPS],
    )
    assert created.rights == {Module.PAYSLIPS}
    assert users.edit(world.admin, "martin", display_name="P. Martin").display_name == "P. Martin"
    users.delete(world.admin, "Martin")
    with pytest.raises(NotFound):
        users.get(world.admin, "Martin")
    actions = [e.action for e in world.accounts.audit.search(world.admin)]
    assert actions[:3] == ["user.delete", "user.edit", "user.create"]


def test_bad_input_is_refused_before_anything_is_written(world: World) -> None:
    users = world.accounts.users
    bad = [
        {"login": "a b", "display_name": "x", "password": PW},
        {"login": "x" * 65, "display_name": "x", "password": PW},
        {"login": "ok", "display_name": "", "password": PW},
        {"login": "ok", "display_name": "x" * 201, "password": PW},
        {"login": "ok", "display_name": "x", "password": "short"},
        {"login": "ok\u200b", "display_name": "x", "password": PW},
        {"login": "ß" * 40, "display_name": "x", "password": PW},
    ]
    for kwargs in bad:
        with pytest.raises(InvalidInput):
            users.create(world.admin, **kwargs)
    assert [u.login for u in users.list(world.admin)] == ["Administrateur"]


def test_change_password_own_needs_current(world: World) -> None:
    dupont = world.user("Dupont")
    users = world.accounts.users
    with pytest.raises(AuthenticationFailed):
        users.change_password(dupont, "Dupont", new_password="brand-new-1", current_password="no")
    users.change_password(dupont, "Dupont", new_password="brand-new-1", current_password=PW)
    users.authenticate("Dupont", "brand-new-1")
    # An administrator resets someone else's without knowing it.
    users.change_password(world.admin, "Dupont", new_password="reset-by-admin")
    users.authenticate("Dupont", "reset-by-admin")
    users.authenticate("Administrateur", ADMIN_PW)


def test_unknown_user_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.accounts.users.edit(world.admin, "Personne", display_name="x")
