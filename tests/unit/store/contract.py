"""One contract for every Store: memory, SQLite and PostgreSQL run these same tests.

A test module subclasses :class:`StoreContract` and provides a ``store`` fixture: an empty,
migrated store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dsnlink.errors import Conflict
from dsnlink.store.protocols import Store
from dsnlink.store.records import (
    Environment,
    IdentityState,
    Mode,
    Module,
    NewAuditEntry,
)
from dsnlink.vault.protocols import SecretRef

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def _user(store: Store, login: str = "Dupont", **kw: Any) -> int:
    with store.write() as r:
        return r.users.add(
            login=login,
            display_name=kw.get("display_name", login),
            password_hash="$argon2id$fake",
            builtin=kw.get("builtin", False),
            now=T0,
        ).id


class StoreContract:
    # --- installation ---------------------------------------------------------------------

    def test_installation_single_row(self, store: Store) -> None:
        with store.read() as r:
            assert r.installation.get() is None
        with store.write() as r:
            r.installation.create(
                name="Asso", mode=Mode.RESEAU, tiers_de_confiance="Cabinet", now=T0
            )
        with store.read() as r:
            inst = r.installation.get()
        assert inst is not None
        assert (inst.name, inst.mode, inst.tiers_de_confiance, inst.created_at) == (
            "Asso",
            Mode.RESEAU,
            "Cabinet",
            T0,
        )
        with pytest.raises(Conflict), store.write() as r:
            r.installation.create(
                name="Autre", mode=Mode.MONOPOSTE, tiers_de_confiance=None, now=T0
            )

    # --- users and rights -----------------------------------------------------------------

    def test_user_round_trip_and_case_insensitive_login(self, store: Store) -> None:
        uid = _user(store, "Dupont", display_name="Jeanne Dupont")
        with store.read() as r:
            user = r.users.by_login("dUPONT")
            assert user is not None and user.id == uid
            assert user.login == "Dupont" and user.display_name == "Jeanne Dupont"
            assert not user.disabled and not user.builtin and user.rights == frozenset()
            assert user.created_at == T0
            assert r.users.get(uid) == user
            assert r.users.get(uid + 1000) is None
            assert r.users.login_of(uid) == "Dupont"
            assert r.users.login_of(uid + 1000) is None
        with pytest.raises(Conflict), store.write() as r:
            r.users.add(login="DUPONT", display_name="x", password_hash="h", builtin=False, now=T0)

    def test_users_listed_by_login(self, store: Store) -> None:
        for login in ("martin", "Bernard", "Alice"):
            _user(store, login)
        with store.read() as r:
            assert [u.login for u in r.users.all()] == ["Alice", "Bernard", "martin"]

    def test_user_update_and_rights(self, store: Store) -> None:
        uid = _user(store)
        later = T0 + timedelta(hours=1)
        with store.write() as r:
            r.users.update(uid, now=later, display_name="J. D.", disabled=True)
            r.users.set_rights(uid, [Module.DECLARATIONS, Module.PAYSLIPS, Module.DECLARATIONS])
        with store.read() as r:
            user = r.users.get(uid)
        assert user is not None
        assert user.display_name == "J. D." and user.disabled and user.updated_at == later
        assert user.password_hash == "$argon2id$fake"
        assert user.rights == {Module.DECLARATIONS, Module.PAYSLIPS}
        with store.write() as r:
            r.users.update(uid, now=later, password_hash="$argon2id$new", disabled=False)
            r.users.set_rights(uid, [])
        with store.read() as r:
            user = r.users.get(uid)
        assert user is not None and not user.disabled and user.rights == frozenset()
        assert user.password_hash == "$argon2id$new"

    def test_rights_for_unknown_user_conflict(self, store: Store) -> None:
        with pytest.raises(Conflict), store.write() as r:
            r.users.set_rights(4242, [Module.CONFIGURATION])

    def test_delete_user_cascades(self, store: Store) -> None:
        uid = _user(store)
        other = _user(store, "Martin")
        with store.write() as r:
            r.users.set_rights(uid, [Module.DECLARATIONS])
            ident = r.identities.add(
                owner_user_id=uid,
                environment=Environment.SIMULATOR,
                siret="99900000300015",
                nom="declarant",
                prenom="declarant",
                now=T0,
            )
            emp = r.employers.add(siret="73282932000074", name="Asso", due_day=15, now=T0)
            r.employers.link(emp.id, uid, None)
            r.employers.link(emp.id, other, ident.id)
        with store.write() as r:
            r.users.delete(uid)
        with store.read() as r:
            assert r.users.get(uid) is None
            assert r.identities.get(ident.id) is None
            assert r.employers.links() == []
            assert r.employers.get(emp.id) is not None

    # --- transactions ---------------------------------------------------------------------

    def test_failed_write_leaves_nothing(self, store: Store) -> None:
        class Boom(Exception):
            pass

        with pytest.raises(Boom), store.write() as r:
            r.users.add(login="A", display_name="A", password_hash="h", builtin=False, now=T0)
            r.settings.put("installation", "k", {"v": 1}, T0)
            raise Boom
        with store.read() as r:
            assert r.users.all() == []
            assert r.settings.get("installation", "k") is None

    def test_conflict_rolls_back_whole_transaction(self, store: Store) -> None:
        _user(store, "A")
        with pytest.raises(Conflict), store.write() as r:
            r.users.add(login="B", display_name="B", password_hash="h", builtin=False, now=T0)
            r.users.add(login="a", display_name="A", password_hash="h", builtin=False, now=T0)
        with store.read() as r:
            assert [u.login for u in r.users.all()] == ["A"]

    # --- login failures -------------------------------------------------------------------

    def test_throttle_counts_and_clears(self, store: Store) -> None:
        with store.write() as r:
            assert r.throttle.get("dupont") is None
            r.throttle.record_failure("dupont", T0)
            second = r.throttle.record_failure("dupont", T0 + timedelta(seconds=3))
        assert second.failures == 2
        with store.read() as r:
            got = r.throttle.get("dupont")
        assert got is not None
        assert (got.failures, got.last_failure_at) == (2, T0 + timedelta(seconds=3))
        with store.write() as r:
            r.throttle.clear("dupont")
            assert r.throttle.get("dupont") is None

    # --- identities -----------------------------------------------------------------------

    def test_identity_lifecycle(self, store: Store) -> None:
        uid = _user(store)
        with store.write() as r:
            ident = r.identities.add(
                owner_user_id=uid,
                environment=Environment.PRODUCTION,
                siret="73282932000074",
                nom="DUPONT",
                prenom="Jeanne",
                now=T0,
            )
        assert ident.state is IdentityState.UNTESTED and ident.last_login_at is None
        t1 = T0 + timedelta(minutes=5)
        with store.write() as r:
            r.identities.set_state(
                ident.id, state=IdentityState.OK, detail=None, at=t1, logged_in=True
            )
        with store.read() as r:
            got = r.identities.get(ident.id)
        assert got is not None and got.state is IdentityState.OK and got.last_login_at == t1
        t2 = t1 + timedelta(minutes=5)
        with store.write() as r:
            r.identities.set_state(
                ident.id,
                state=IdentityState.WRONG_CREDENTIALS,
                detail="401 net-entreprises.fr",
                at=t2,
                logged_in=False,
            )
        with store.read() as r:
            got = r.identities.get(ident.id)
        assert got is not None and got.state is IdentityState.WRONG_CREDENTIALS
        assert got.state_detail == "401 net-entreprises.fr" and got.state_at == t2
        assert got.last_login_at == t1
        with store.write() as r:
            r.identities.update_fields(
                ident.id, siret="73282932000074", nom="Dupont", prenom="J", now=t2
            )
        with store.read() as r:
            got = r.identities.get(ident.id)
            assert got is not None and got.state is IdentityState.UNTESTED
            assert (got.nom, got.prenom, got.state_detail) == ("Dupont", "J", None)
            assert r.identities.find(uid, Environment.PRODUCTION) == got
            assert r.identities.find(uid, Environment.MSA) is None
            assert r.identities.all(uid) == [got]

    def test_one_identity_per_user_and_environment(self, store: Store) -> None:
        uid = _user(store)
        kw: dict[str, Any] = {"siret": "73282932000074", "nom": "N", "prenom": "P", "now": T0}
        with store.write() as r:
            r.identities.add(owner_user_id=uid, environment=Environment.PRODUCTION, **kw)
            r.identities.add(owner_user_id=uid, environment=Environment.SIMULATOR, **kw)
        with pytest.raises(Conflict), store.write() as r:
            r.identities.add(owner_user_id=uid, environment=Environment.PRODUCTION, **kw)
        with pytest.raises(Conflict), store.write() as r:
            r.identities.add(owner_user_id=uid + 999, environment=Environment.MSA, **kw)
        with store.read() as r:
            assert len(r.identities.all()) == 2

    def test_delete_identity_removes_links_using_it(self, store: Store) -> None:
        uid = _user(store)
        other = _user(store, "Martin")
        with store.write() as r:
            ident = r.identities.add(
                owner_user_id=uid,
                environment=Environment.SIMULATOR,
                siret="99900000300015",
                nom="declarant",
                prenom="declarant",
                now=T0,
            )
            emp = r.employers.add(siret="73282932000074", name="Asso", due_day=5, now=T0)
            r.employers.link(emp.id, other, ident.id)
            r.employers.link(emp.id, uid, None)
            r.identities.delete(ident.id)
        with store.read() as r:
            assert [(lk.user_id, lk.identity_id) for lk in r.employers.links()] == [(uid, None)]

    # --- employers ------------------------------------------------------------------------

    def test_employers_and_links(self, store: Store) -> None:
        uid = _user(store)
        other = _user(store, "Martin")
        with store.write() as r:
            b = r.employers.add(siret="73282932000074", name="Boulangerie", due_day=5, now=T0)
            a = r.employers.add(siret="35600000000048", name="Association", due_day=15, now=T0)
        with pytest.raises(Conflict), store.write() as r:
            r.employers.add(siret="73282932000074", name="Double", due_day=5, now=T0)
        with store.write() as r:
            assert [e.name for e in r.employers.all()] == ["Association", "Boulangerie"]
            assert r.employers.by_siret("35600000000048") == a
            assert r.employers.get(b.id) == b
            r.employers.link(a.id, uid, None)
            r.employers.link(a.id, other, None)
            r.employers.link(b.id, uid, None)
            assert len(r.employers.links(employer_id=a.id)) == 2
            assert {lk.employer_id for lk in r.employers.links(user_id=uid)} == {a.id, b.id}
            assert r.employers.unlink(a.id, other)
            assert not r.employers.unlink(a.id, other)
        with pytest.raises(Conflict), store.write() as r:
            r.employers.link(a.id, uid + 999, None)
        with store.write() as r:
            r.employers.delete(b.id)
        with store.read() as r:
            assert r.employers.get(b.id) is None
            assert r.employers.links(user_id=uid) == [r.employers.links(employer_id=a.id)[0]]

    def test_relink_replaces_identity(self, store: Store) -> None:
        uid = _user(store)
        with store.write() as r:
            ident = r.identities.add(
                owner_user_id=uid,
                environment=Environment.SIMULATOR,
                siret="99900000300015",
                nom="d",
                prenom="d",
                now=T0,
            )
            emp = r.employers.add(siret="73282932000074", name="Asso", due_day=5, now=T0)
            r.employers.link(emp.id, uid, None)
            r.employers.link(emp.id, uid, ident.id)
        with store.read() as r:
            assert [lk.identity_id for lk in r.employers.links()] == [ident.id]

    # --- audit ----------------------------------------------------------------------------

    def test_audit_append_and_search(self, store: Store) -> None:
        with store.write() as r:
            for i, login in enumerate(["Administrateur", "Dupont", "administrateur"]):
                r.audit.append(
                    NewAuditEntry(
                        at=T0 + timedelta(minutes=i),
                        actor_user_id=i,
                        actor_login=login,
                        action="user.create",
                        object_type="user",
                        object_id=str(i),
                        as_whom="identity:3" if i == 1 else None,
                        detail={"rights": ["payslips"], "n": i},
                    )
                )
        with store.read() as r:
            entries = r.audit.search()
            assert [e.detail["n"] for e in entries] == [2, 1, 0]
            assert entries[1].as_whom == "identity:3" and entries[1].at == T0 + timedelta(minutes=1)
            assert [e.detail["n"] for e in r.audit.search(actor_login="ADMINISTRATEUR")] == [2, 0]
            since = r.audit.search(since=T0 + timedelta(minutes=1))
            assert [e.detail["n"] for e in since] == [2, 1]
            assert len(r.audit.search(limit=1)) == 1

    # --- settings -------------------------------------------------------------------------

    def test_settings_scoped_json(self, store: Store) -> None:
        value = {"mode": "normal", "proxy": {"host": "proxy.local", "port": 3128}, "n": [1, 2]}
        with store.write() as r:
            r.settings.put("installation", "connection", value, T0)
            r.settings.put("user:3", "connection", {"mode": "etendu"}, T0)
            r.settings.put("installation", "alerts", True, T0)
        with store.write() as r:
            got = r.settings.get("installation", "connection")
            assert got is not None and got.value == value and got.updated_at == T0
            r.settings.put("installation", "connection", {"mode": "securise"}, T0 + timedelta(1))
            assert [s.key for s in r.settings.all("installation")] == ["alerts", "connection"]
            assert r.settings.delete("user:3", "connection")
            assert not r.settings.delete("user:3", "connection")
        with store.read() as r:
            got = r.settings.get("installation", "connection")
            assert got is not None and got.value == {"mode": "securise"}
            assert r.settings.get("user:3", "connection") is None

    # --- sealed secrets (the vault's SealedSecretStore) -----------------------------------

    def test_secrets_put_get_replace_delete(self, store: Store) -> None:
        ref = SecretRef("identities", "7", "password")
        with store.write() as r:
            assert r.secrets.get_sealed(ref) is None
            r.secrets.put_sealed(ref, b"\x00blob-1")
            r.secrets.put_sealed(ref, b"\x00blob-2")
        with store.write() as r:
            assert r.secrets.get_sealed(ref) == b"\x00blob-2"
            assert not r.secrets.replace_sealed(ref, b"\x00blob-1", b"x")
            assert r.secrets.replace_sealed(ref, b"\x00blob-2", b"\x00blob-3")
            assert r.secrets.get_sealed(ref) == b"\x00blob-3"
            assert not r.secrets.replace_sealed(SecretRef("t", "1", "f"), b"", b"x")
            r.secrets.delete_sealed(ref)
            assert r.secrets.get_sealed(ref) is None

    def test_secrets_walk_in_ref_order(self, store: Store) -> None:
        refs = [
            SecretRef(table, row, field)
            for table in ("identities", "Proxy", "alerts")
            for row in ("10", "9", "a_b")
            for field in ("password", "Token")
        ]
        with store.write() as r:
            for i, ref in enumerate(refs):
                r.secrets.put_sealed(ref, bytes([i]))
        walked = []
        after = None
        with store.read() as r:
            while batch := r.secrets.iter_sealed(after=after, limit=4):
                walked.extend(s.ref for s in batch)
                after = batch[-1].ref
        assert walked == sorted(refs)
        with store.read() as r:
            assert r.secrets.get_sealed(refs[5]) == bytes([5])
