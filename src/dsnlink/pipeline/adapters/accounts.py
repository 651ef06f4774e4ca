"""The identities port over :mod:`dsnlink.accounts`: choosing the identity for a declared
SIRET, opening its password for the portal, recording credential failures.

Rights are the accounts services' own: the identity is used on behalf of the acting user,
who needs the *declarations* right and a link to the employer (or the identity's ownership).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from dsnlink.errors import AccountDisabled, NotFound, PermissionDenied
from dsnlink.pipeline.ports import EmployerRef, IdentityRef
from dsnlink.portal import PortalIdentity
from dsnlink.setup import App
from dsnlink.store.protocols import Repositories
from dsnlink.store.records import Environment, Identity, IdentityState, Module, User

#: Identity states that mean the portal refused the credentials: never tried again.
REFUSED = {
    IdentityState.WRONG_CREDENTIALS,
    IdentityState.PASSWORD_EXPIRED,
    IdentityState.NOT_REGISTERED,
    IdentityState.LOCKED,
}
_STATE_OF_CODE = {
    "portal.wrong_credentials": IdentityState.WRONG_CREDENTIALS,
    "portal.password_expired": IdentityState.PASSWORD_EXPIRED,
    "portal.not_registered": IdentityState.NOT_REGISTERED,
    "portal.account_locked": IdentityState.LOCKED,
}


class AccountIdentities:
    def __init__(self, app: App, environment: Environment | None = None) -> None:
        self.app = app
        self.environment = environment
        self._known_ok: set[str] = set()
        self._failing_lock = threading.Lock()

    def _user(self, r: Repositories, login: str) -> User:
        user = r.users.by_login(login)
        if user is None:
            raise NotFound(f"Aucun compte dsnlink « {login} ».", login=login)
        if user.disabled:
            raise AccountDisabled(login=login)
        if not user.has(Module.DECLARATIONS):
            raise PermissionDenied(
                "Déposer une DSN demande le droit « déclarations ».",
                login=login,
                right="declarations",
            )
        return user

    def choose(self, declared_siret: str, acting_login: str) -> IdentityRef:
        with self.app.store.read() as r:
            user = self._user(r, acting_login)
            employer = r.employers.by_siret(declared_siret)
            if employer is None:
                raise NotFound(
                    f"L'employeur de SIRET {declared_siret} n'est pas enregistré.",
                    remedy="Ajoutez-le (« dsnlink employers add ») et rattachez-y le déclarant.",
                    siret=declared_siret,
                )
            links = r.employers.links(employer_id=employer.id, user_id=user.id)
            if not links:
                raise PermissionDenied(
                    f"{user.login} n'est pas rattaché à l'employeur {declared_siret}.",
                    remedy="Un administrateur doit le rattacher (« dsnlink employers link »).",
                    siret=declared_siret,
                )
            identity = self._identity_of(r, user, links[0].identity_id)
            # Most often the acting user owns the identity: already read.
            owner = (
                user.login
                if identity.owner_user_id == user.id
                else r.users.login_of(identity.owner_user_id)
            )
        return _ref(identity, owner, user.login)

    def _identity_of(self, r: Repositories, user: User, identity_id: int | None) -> Identity:
        if identity_id is not None:
            found = r.identities.get(identity_id)
        elif self.environment is not None:
            found = r.identities.find(user.id, self.environment)
        else:
            own = r.identities.all(user.id)
            found = own[0] if own else None
        if found is None:
            raise NotFound(
                f"{user.login} n'a pas d'identité Net-entreprises.",
                remedy="Saisissez-la (« dsnlink identity set »).",
                login=user.login,
            )
        return found

    def get(self, identity_id: str, acting_login: str) -> IdentityRef:
        with self.app.store.read() as r:
            identity = r.identities.get(int(identity_id))
            if identity is None:
                raise NotFound("Identité Net-entreprises inconnue.", identity=identity_id)
            # Every step reads its envoi's identity (its state must be fresh): only the
            # owner's login with it, not the owner's rights.
            owner = r.users.login_of(identity.owner_user_id)
        return _ref(identity, owner, acting_login)

    def mark_failing(self, identity: IdentityRef, code: str) -> bool:
        # One failure seen by several workers at once must alert once: checked and recorded
        # under one lock.
        with self._failing_lock:
            self._known_ok.discard(identity.id)
            state = _STATE_OF_CODE.get(code, IdentityState.WRONG_CREDENTIALS)
            with self.app.store.read() as r:
                actor = r.users.by_login(identity.acting_login or identity.owner_login)
                current = r.identities.get(int(identity.id))
            if actor is None or current is None:
                return False
            self.app.accounts.identities.record_state(actor, int(identity.id), state, code)
            return current.state not in REFUSED

    def mark_ok(self, identity: IdentityRef) -> None:
        # Once per identity and process: a deposit is not worth a write to say it again.
        if identity.id in self._known_ok:
            return
        with self.app.store.read() as r:
            actor = r.users.by_login(identity.acting_login or identity.owner_login)
            current = r.identities.get(int(identity.id))
        if actor is not None and current is not None:
            self.app.accounts.identities.record_state(actor, current.id, IdentityState.OK)
            self._known_ok.add(identity.id)

    def employers(self) -> Sequence[EmployerRef]:
        with self.app.store.read() as r:
            return [EmployerRef(e.siret, e.name, e.due_day) for e in r.employers.all()]

    def credentials(self, identity: IdentityRef) -> PortalIdentity:
        """The four values for the portal (password opened from the vault, never logged)."""
        with self.app.store.read() as r:
            actor = r.users.by_login(identity.acting_login or identity.owner_login)
            record = r.identities.get(int(identity.id))
        if actor is None or record is None:
            raise NotFound("Identité Net-entreprises inconnue.", identity=identity.id)
        password = self.app.accounts.identities.open_password(actor, record.id)
        return PortalIdentity(record.siret, record.nom, record.prenom, password)


def _ref(identity: Identity, owner_login: str | None, acting_login: str) -> IdentityRef:
    return IdentityRef(
        id=str(identity.id),
        siret=identity.siret,
        owner_login=owner_login or "",
        owner_email=None,
        usable=identity.state not in REFUSED,
        acting_login=acting_login,
    )
