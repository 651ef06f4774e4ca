"""French labels of the states and choices shown on pages."""

from __future__ import annotations

from dsnlink.store.records import Environment, IdentityState

IDENTITY_STATES: dict[IdentityState, tuple[str, str]] = {
    # state: (label, badge class)
    IdentityState.UNTESTED: ("Non testée", "attente"),
    IdentityState.OK: ("Vérifiée", "ok"),
    IdentityState.WRONG_CREDENTIALS: ("Identifiants refusés", "ko"),
    IdentityState.PASSWORD_EXPIRED: ("Mot de passe expiré", "ko"),
    IdentityState.NOT_REGISTERED: ("Non inscrit au service DSN", "ko"),
    IdentityState.LOCKED: ("Compte bloqué", "ko"),
    IdentityState.FAILING: ("Injoignable lors du dernier essai", "attente"),
}

ENVIRONMENTS: dict[Environment, str] = {
    Environment.PRODUCTION: "Production (net-entreprises.fr)",
    Environment.EDITORS_TEST: "Test éditeurs",
    Environment.MSA: "MSA",
    Environment.SIMULATOR: "Simulateur local",
    Environment.CUSTOM: "Personnalisé",
}

#: Short confirmations after a change (``?fait=…`` on the page redirected to).
DONE: dict[str, str] = {
    "cree": "Le compte a été créé.",
    "enregistre": "Les modifications ont été enregistrées.",
    "droits": "Les droits ont été enregistrés.",
    "desactive": "Le compte a été désactivé.",
    "active": "Le compte a été réactivé.",
    "supprime": "Le compte a été supprimé.",
    "mot-de-passe": "Le mot de passe a été changé.",
    "confirme": "Mot de passe confirmé : vous pouvez modifier les identifiants Net-entreprises.",
    "identite": "L'identité Net-entreprises a été enregistrée.",
    "identite-supprimee": "L'identité Net-entreprises a été supprimée.",
    "connexion": "Les paramètres de connexion ont été enregistrés.",
}
