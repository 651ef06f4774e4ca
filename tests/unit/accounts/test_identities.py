from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dsnlink.accounts import IdentityInput
from dsnlink.accounts.base import password_ref
from dsnlink.errors import (
    AccountLocked,
    AuthenticationFailed,
    CorruptRecord,
    DecryptionFailed,
    InvalidInput,
    NotFound,
    PasswordExpired,
    PermissionDenied,
    WrongCredentials,
)
from dsnlink.store import SqlStore, open_database
from dsnlink.store.records import Environment, IdentityState, Module
from tests.unit.accounts.conftest import ADMIN_PW, MOCK_SIRET, PW, World, make_world

CANARY = "CANARY-s3cr3t-7Qx"


def _values(**kw: object) -> IdentityInput:
    base: dict[str, object] = {
        "siret": MOCK_SIRET,
        "nom": "declarant",
        "prenom": "declarant",
        "environment": Environment.SIMULATOR,
        "password": CANARY,
    }
    base.update(kw)
    return IdentityInput(**base)  # type: ignore[arg-type]


def test_set_show_open(world: World) -> None:
    dupont = world.user("Dupont", Module.DECLARATIONS)
    ident = world.accounts.identities.set(
        dupont, confirm=PW, owner_login="Dupont", values=_values()
    )
    assert ident.state is IdentityState.UNTESTED
    shown = world.accounts.identities.show(dupont)
    assert shown == [ident]
    assert CANARY not in repr(shown)
    assert world.accounts.identities.open_password(dupont, ident.id) == CANARY


def test_input_repr_hides_password() -> None:
    assert CANARY not in repr(_values())


def test_wrong_confirmation_password_changes_nothing(world: World) -> None:
    dupont = world.user("Dupont", Module.DECLARATIONS)
    with pytest.raises(AuthenticationFailed):
        world.accounts.identities.set(
            dupont, confirm="not-my-password", owner_login="Dupont", values=_values()
        )
    assert world.accounts.identities.show(dupont) == []
    # The failure is recorded (throttled like a login) and audited, without the value typed.
    entries = world.accounts.audit.search(world.admin)
    assert entries[0].action == "password.confirm_failed"
    assert "not-my-password" not in repr(entries)


@pytest.mark.parametrize(
    "bad",
    [
        {"siret": "99900000300016"},  # wrong key
        {"siret": "9990000030001"},  # 13 digits
        {"siret": " 99900000300015"},
        {"nom": "x" * 65},
        {"prenom": "x" * 40},
        {"nom": ""},
        {"prenom": "Jean\tMarie"},
        {"password": "p" * 31},
        {"password": ""},
        {"password": "abc\u200bdef"},
    ],
)
def test_bad_identity_input_refused(world: World, bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as info:
        world.accounts.identities.set(
            world.admin, confirm=ADMIN_PW, owner_login="Administrateur", values=_values(**bad)
        )
    assert "p" * 31 not in str(info.value)
    assert world.accounts.identities.show(world.admin) == []


def test_la_poste_siret_accepted(world: World) -> None:
    # La Poste's establishments do not follow the Luhn key; python-stdnum knows their rule.
    world.accounts.identities.set(
        world.admin,
        confirm=ADMIN_PW,
        owner_login="Administrateur",
        values=_values(siret="35600000049837"),
    )


def test_update_keeps_password_and_resets_state(world: World) -> None:
    admin = world.admin
    ident = world.accounts.identities.set(
        admin, confirm=ADMIN_PW, owner_login="Administrateur", values=_values()
    )
    world.accounts.identities.record_state(admin, ident.id, IdentityState.OK)
    updated = world.accounts.identities.set(
        admin,
        confirm=ADMIN_PW,
        owner_login="Administrateur",
        values=_values(nom="DECLARANT", password=None),
    )
    assert updated.id == ident.id and updated.nom == "DECLARANT"
    assert updated.state is IdentityState.UNTESTED and updated.last_login_at is not None
    assert world.accounts.identities.open_password(admin, ident.id) == CANARY
    change = world.accounts.audit.search(admin)[0]
    assert change.action == "identity.set" and change.detail["changed"] == ["nom"]


def test_new_identity_needs_a_password(world: World) -> None:
    with pytest.raises(InvalidInput):
        world.accounts.identities.set(
            world.admin,
            confirm=ADMIN_PW,
            owner_login="Administrateur",
            values=_values(password=None),
        )


@pytest.mark.parametrize(
    ("state", "error"),
    [
        (IdentityState.WRONG_CREDENTIALS, WrongCredentials),
        (IdentityState.PASSWORD_EXPIRED, PasswordExpired),
        (IdentityState.LOCKED, AccountLocked),
    ],
)
def test_refused_credentials_are_never_handed_out_again(
    world: World, state: IdentityState, error: type[Exception]
) -> None:
    admin = world.admin
    ident = world.accounts.identities.set(
        admin, confirm=ADMIN_PW, owner_login="Administrateur", values=_values()
    )
    world.accounts.identities.record_state(admin, ident.id, state, "401")
    with pytest.raises(error):
        world.accounts.identities.open_password(admin, ident.id)
    # New credentials typed in: usable again.
    world.accounts.identities.set(
        admin, confirm=ADMIN_PW, owner_login="Administrateur", values=_values(password="Nouveau01")
    )
    assert world.accounts.identities.open_password(admin, ident.id) == "Nouveau01"


def test_failing_network_does_not_block(world: World) -> None:
    ident = world.accounts.identities.set(
        world.admin, confirm=ADMIN_PW, owner_login="Administrateur", values=_values()
    )
    world.accounts.identities.record_state(world.admin, ident.id, IdentityState.FAILING, "DNS")
    assert world.accounts.identities.open_password(world.admin, ident.id) == CANARY


def test_another_users_identity_only_when_linked(world: World) -> None:
    world.user("Dupont", Module.DECLARATIONS)
    martin = world.user("Martin", Module.DECLARATIONS)
    ident = world.accounts.identities.set(
        world.admin, confirm=ADMIN_PW, owner_login="Dupont", values=_values()
    )
    with pytest.raises(PermissionDenied):
        world.accounts.identities.open_password(martin, ident.id)
    world.accounts.employers.add(world.admin, siret="73282932000074", name="Asso")
    world.accounts.employers.link(world.admin, siret="73282932000074", user_login="Martin")
    with pytest.raises(PermissionDenied):  # linked, but with his own identity
        world.accounts.identities.open_password(martin, ident.id)
    world.accounts.employers.link(
        world.admin,
        siret="73282932000074",
        user_login="Martin",
        identity_owner="Dupont",
        environment=Environment.SIMULATOR,
    )
    assert world.accounts.identities.open_password(martin, ident.id) == CANARY
    world.accounts.identities.record_state(martin, ident.id, IdentityState.OK)
    entry = world.accounts.audit.search(world.admin, login="Martin")[0]
    assert entry.action == "identity.state" and entry.as_whom == f"identity:{ident.id}"


def test_moved_blob_does_not_open(world: World) -> None:
    dupont = world.user("Dupont", Module.DECLARATIONS)
    a = world.accounts.identities.set(
        world.admin, confirm=ADMIN_PW, owner_login="Administrateur", values=_values()
    )
    b = world.accounts.identities.set(
        world.admin, confirm=ADMIN_PW, owner_login="Dupont", values=_values(password="Autre-mdp1")
    )
    with world.store.write() as r:
        blob = r.secrets.get_sealed(password_ref(a.id))
        assert blob is not None
        r.secrets.put_sealed(password_ref(b.id), blob)
    with pytest.raises(DecryptionFailed):
        world.accounts.identities.open_password(dupont, b.id)


def test_missing_secret_is_a_clear_error(world: World) -> None:
    ident = world.accounts.identities.set(
        world.admin, confirm=ADMIN_PW, owner_login="Administrateur", values=_values()
    )
    with world.store.write() as r:
        r.secrets.delete_sealed(password_ref(ident.id))
    with pytest.raises(CorruptRecord):
        world.accounts.identities.open_password(world.admin, ident.id)


def test_delete_removes_secret_and_needs_confirmation(world: World) -> None:
    ident = world.accounts.identities.set(
        world.admin, confirm=ADMIN_PW, owner_login="Administrateur", values=_values()
    )
    with pytest.raises(AuthenticationFailed):
        world.accounts.identities.delete(
            world.admin,
            confirm="wrong",
            owner_login="Administrateur",
            environment=Environment.SIMULATOR,
        )
    world.accounts.identities.delete(
        world.admin,
        confirm=ADMIN_PW,
        owner_login="Administrateur",
        environment=Environment.SIMULATOR,
    )
    with world.store.read() as r:
        assert r.secrets.get_sealed(password_ref(ident.id)) is None
    with pytest.raises(NotFound):
        world.accounts.identities.delete(
            world.admin,
            confirm=ADMIN_PW,
            owner_login="Administrateur",
            environment=Environment.SIMULATOR,
        )


def test_deleting_a_user_deletes_their_secrets(world: World) -> None:
    world.user("Dupont", Module.DECLARATIONS)
    ident = world.accounts.identities.set(
        world.admin, confirm=ADMIN_PW, owner_login="Dupont", values=_values()
    )
    world.accounts.users.delete(world.admin, "Dupont")
    with world.store.read() as r:
        assert r.secrets.get_sealed(password_ref(ident.id)) is None


def test_canary_nowhere_in_sqlite_file_or_audit(migrated_sqlite: Path, tmp_path: Path) -> None:
    shutil.copyfile(migrated_sqlite, tmp_path / "c.sqlite3")
    world = make_world(SqlStore(open_database(f"sqlite:///{tmp_path / 'c.sqlite3'}")))
    assert isinstance(world.store, SqlStore)
    world.accounts.identities.set(
        world.admin, confirm=ADMIN_PW, owner_login="Administrateur", values=_values()
    )
    entries = world.accounts.audit.search(world.admin)
    assert CANARY not in repr(entries)
    world.store.db.dispose()
    path = world.store.db.sqlite_path
    assert path is not None
    for file in Path(path).parent.glob(Path(path).name + "*"):
        assert CANARY.encode() not in file.read_bytes()
        assert CANARY.encode("utf-16-le") not in file.read_bytes()
