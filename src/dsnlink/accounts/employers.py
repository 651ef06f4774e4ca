"""Employers (the SIRETs declared for) and which users may declare for them, with which identity."""

from __future__ import annotations

from dataclasses import dataclass

from dsnlink.accounts.base import Services, audit, authorise, user_by_login
from dsnlink.accounts.rights import Operation, allowed
from dsnlink.accounts.validation import (
    EMPLOYER_NAME_MAX,
    check_due_day,
    check_siret,
    check_text,
)
from dsnlink.errors import InvalidInput, NotFound
from dsnlink.store.protocols import Repositories
from dsnlink.store.records import Employer, EmployerLink, Environment, User


@dataclass(frozen=True)
class EmployerView:
    employer: Employer
    links: list[EmployerLink]


def _employer(r: Repositories, siret: str) -> Employer:
    employer = r.employers.by_siret(siret)
    if employer is None:
        raise NotFound(f"Aucun employeur de SIRET {siret}.", siret=siret)
    return employer


class EmployerService:
    def __init__(self, ctx: Services) -> None:
        self._ctx = ctx

    def add(self, actor: User, *, siret: str, name: str, due_day: int = 15) -> Employer:
        check_siret(siret)
        check_text(name, field="name", label="Le nom de l'employeur", max_len=EMPLOYER_NAME_MAX)
        check_due_day(due_day)
        with self._ctx.store.write() as r:
            fresh = authorise(r, actor, Operation.EMPLOYERS_MANAGE, None)
            employer = r.employers.add(
                siret=siret, name=name, due_day=due_day, now=self._ctx.clock()
            )
            audit(
                r,
                self._ctx,
                fresh,
                "employer.add",
                "employer",
                str(employer.id),
                siret=siret,
                name=name,
                due_day=due_day,
            )
        return employer

    def list(self, actor: User) -> list[EmployerView]:
        """Every employer for configuration; otherwise those the actor is linked to."""
        with self._ctx.store.read() as r:
            fresh = authorise(r, actor, Operation.EMPLOYERS_LIST, None)
            links = r.employers.links()
            sees_all = allowed(fresh, Operation.EMPLOYERS_MANAGE, own=True)
            mine = {lk.employer_id for lk in links if lk.user_id == fresh.id}
            return [
                EmployerView(e, [lk for lk in links if lk.employer_id == e.id])
                for e in r.employers.all()
                if sees_all or e.id in mine
            ]

    def delete(self, actor: User, siret: str) -> None:
        with self._ctx.store.write() as r:
            fresh = authorise(r, actor, Operation.EMPLOYERS_MANAGE, None)
            employer = _employer(r, siret)
            r.employers.delete(employer.id)
            audit(r, self._ctx, fresh, "employer.delete", "employer", str(employer.id), siret=siret)

    def link(
        self,
        actor: User,
        *,
        siret: str,
        user_login: str,
        identity_owner: str | None = None,
        environment: Environment | None = None,
    ) -> EmployerLink:
        """Let ``user_login`` declare for the employer, with the identity of ``identity_owner``
        on ``environment`` (default: the user's own identity, chosen at deposit time)."""
        with self._ctx.store.write() as r:
            fresh = authorise(r, actor, Operation.EMPLOYERS_MANAGE, None)
            employer = _employer(r, siret)
            user = user_by_login(r, user_login)
            identity_id = None
            if identity_owner is not None or environment is not None:
                if environment is None:
                    raise InvalidInput("Précisez l'environnement de l'identité à utiliser.")
                owner = user_by_login(r, identity_owner or user_login)
                identity = r.identities.find(owner.id, environment)
                if identity is None:
                    raise NotFound(
                        f"{owner.login} n'a pas d'identité Net-entreprises pour "
                        f"l'environnement {environment.value}.",
                    )
                identity_id = identity.id
            r.employers.link(employer.id, user.id, identity_id)
            audit(
                r,
                self._ctx,
                fresh,
                "employer.link",
                "employer",
                str(employer.id),
                siret=siret,
                user=user.login,
                identity=identity_id,
            )
        return EmployerLink(employer.id, user.id, identity_id)

    def unlink(self, actor: User, *, siret: str, user_login: str) -> None:
        with self._ctx.store.write() as r:
            fresh = authorise(r, actor, Operation.EMPLOYERS_MANAGE, None)
            employer = _employer(r, siret)
            user = user_by_login(r, user_login)
            if not r.employers.unlink(employer.id, user.id):
                raise NotFound(f"{user.login} n'est pas rattaché à l'employeur {siret}.")
            audit(
                r,
                self._ctx,
                fresh,
                "employer.unlink",
                "employer",
                str(employer.id),
                siret=siret,
                user=user.login,
            )
