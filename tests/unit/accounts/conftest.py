from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dsnlink.accounts import Accounts, IdentityInput, PasswordHasher
from dsnlink.store import MemoryStore, SqlStore, Store, open_database, upgrade
from dsnlink.store.records import Environment, Mode, Module, User
from dsnlink.vault import Vault
from dsnlink.vault.keys import KeyRing, MasterKey
from dsnlink.vault.memory import MemorySealedSecretStore

ADMIN_PW = "admin-password-1"
PW = "user-password-1"
MOCK_SIRET = "99900000300015"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class World:
    accounts: Accounts
    store: Store
    clock: FakeClock
    admin: User

    def user(self, login: str, *rights: Module) -> User:
        return self.accounts.users.create(
            self.admin, login=login, display_name=login, password=PW, rights=rights
        )

    def identity(self, actor: User, owner: str, confirm: str = PW, **kw: object) -> object:
        values = IdentityInput(
            siret=str(kw.get("siret", MOCK_SIRET)),
            nom=str(kw.get("nom", "declarant")),
            prenom=str(kw.get("prenom", "declarant")),
            environment=Environment(kw.get("environment", Environment.SIMULATOR)),
            password=kw.get("password", "Refonte01"),  # type: ignore[arg-type]
        )
        return self.accounts.identities.set(
            actor, confirm=confirm, owner_login=owner, values=values
        )


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied by each test (migrating once per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db = open_database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()  # the last connection closed: SQLite folds the WAL into the file
    return path


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    path = tmp_path / "accounts.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    db = open_database(f"sqlite:///{path}")
    yield SqlStore(db)
    db.dispose()


def make_vault() -> Vault:
    """The real vault, with a fresh master key (its own store is not used by accounts)."""
    return Vault(KeyRing(MasterKey.generate()), MemorySealedSecretStore())


def make_world(store: Store) -> World:
    clock = FakeClock()
    accounts = Accounts.build(
        store, make_vault(), hasher=PasswordHasher("fast-insecure-tests"), clock=clock
    )
    with store.write() as r:
        r.installation.create(
            name="Test", mode=Mode.MONOPOSTE, tiers_de_confiance=None, now=clock()
        )
        admin = accounts.users.create_builtin_admin(r, ADMIN_PW)
    return World(accounts, store, clock, admin)


@pytest.fixture
def world(store: Store) -> World:
    return make_world(store)


@pytest.fixture
def memory_world() -> World:
    """For the many cases where the store makes no difference (rights)."""
    return make_world(MemoryStore())
