"""The linter at the moment an identity is entered or changed.

Values the portal will certainly refuse (a line break, a non-breaking space, a typographic
apostrophe…) are refused with what was typed made visible and the cleaned value offered: the
person types or pastes the offer; nothing is changed for them. Warnings (lowercase, accents
different from the previous value) are returned to be shown; they do not block.
"""

from __future__ import annotations

from dsnlink.connectivity.linter import FIELD_LABELS, LintReport, lint_identity
from dsnlink.errors import AccessError, InvalidInput
from dsnlink.setup import App
from dsnlink.store.records import Environment, User


def previous_values(
    app: App, actor: User, owner_login: str, environment: Environment
) -> dict[str, str]:
    """The identity being replaced, to compare accents (empty when none or not visible)."""
    try:
        identities = app.accounts.identities.show(actor, owner_login)
    except AccessError:
        return {}
    for identity in identities:
        if identity.environment is environment:
            return {"nom": identity.nom, "prenom": identity.prenom}
    return {}


def check_identity(
    *,
    siret: str,
    nom: str,
    prenom: str,
    password: str | None,
    previous: dict[str, str] | None = None,
) -> LintReport:
    """Lint the values typed; raise :class:`InvalidInput` when one would be refused."""
    report = lint_identity(
        siret=siret, nom=nom, prenom=prenom, motdepasse=password, previous=previous
    )
    if report.ok:
        return report
    lines = []
    for field in report.fields:
        errors = [f for f in field.findings if f.severity.value == "error"]
        if not errors:
            continue
        label = FIELD_LABELS[field.field]
        offer = f" ; valeur proposée : {field.cleaned_visible}" if field.cleaned_visible else ""
        lines.append(f"{label} {field.visible} : " + " ".join(f.message for f in errors) + offer)
    raise InvalidInput(
        "Identité Net-entreprises non enregistrée, Net-entreprises refuserait ces valeurs. "
        + " | ".join(lines),
        remedy="Saisissez à nouveau la valeur (ou la valeur proposée) ; « dsnlink connection "
        "lint » montre le détail caractère par caractère.",
        lint=report.to_dict(),
    )
