"""Local user accounts: login with throttling, creation, edition, rights, the last administrator."""

from __future__ import annotations

from collections.abc import Iterable

from dsnlink.accounts.base import (
    Services,
    audit,
    authorise,
    confirm_password,
    current_actor,
    password_ref,
    user_by_login,
)
from dsnlink.accounts.rights import Operation, is_administrator
from dsnlink.accounts.throttle import check_not_throttled
from dsnlink.accounts.validation import (
    DISPLAY_NAME_MAX,
    check_local_password,
    check_login,
    check_text,
)
from dsnlink.errors import AccountDisabled, AuthenticationFailed, Conflict, InvalidInput
from dsnlink.logs import get_logger
from dsnlink.store.protocols import Repositories
from dsnlink.store.records import Module, User
from dsnlink.store.sql_accounts import login_key

ADMIN_LOGIN = "Administrateur"

log = get_logger("dsnlink.accounts")


def _ensure_an_administrator_remains(r: Repositories) -> None:
    if not any(is_administrator(u) for u in r.users.all()):
        raise Conflict(
            "Impossible : il doit toujours rester au moins un administrateur actif "
            "(droit « configuration »).",
            remedy="Donnez d'abord le droit « configuration » à un autre compte actif.",
        )


class UserService:
    def __init__(self, ctx: Services) -> None:
        self._ctx = ctx

    # --- logging in -----------------------------------------------------------------------

    def authenticate(self, login: str, password: str) -> User:
        """The user, if ``password`` is theirs; throttled after repeated failures."""
        ctx = self._ctx
        now = ctx.clock()
        key = login_key(login)
        with ctx.store.read() as r:
            check_not_throttled(r.throttle.get(key), now)
            user = r.users.by_login(login)
        # Always verify (a dummy hash for unknown logins): the time taken reveals nothing.
        ok = ctx.hasher.verify(user.password_hash if user else None, password)
        if not ok or user is None:
            with ctx.store.write() as r:
                failures = r.throttle.record_failure(key, now).failures
                if user is not None:
                    audit(r, ctx, user, "login.failed", "user", str(user.id))
            log.warning("login_failed", known_login=user is not None, failures=failures)
            raise AuthenticationFailed(login=login)
        if user.disabled:
            raise AccountDisabled(login=user.login)
        with ctx.store.write() as r:
            r.throttle.clear(key)
            if ctx.hasher.needs_rehash(user.password_hash):
                r.users.update(user.id, now=now, password_hash=ctx.hasher.hash(password))
            refreshed = r.users.get(user.id)
        assert refreshed is not None
        log.debug("login_ok", user_id=user.id)
        return refreshed

    # --- reading --------------------------------------------------------------------------

    def list(self, actor: User) -> list[User]:
        with self._ctx.store.read() as r:
            authorise(r, actor, Operation.USERS_LIST, None)
            return r.users.all()

    def get(self, actor: User, login: str) -> User:
        with self._ctx.store.read() as r:
            target = user_by_login(r, login)
            authorise(r, actor, Operation.USERS_SHOW, target)
            return target

    # --- changing -------------------------------------------------------------------------

    def create_builtin_admin(self, r: Repositories, password: str) -> User:
        """The built-in Administrateur, with every right (installation only)."""
        check_local_password(password)
        user = r.users.add(
            login=ADMIN_LOGIN,
            display_name=ADMIN_LOGIN,
            password_hash=self._ctx.hasher.hash(password),
            builtin=True,
            now=self._ctx.clock(),
        )
        r.users.set_rights(user.id, list(Module))
        audit(r, self._ctx, None, "user.create", "user", str(user.id), login=ADMIN_LOGIN)
        found = r.users.get(user.id)
        assert found is not None
        return found

    def create(
        self,
        actor: User,
        *,
        login: str,
        display_name: str,
        password: str,
        rights: Iterable[Module] = (),
    ) -> User:
        check_login(login)
        check_text(display_name, field="display_name", label="Le nom", max_len=DISPLAY_NAME_MAX)
        check_local_password(password)
        modules = sorted({Module(m) for m in rights})
        password_hash = self._ctx.hasher.hash(password)
        with self._ctx.store.write() as r:
            fresh = authorise(r, actor, Operation.USERS_CREATE, None)
            user = r.users.add(
                login=login,
                display_name=display_name,
                password_hash=password_hash,
                builtin=False,
                now=self._ctx.clock(),
            )
            r.users.set_rights(user.id, modules)
            audit(
                r,
                self._ctx,
                fresh,
                "user.create",
                "user",
                str(user.id),
                login=login,
                rights=[m.value for m in modules],
            )
            created = r.users.get(user.id)
        assert created is not None
        return created

    def edit(self, actor: User, login: str, *, display_name: str) -> User:
        check_text(display_name, field="display_name", label="Le nom", max_len=DISPLAY_NAME_MAX)
        with self._ctx.store.write() as r:
            target = user_by_login(r, login)
            fresh = authorise(r, actor, Operation.USERS_EDIT, target)
            r.users.update(target.id, now=self._ctx.clock(), display_name=display_name)
            audit(r, self._ctx, fresh, "user.edit", "user", str(target.id), login=target.login)
            edited = r.users.get(target.id)
        assert edited is not None
        return edited

    def set_disabled(self, actor: User, login: str, disabled: bool) -> User:
        operation = Operation.USERS_DISABLE if disabled else Operation.USERS_ENABLE
        with self._ctx.store.write() as r:
            target = user_by_login(r, login)
            fresh = authorise(r, actor, operation, target)
            r.users.update(target.id, now=self._ctx.clock(), disabled=disabled)
            if disabled:
                _ensure_an_administrator_remains(r)
            action = "user.disable" if disabled else "user.enable"
            audit(r, self._ctx, fresh, action, "user", str(target.id), login=target.login)
            changed = r.users.get(target.id)
        assert changed is not None
        return changed

    def delete(self, actor: User, login: str) -> None:
        with self._ctx.store.write() as r:
            target = user_by_login(r, login)
            fresh = authorise(r, actor, Operation.USERS_DELETE, target)
            if target.builtin:
                raise Conflict(
                    "Le compte Administrateur intégré ne peut pas être supprimé.",
                    remedy="Vous pouvez le désactiver si un autre administrateur existe.",
                )
            # The identities' sealed passwords go with them.
            for identity in r.identities.all(target.id):
                r.secrets.delete_sealed(password_ref(identity.id))
            r.users.delete(target.id)
            _ensure_an_administrator_remains(r)
            audit(r, self._ctx, fresh, "user.delete", "user", str(target.id), login=target.login)

    def change_password(
        self, actor: User, login: str, *, new_password: str, current_password: str | None = None
    ) -> None:
        """One's own password (the current one is required) or, as configuration, anyone's."""
        check_local_password(new_password)
        password_hash = self._ctx.hasher.hash(new_password)
        with self._ctx.store.write() as r:
            target = user_by_login(r, login)
            fresh = authorise(r, actor, Operation.USERS_PASSWD, target)
            if target.id == fresh.id and not self._ctx.hasher.verify(
                fresh.password_hash, current_password or ""
            ):
                raise AuthenticationFailed("Le mot de passe actuel est incorrect.")
            r.users.update(target.id, now=self._ctx.clock(), password_hash=password_hash)
            r.throttle.clear(login_key(target.login))
            audit(r, self._ctx, fresh, "user.passwd", "user", str(target.id), login=target.login)

    def change_rights(
        self,
        actor: User,
        login: str,
        *,
        grant: Iterable[Module] = (),
        revoke: Iterable[Module] = (),
    ) -> User:
        granted, revoked = {Module(m) for m in grant}, {Module(m) for m in revoke}
        if granted & revoked:
            raise InvalidInput("Un même droit ne peut pas être accordé et retiré à la fois.")
        with self._ctx.store.write() as r:
            target = user_by_login(r, login)
            fresh = authorise(r, actor, Operation.RIGHTS_CHANGE, target)
            rights = (set(target.rights) | granted) - revoked
            r.users.set_rights(target.id, rights)
            _ensure_an_administrator_remains(r)
            audit(
                r,
                self._ctx,
                fresh,
                "rights.change",
                "user",
                str(target.id),
                login=target.login,
                granted=sorted(m.value for m in granted),
                revoked=sorted(m.value for m in revoked),
            )
            changed = r.users.get(target.id)
        assert changed is not None
        return changed

    def confirm_own_password(self, actor: User, password: str) -> None:
        """The actor re-types their own password (throttled and audited like a login)."""
        confirm_password(self._ctx, actor, password)

    def whoami(self, actor: User) -> User:
        with self._ctx.store.read() as r:
            return current_actor(r, actor)
