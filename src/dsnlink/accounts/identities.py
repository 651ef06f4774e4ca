"""Net-entreprises identities: SIRET, nom, prénom, environment, and a sealed password.

The password is sealed by the vault in the same transaction as the identity's row, bound to
``SecretRef("identities", <id>, "password")``. It is never returned by a listing: only
:meth:`IdentityService.open_password`, called by the code that authenticates, opens it; and
it refuses to when the last answer of the portal said the credentials are wrong, expired,
not registered or locked, so that nothing tries the same credentials twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dsnlink.accounts.base import (
    Services,
    audit,
    authorise,
    confirm_password,
    current_actor,
    password_ref,
    user_by_login,
)
from dsnlink.accounts.rights import Operation, require
from dsnlink.accounts.validation import (
    NOM_MAX,
    PRENOM_MAX,
    check_portal_password,
    check_siret,
    check_text,
)
from dsnlink.errors import (
    AccountLocked,
    CorruptRecord,
    CredentialError,
    InvalidInput,
    NotFound,
    NotRegisteredForDsn,
    PasswordExpired,
    PermissionDenied,
    WrongCredentials,
)
from dsnlink.logs import get_logger
from dsnlink.redaction import register_secret
from dsnlink.store.protocols import Repositories
from dsnlink.store.records import Environment, Identity, IdentityState, User
from dsnlink.vault.protocols import SecretRef

log = get_logger("dsnlink.accounts.identities")

#: States after which the same credentials must not be tried again.
_BLOCKING: dict[IdentityState, type[CredentialError]] = {
    IdentityState.WRONG_CREDENTIALS: WrongCredentials,
    IdentityState.PASSWORD_EXPIRED: PasswordExpired,
    IdentityState.NOT_REGISTERED: NotRegisteredForDsn,
    IdentityState.LOCKED: AccountLocked,
}


class SecretSealer(Protocol):
    """What identities need from the vault (:class:`dsnlink.vault.Vault` is one): seal and
    open one value bound to its ref, without touching the store, so that the sealed blob is
    written in the same transaction as the identity's row."""

    def seal(self, ref: SecretRef, plaintext: bytes) -> bytes: ...

    def open(self, ref: SecretRef, blob: bytes) -> bytes: ...


@dataclass(frozen=True)
class IdentityInput:
    """What a person types on the Net-entreprises tab. ``password`` None keeps the current."""

    siret: str
    nom: str
    prenom: str
    environment: Environment
    password: str | None = None

    def __repr__(self) -> str:  # never show the password, even by accident
        return (
            f"IdentityInput(siret={self.siret!r}, nom={self.nom!r}, prenom={self.prenom!r}, "
            f"environment={self.environment.value!r}, password=***)"
        )

    def checked(self) -> IdentityInput:
        check_siret(self.siret)
        check_text(self.nom, field="nom", label="Le nom", max_len=NOM_MAX)
        check_text(self.prenom, field="prenom", label="Le prénom", max_len=PRENOM_MAX)
        if self.password is not None:
            check_portal_password(self.password)
        return self


class IdentityService:
    def __init__(self, ctx: Services, sealer: SecretSealer) -> None:
        self._ctx = ctx
        self._sealer = sealer

    def set(
        self, actor: User, *, confirm: str, owner_login: str, values: IdentityInput
    ) -> Identity:
        """Create or change ``owner_login``'s identity on ``values.environment``.

        ``confirm`` is the actor's own dsnlink password, re-typed (the seed's step).
        """
        if values.password is not None:
            register_secret(values.password)
        values.checked()
        confirm_password(self._ctx, actor, confirm)
        return self.set_confirmed(actor, owner_login=owner_login, values=values)

    def set_confirmed(self, actor: User, *, owner_login: str, values: IdentityInput) -> Identity:
        """:meth:`set` for an interface that had the actor re-type their own password itself
        moments ago (the web's confirmation, valid a few minutes in the browser session)."""
        if values.password is not None:
            register_secret(values.password)
        values.checked()
        now = self._ctx.clock()
        with self._ctx.store.write() as r:
            owner = user_by_login(r, owner_login)
            fresh = authorise(r, actor, Operation.IDENTITY_SET, owner)
            existing = r.identities.find(owner.id, values.environment)
            if existing is None:
                if values.password is None:
                    raise InvalidInput(
                        "Le mot de passe Net-entreprises est obligatoire pour une nouvelle "
                        "identité.",
                        field="password",
                    )
                identity = r.identities.add(
                    owner_user_id=owner.id,
                    environment=values.environment,
                    siret=values.siret,
                    nom=values.nom,
                    prenom=values.prenom,
                    now=now,
                )
                changed = ["siret", "nom", "prenom", "password"]
            else:
                identity = existing
                changed = [
                    f
                    for f in ("siret", "nom", "prenom")
                    if getattr(existing, f) != getattr(values, f)
                ]
                if values.password is not None:
                    changed.append("password")
                r.identities.update_fields(
                    existing.id, siret=values.siret, nom=values.nom, prenom=values.prenom, now=now
                )
            if values.password is not None:
                ref = password_ref(identity.id)
                r.secrets.put_sealed(ref, self._sealer.seal(ref, values.password.encode()))
            audit(
                r,
                self._ctx,
                fresh,
                "identity.set",
                "identity",
                str(identity.id),
                owner=owner.login,
                environment=values.environment.value,
                siret=values.siret,
                changed=changed,
            )
            result = r.identities.get(identity.id)
        assert result is not None
        log.info(
            "identity_set",
            identity_id=result.id,
            environment=result.environment.value,
            changed=changed,
        )
        return result

    def check_can_set(self, actor: User, owner_login: str) -> None:
        """Raise unless ``actor`` may enter ``owner_login``'s credentials (testing typed ones)."""
        with self._ctx.store.read() as r:
            owner = user_by_login(r, owner_login)
            authorise(r, actor, Operation.IDENTITY_SET, owner)

    def show(self, actor: User, owner_login: str | None = None) -> list[Identity]:
        """The identities of ``owner_login`` (default: the actor's own), without password."""
        with self._ctx.store.read() as r:
            owner = user_by_login(r, owner_login) if owner_login else current_actor(r, actor)
            authorise(r, actor, Operation.IDENTITY_SHOW, owner)
            return r.identities.all(owner.id)

    def delete(
        self, actor: User, *, confirm: str, owner_login: str, environment: Environment
    ) -> None:
        confirm_password(self._ctx, actor, confirm)
        self.delete_confirmed(actor, owner_login=owner_login, environment=environment)

    def delete_confirmed(self, actor: User, *, owner_login: str, environment: Environment) -> None:
        """:meth:`delete` for an interface that had the actor re-type their own password
        moments ago (as :meth:`set_confirmed`)."""
        with self._ctx.store.write() as r:
            owner = user_by_login(r, owner_login)
            fresh = authorise(r, actor, Operation.IDENTITY_DELETE, owner)
            identity = r.identities.find(owner.id, environment)
            if identity is None:
                raise NotFound(
                    f"{owner.login} n'a pas d'identité Net-entreprises pour l'environnement "
                    f"{environment.value}.",
                )
            r.secrets.delete_sealed(password_ref(identity.id))
            r.identities.delete(identity.id)
            audit(
                r,
                self._ctx,
                fresh,
                "identity.delete",
                "identity",
                str(identity.id),
                owner=owner.login,
                environment=environment.value,
            )

    def _usable(self, r: Repositories, actor: User, identity_id: int) -> tuple[User, Identity]:
        fresh = current_actor(r, actor)
        identity = r.identities.get(identity_id)
        if identity is None:
            raise NotFound("Cette identité Net-entreprises n'existe pas.", identity=identity_id)
        own = identity.owner_user_id == fresh.id
        require(fresh, Operation.IDENTITY_USE, own=own)
        if not own and not any(
            link.identity_id == identity_id for link in r.employers.links(user_id=fresh.id)
        ):
            raise PermissionDenied(
                "Vous n'êtes pas autorisé à utiliser l'identité Net-entreprises d'un autre "
                "utilisateur.",
                remedy="Un administrateur doit vous rattacher à l'employeur avec cette identité.",
                identity=identity_id,
            )
        return fresh, identity

    def open_password(self, actor: User, identity_id: int) -> str:
        """The password in clear, for the code that authenticates on Net-entreprises only."""
        with self._ctx.store.read() as r:
            _fresh, identity = self._usable(r, actor, identity_id)
            blocking = _BLOCKING.get(identity.state)
            if blocking is not None:
                # Never try credentials the portal already refused: it locks accounts.
                raise blocking(identity=identity_id, state=identity.state.value)
            ref = password_ref(identity_id)
            blob = r.secrets.get_sealed(ref)
        if blob is None:
            raise CorruptRecord(
                "Le mot de passe de cette identité Net-entreprises est introuvable.",
                remedy="Saisissez-le à nouveau dans l'onglet Net-entreprises.",
                identity=identity_id,
            )
        try:
            password = self._sealer.open(ref, blob).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorruptRecord(identity=identity_id) from exc
        register_secret(password)
        log.debug("identity_password_opened", identity_id=identity_id)
        return password

    def mark_verified(self, actor: User, identity_id: int) -> Identity:
        """The credentials just saved were accepted by the portal moments before, when the
        person who typed them tested them (the sheet: test, all green, then save). Needs the
        right to enter them, not to use them."""
        now = self._ctx.clock()
        with self._ctx.store.write() as r:
            identity = r.identities.get(identity_id)
            if identity is None:
                raise NotFound("Cette identité Net-entreprises n'existe pas.", identity=identity_id)
            owner = r.users.get(identity.owner_user_id)
            fresh = authorise(r, actor, Operation.IDENTITY_SET, owner)
            r.identities.set_state(
                identity_id, state=IdentityState.OK, detail="web.tested", at=now, logged_in=True
            )
            audit(
                r,
                self._ctx,
                fresh,
                "identity.state",
                "identity",
                str(identity_id),
                as_whom=f"identity:{identity_id}",
                previous=identity.state.value,
                state=IdentityState.OK.value,
            )
            result = r.identities.get(identity_id)
        assert result is not None
        return result

    def record_state(
        self, actor: User, identity_id: int, state: IdentityState, detail: str | None = None
    ) -> Identity:
        """What an authentication attempt taught: called by the code that authenticates."""
        now = self._ctx.clock()
        with self._ctx.store.write() as r:
            fresh, identity = self._usable(r, actor, identity_id)
            r.identities.set_state(
                identity_id,
                state=state,
                detail=detail,
                at=now,
                logged_in=state is IdentityState.OK,
            )
            if identity.state is not state:
                audit(
                    r,
                    self._ctx,
                    fresh,
                    "identity.state",
                    "identity",
                    str(identity_id),
                    as_whom=f"identity:{identity_id}",
                    previous=identity.state.value,
                    state=state.value,
                )
            result = r.identities.get(identity_id)
        assert result is not None
        return result
