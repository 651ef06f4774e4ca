"""Two workstations racing on PostgreSQL cannot leave the installation without an administrator."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from dsnlink.accounts import Accounts, PasswordHasher
from dsnlink.errors import AccountDisabled, Conflict
from dsnlink.store import SqlStore, open_database, upgrade
from dsnlink.store.records import Mode, Module
from dsnlink.store.sql import SqlRepositories, utc_now
from tests.unit.accounts.conftest import make_vault

pytestmark = pytest.mark.pg


class SlowStore(SqlStore):
    """Holds each write transaction open a moment after its checks, before committing, so
    that the two workstations' transactions overlap every time: without the write lock, both
    would pass the "an administrator remains" check and commit."""

    @contextmanager
    def write(self) -> Iterator[SqlRepositories]:
        with super().write() as r:
            yield r
            time.sleep(0.3)


def test_last_administrator_holds_under_concurrent_disables(fresh_pg_url: str) -> None:
    # Two engines: two workstations, each with its own connections.
    dbs = [open_database(fresh_pg_url) for _ in range(2)]
    upgrade(dbs[0])
    hasher = PasswordHasher("fast-insecure-tests")
    a, b = (Accounts.build(SlowStore(db), make_vault(), hasher=hasher) for db in dbs)
    with SqlStore(dbs[0]).write() as r:
        r.installation.create(name="t", mode=Mode.RESEAU, tiers_de_confiance=None, now=utc_now())
        admin = a.users.create_builtin_admin(r, "admin-password-1")
    chef = a.users.create(
        admin,
        login="Chef",
        display_name="Chef",
        password="chef-password-1",
        rights=[Module.CONFIGURATION],
    )
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def disable(accounts: Accounts, actor_login: str, target: str) -> None:
        actor = accounts.users.authenticate(
            actor_login,
            "admin-password-1" if actor_login == "Administrateur" else "chef-password-1",
        )
        barrier.wait()
        try:
            accounts.users.set_disabled(actor, target, True)
            outcomes.append("disabled")
        except (Conflict, AccountDisabled):
            # Refused as the last administrator, or disabled meanwhile by the other one.
            outcomes.append("refused")

    for _ in range(3):
        outcomes.clear()
        threads = [
            threading.Thread(target=disable, args=(a, "Administrateur", "Chef")),
            threading.Thread(target=disable, args=(b, "Chef", "Administrateur")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        # Whoever went second either was refused or found themselves disabled: never both done.
        with SqlStore(dbs[0]).read() as r:
            active_admins = [
                u for u in r.users.all() if not u.disabled and Module.CONFIGURATION in u.rights
            ]
        assert len(active_admins) == 1, outcomes
        assert sorted(outcomes) == ["disabled", "refused"]
        # Put both back for the next round.
        survivor = active_admins[0]
        other = "Chef" if survivor.login == "Administrateur" else "Administrateur"
        a.users.set_disabled(survivor, other, False)
    assert chef.login == "Chef"
    for db in dbs:
        db.dispose()
