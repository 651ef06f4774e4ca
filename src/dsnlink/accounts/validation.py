"""Checks on what people type: refused with a French message, never "fixed" silently.

Net-entreprises limits (see docs/api-dsn): SIRET exactly 14 digits (with a valid key; La
Poste's establishments follow their own rule, which python-stdnum knows), nom ≤ 64,
prénom ≤ 39, password ≤ 30 characters.
"""

from __future__ import annotations

import unicodedata

from stdnum.fr import siret as stdnum_siret

from dsnlink.errors import InvalidInput

NOM_MAX = 64
PRENOM_MAX = 39
PORTAL_PASSWORD_MAX = 30
LOGIN_MAX = 64
DISPLAY_NAME_MAX = 200
EMPLOYER_NAME_MAX = 200
LOCAL_PASSWORD_MIN = 8
LOCAL_PASSWORD_MAX = 1024


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in value)


def check_siret(value: str, *, field: str = "siret") -> str:
    if len(value) != 14 or not value.isascii() or not value.isdigit():
        raise InvalidInput(
            f"Le SIRET doit compter exactement 14 chiffres (reçu : {len(value)} caractères).",
            remedy="Recopiez-le sans espace ni point.",
            field=field,
        )
    if not stdnum_siret.is_valid(value):
        raise InvalidInput(
            "Ce SIRET n'est pas valide : sa clé de contrôle est fausse.",
            remedy="Vérifiez chaque chiffre sur un document officiel (Kbis, avis de situation).",
            field=field,
        )
    return value


def check_text(value: str, *, field: str, label: str, max_len: int) -> str:
    """A non-empty, single-line text of at most ``max_len`` characters, as typed."""
    if not value.strip():
        raise InvalidInput(f"{label} est obligatoire.", field=field)
    if len(value) > max_len:
        raise InvalidInput(
            f"{label} est trop long : {len(value)} caractères, {max_len} au plus.",
            field=field,
            length=len(value),
            max=max_len,
        )
    if _has_control(value):
        raise InvalidInput(
            f"{label} contient un caractère invisible ou de contrôle.",
            remedy="Retapez la valeur au clavier plutôt que de la coller.",
            field=field,
        )
    return value


def check_login(value: str) -> str:
    check_text(value, field="login", label="L'identifiant", max_len=LOGIN_MAX)
    if value != value.strip() or any(ch.isspace() for ch in value):
        raise InvalidInput("L'identifiant ne doit pas contenir d'espace.", field="login")
    if len(value.casefold()) > LOGIN_MAX:  # "ß" folds to "ss": the unique key must fit too
        raise InvalidInput("L'identifiant est trop long.", field="login")
    return value


def check_portal_password(value: str) -> str:
    """The Net-entreprises password. Its value never appears in the error."""
    if not value:
        raise InvalidInput("Le mot de passe Net-entreprises est obligatoire.", field="password")
    if len(value) > PORTAL_PASSWORD_MAX:
        raise InvalidInput(
            f"Le mot de passe Net-entreprises est trop long : {len(value)} caractères, "
            f"{PORTAL_PASSWORD_MAX} au plus pour l'API.",
            field="password",
            length=len(value),
        )
    if _has_control(value):
        raise InvalidInput(
            "Le mot de passe Net-entreprises contient un caractère invisible ou de contrôle.",
            remedy="Retapez-le au clavier plutôt que de le coller.",
            field="password",
        )
    return value


def check_local_password(value: str) -> str:
    if len(value) < LOCAL_PASSWORD_MIN:
        raise InvalidInput(
            f"Le mot de passe doit compter au moins {LOCAL_PASSWORD_MIN} caractères.",
            field="password",
        )
    if len(value) > LOCAL_PASSWORD_MAX:
        raise InvalidInput("Le mot de passe est trop long.", field="password")
    return value


def check_due_day(value: int) -> int:
    if value not in (5, 15):
        raise InvalidInput(
            "L'échéance de la DSN est le 5 ou le 15 du mois.", field="due_day", value=value
        )
    return value
