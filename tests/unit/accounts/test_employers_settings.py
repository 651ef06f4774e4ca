from __future__ import annotations

import pytest

from dsnlink.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from dsnlink.store.records import Environment, Module
from tests.unit.accounts.conftest import ADMIN_PW, World


def test_employers_add_list_link_unlink(world: World) -> None:
    emp = world.accounts.employers
    dupont = world.user("Dupont", Module.DECLARATIONS)
    world.user("Martin", Module.DECLARATIONS)
    a = emp.add(world.admin, siret="73282932000074", name="Association A", due_day=5)
    emp.add(world.admin, siret="35600000000048", name="Boulangerie B", due_day=15)
    with pytest.raises(Conflict):
        emp.add(world.admin, siret="73282932000074", name="Double")
    assert [v.employer.name for v in emp.list(world.admin)] == ["Association A", "Boulangerie B"]
    assert emp.list(dupont) == []  # declarations only: the employers one is linked to
    emp.link(world.admin, siret=a.siret, user_login="Dupont")
    views = emp.list(dupont)
    assert [v.employer.siret for v in views] == [a.siret]
    assert views[0].links[0].identity_id is None
    emp.unlink(world.admin, siret=a.siret, user_login="Dupont")
    with pytest.raises(NotFound):
        emp.unlink(world.admin, siret=a.siret, user_login="Dupont")
    emp.delete(world.admin, a.siret)
    with pytest.raises(NotFound):
        emp.delete(world.admin, a.siret)
    actions = [e.action for e in world.accounts.audit.search(world.admin)][:5]
    assert actions == [
        "employer.delete",
        "employer.unlink",
        "employer.link",
        "employer.add",
        "employer.add",
    ]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"siret": "73282932000075", "name": "X"}, InvalidInput),
        ({"siret": "7328293200007", "name": "X"}, InvalidInput),
        ({"siret": "73282932000074", "name": ""}, InvalidInput),
        ({"siret": "73282932000074", "name": "X" * 201}, InvalidInput),
        ({"siret": "73282932000074", "name": "X", "due_day": 10}, InvalidInput),
    ],
)
def test_bad_employer_input(
    world: World, kwargs: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        world.accounts.employers.add(world.admin, **kwargs)  # type: ignore[arg-type]
    assert world.accounts.employers.list(world.admin) == []


def test_link_with_missing_identity_or_user(world: World) -> None:
    emp = world.accounts.employers
    world.user("Dupont", Module.DECLARATIONS)
    emp.add(world.admin, siret="73282932000074", name="A")
    with pytest.raises(NotFound):
        emp.link(world.admin, siret="73282932000074", user_login="Personne")
    with pytest.raises(NotFound):
        emp.link(
            world.admin,
            siret="73282932000074",
            user_login="Dupont",
            identity_owner="Administrateur",
            environment=Environment.PRODUCTION,
        )
    with pytest.raises(NotFound):
        emp.link(world.admin, siret="99900000300015", user_login="Dupont")
    with pytest.raises(InvalidInput):
        emp.link(world.admin, siret="73282932000074", user_login="Dupont", identity_owner="Dupont")


def test_settings_scopes(world: World) -> None:
    settings = world.accounts.settings
    dupont = world.user("Dupont")
    mine = f"user:{dupont.id}"
    settings.put(dupont, mine, "connection", {"mode": "etendu"})
    got = settings.get(dupont, mine, "connection")
    assert got is not None and got.value == {"mode": "etendu"}
    with pytest.raises(PermissionDenied):
        settings.put(dupont, "installation", "connection", {"mode": "normal"})
    settings.put(world.admin, "installation", "connection", {"mode": "securise"})
    assert [s.key for s in settings.all(dupont, "installation")] == ["connection"]
    with pytest.raises(PermissionDenied):
        settings.get(dupont, f"user:{world.admin.id}", "connection")
    assert settings.get(world.admin, mine, "connection") is not None
    with pytest.raises(InvalidInput):
        settings.put(world.admin, "elsewhere", "k", 1)
    with pytest.raises(InvalidInput):
        settings.put(world.admin, "installation", "k", {1, 2})
    assert settings.delete(world.admin, mine, "connection")
    assert not settings.delete(world.admin, mine, "connection")
    # The values are not copied into the audit log (a proxy password may live there).
    puts = [e for e in world.accounts.audit.search(world.admin) if e.action == "settings.put"]
    assert puts and all("etendu" not in repr(e) for e in puts)


def test_installation_visible_to_everyone(world: World) -> None:
    dupont = world.user("Dupont")
    assert world.accounts.installation.get(dupont).name == "Test"


def test_audit_refuses_secret_looking_keys(world: World) -> None:
    from dsnlink.accounts.base import Services, audit

    ctx = Services(world.store, world.accounts.users._ctx.hasher, world.clock)
    with pytest.raises(ValueError, match="secret"), world.store.write() as r:
        audit(r, ctx, world.admin, "x", "y", password="oops")


def test_confirmation_throttled(world: World) -> None:
    from dsnlink.accounts import IdentityInput
    from dsnlink.errors import LoginThrottled

    values = IdentityInput("99900000300015", "d", "d", Environment.SIMULATOR, "Refonte01")
    failures = 0
    with pytest.raises(LoginThrottled):
        for _ in range(10):
            try:
                world.accounts.identities.set(
                    world.admin, confirm="wrong", owner_login="Administrateur", values=values
                )
            except LoginThrottled:
                raise
            except Exception:  # noqa: BLE001
                failures += 1
    assert failures == 3
    world.clock.advance(3600)
    world.accounts.identities.set(
        world.admin, confirm=ADMIN_PW, owner_login="Administrateur", values=values
    )
