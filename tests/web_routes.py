"""The route × right table of the web interface: every route, who may call it.

Each :class:`RouteCase` names a route (method and path template, as declared) and a concrete
request: ``{target}`` is replaced by another user's login (a fresh one for each caller, so a
delete or a disable by one caller does not change what the next sees), ``{password}`` by the
caller's own dsnlink password. ``allowed(rights)`` says whether a caller holding exactly
``rights`` may call it; anonymous callers are allowed only on ``public`` routes.

The test (tests/integration/web/test_route_rights.py) fails on a route of the application
missing here: add a line with every new route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dsnlink.store.records import Module

C, A, P, D = (Module.CONFIGURATION, Module.ADMINISTRATION, Module.PAYSLIPS, Module.DECLARATIONS)

Rights = frozenset[Module]


def anyone(_rights: Rights) -> bool:
    return True


def needs(*modules: Module) -> Callable[[Rights], bool]:
    """Every module listed."""

    def check(rights: Rights) -> bool:
        return set(modules) <= rights

    return check


def one_of(*modules: Module) -> Callable[[Rights], bool]:
    def check(rights: Rights) -> bool:
        return bool(set(modules) & rights)

    return check


@dataclass(frozen=True)
class RouteCase:
    method: str
    path: str
    allowed: Callable[[Rights], bool]
    url: str = ""
    json: Any = None
    form: dict[str, Any] | None = None
    public: bool = False
    #: Files for a multipart upload: {field: (name, bytes, content type)}.
    files: dict[str, tuple[str, bytes, str]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def request_url(self) -> str:
        return self.url or self.path

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def _identity(password: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "siret": "73282932000074",
        "nom": "DUPONT",
        "prenom": "MARIE",
        "environment": "simulator",
        "confirm_password": "{password}",
    }
    if password:
        body["password"] = "Un-mot-de-passe-NE-1"
    return body


#: An employer SIRET no installation of the tests has (changes answer 404 once allowed).
EMPLOYER = "35600000000048"
#: A backup folder that does not exist: allowed callers get the folder's error, nothing saved.
MISSING_FOLDER = "/nonexistent/dsnlink-route-rights"
#: Not a DSN: allowed callers get a check report saying so, never a deposit.
DSN_FILE = ("notes.txt", b"ceci n'est pas une DSN\n", "text/plain")

ROUTES: list[RouteCase] = [
    # --- session and home ---
    RouteCase("GET", "/", anyone),
    RouteCase("GET", "/connexion", anyone, public=True),
    RouteCase("POST", "/connexion", anyone, form={"login": "x", "password": "y"}, public=True),
    RouteCase("POST", "/deconnexion", anyone, public=True),
    RouteCase("POST", "/api/v1/session", anyone, json={"login": "x", "password": "y"}, public=True),
    RouteCase("GET", "/api/v1/session", anyone),
    RouteCase("DELETE", "/api/v1/session", anyone, public=True),
    RouteCase("GET", "/api/v1/openapi.json", anyone, public=True),
    # --- Comptes utilisateurs ---
    RouteCase("GET", "/comptes", anyone),
    RouteCase("GET", "/comptes/nouveau", needs(C)),
    RouteCase(
        "POST",
        "/comptes/nouveau",
        needs(C),
        form={
            "login": "nouveau-{target}",
            "display_name": "Nouveau",
            "password": "Nouveau-mdp-123!",
            "password_confirm": "Nouveau-mdp-123!",
            "rights": ["payslips"],
        },
    ),
    RouteCase("GET", "/comptes/{login}", anyone, url="/comptes/{target}"),
    RouteCase("GET", "/comptes/{login}/compte", needs(C), url="/comptes/{target}/compte"),
    RouteCase(
        "POST",
        "/comptes/{login}/compte",
        needs(C),
        url="/comptes/{target}/compte",
        form={"display_name": "Nom changé"},
    ),
    RouteCase(
        "POST",
        "/comptes/{login}/mot-de-passe",
        needs(C),
        url="/comptes/{target}/mot-de-passe",
        form={"new_password": "Autre-mdp-123!", "new_password_confirm": "Autre-mdp-123!"},
    ),
    RouteCase(
        "POST",
        "/comptes/{login}/droits",
        needs(C),
        url="/comptes/{target}/droits",
        form={"rights": ["payslips"]},
    ),
    RouteCase("POST", "/comptes/{login}/desactiver", needs(C), url="/comptes/{target}/desactiver"),
    RouteCase("POST", "/comptes/{login}/activer", needs(C), url="/comptes/{target}/activer"),
    RouteCase("POST", "/comptes/{login}/supprimer", needs(C), url="/comptes/{target}/supprimer"),
    RouteCase("GET", "/api/v1/users", needs(C)),
    RouteCase(
        "POST",
        "/api/v1/users",
        needs(C),
        json={"login": "api-{target}", "display_name": "Api", "password": "Api-mdp-12345!"},
    ),
    RouteCase("GET", "/api/v1/users/{login}", needs(C), url="/api/v1/users/{target}"),
    RouteCase(
        "PATCH",
        "/api/v1/users/{login}",
        needs(C),
        url="/api/v1/users/{target}",
        json={"display_name": "Changé"},
    ),
    RouteCase(
        "PUT",
        "/api/v1/users/{login}/rights",
        needs(C),
        url="/api/v1/users/{target}/rights",
        json={"rights": ["payslips"]},
    ),
    RouteCase(
        "PUT",
        "/api/v1/users/{login}/password",
        needs(C),
        url="/api/v1/users/{target}/password",
        json={"new_password": "Autre-mdp-123!"},
    ),
    RouteCase(
        "POST", "/api/v1/users/{login}/disable", needs(C), url="/api/v1/users/{target}/disable"
    ),
    RouteCase(
        "POST", "/api/v1/users/{login}/enable", needs(C), url="/api/v1/users/{target}/enable"
    ),
    RouteCase("DELETE", "/api/v1/users/{login}", needs(C), url="/api/v1/users/{target}"),
    # --- the Net-entreprises tab ---
    RouteCase(
        "GET",
        "/comptes/{login}/net-entreprises",
        needs(C),
        url="/comptes/{target}/net-entreprises",
    ),
    RouteCase(
        "POST",
        "/comptes/{login}/confirmer",
        needs(C),
        url="/comptes/{target}/confirmer",
        form={"password": "{password}"},
    ),
    RouteCase(
        "POST",
        "/comptes/{login}/net-entreprises",
        needs(C),
        url="/comptes/{target}/net-entreprises",
        form={k: v for k, v in _identity().items() if k != "confirm_password"},
    ),
    RouteCase(
        "POST",
        "/comptes/{login}/net-entreprises/supprimer",
        needs(C),
        url="/comptes/{target}/net-entreprises/supprimer",
        form={"environment": "simulator"},
    ),
    RouteCase(
        "DELETE",
        "/api/v1/users/{login}/identity",
        needs(C),
        url="/api/v1/users/{target}/identity?environment=simulator",
        json={"password": "{password}"},
    ),
    RouteCase("POST", "/api/v1/lint/identity", anyone, json={"siret": "1", "nom": "a "}),
    RouteCase("POST", "/api/v1/session/confirm", anyone, json={"password": "{password}"}),
    RouteCase(
        "GET",
        "/api/v1/users/{login}/identities",
        needs(C, D),
        url="/api/v1/users/{target}/identities",
    ),
    RouteCase(
        "PUT",
        "/api/v1/users/{login}/identity",
        needs(C),
        url="/api/v1/users/{target}/identity",
        json=_identity(),
    ),
    # The test reads the account's connection settings (configuration) and its identities
    # (configuration and declarations).
    RouteCase(
        "POST",
        "/api/v1/users/{login}/connection-test",
        needs(C, D),
        url="/api/v1/users/{target}/connection-test",
        json={},
    ),
    RouteCase(
        "POST",
        "/api/v1/users/{login}/connection-test/stream",
        needs(C, D),
        url="/api/v1/users/{target}/connection-test/stream",
        json={},
    ),
    # --- the Connexion tab ---
    RouteCase("GET", "/comptes/{login}/connexion", needs(C), url="/comptes/{target}/connexion"),
    RouteCase(
        "POST",
        "/comptes/{login}/connexion",
        needs(C),
        url="/comptes/{target}/connexion",
        form={"type": "direct", "mode": "etendu"},
    ),
    RouteCase(
        "GET", "/api/v1/users/{login}/connection", needs(C), url="/api/v1/users/{target}/connection"
    ),
    RouteCase(
        "PUT",
        "/api/v1/users/{login}/connection",
        needs(C),
        url="/api/v1/users/{target}/connection",
        json={"type": "direct", "mode": "securise"},
    ),
    # --- Employeurs (list: configuration or declarations; changes: configuration) ---
    RouteCase("GET", "/employeurs", one_of(C, D)),
    RouteCase(
        "POST",
        "/employeurs",
        needs(C),
        form={"siret": "73282932000074", "name": "Employeur", "due_day": "15"},
    ),
    RouteCase(
        "POST", "/employeurs/{siret}/supprimer", needs(C), url=f"/employeurs/{EMPLOYER}/supprimer"
    ),
    RouteCase(
        "POST",
        "/employeurs/{siret}/rattacher",
        needs(C),
        url=f"/employeurs/{EMPLOYER}/rattacher",
        form={"login": "{target}"},
    ),
    RouteCase(
        "POST",
        "/employeurs/{siret}/detacher/{login}",
        needs(C),
        url=f"/employeurs/{EMPLOYER}/detacher/{{target}}",
    ),
    RouteCase(
        "POST",
        "/employeurs/{siret}/reglages",
        needs(C),
        url=f"/employeurs/{EMPLOYER}/reglages",
        form={"due_day": "5", "test_first": "oui"},
    ),
    RouteCase(
        "PUT",
        "/api/v1/employers/{siret}/policy",
        needs(C),
        url=f"/api/v1/employers/{EMPLOYER}/policy",
        json={"due_day": 5, "test_first": True},
    ),
    RouteCase("GET", "/api/v1/employers", one_of(C, D)),
    RouteCase("POST", "/api/v1/employers", needs(C), json={"siret": "73282932000074", "name": "E"}),
    RouteCase("DELETE", "/api/v1/employers/{siret}", needs(C), url=f"/api/v1/employers/{EMPLOYER}"),
    RouteCase(
        "PUT",
        "/api/v1/employers/{siret}/links/{login}",
        needs(C),
        url=f"/api/v1/employers/{EMPLOYER}/links/{{target}}",
        json={},
    ),
    RouteCase(
        "DELETE",
        "/api/v1/employers/{siret}/links/{login}",
        needs(C),
        url=f"/api/v1/employers/{EMPLOYER}/links/{{target}}",
    ),
    # --- Dépôts (declarations) ---
    RouteCase("GET", "/depots", needs(D)),
    RouteCase("GET", "/depots/nouveau", needs(D)),
    RouteCase("POST", "/depots/controle", needs(D), files={"fichier": DSN_FILE}),
    RouteCase("POST", "/depots/deposer", needs(D), form={"token": "0" * 32}),
    RouteCase("POST", "/depots/releve", needs(D)),
    RouteCase("GET", "/depots/{envoi_id}", needs(D), url="/depots/inconnu"),
    RouteCase("GET", "/api/v1/deposits", needs(D)),
    RouteCase("POST", "/api/v1/deposits", needs(D), files={"file": DSN_FILE}),
    RouteCase("POST", "/api/v1/deposits/check", needs(D), files={"file": DSN_FILE}),
    RouteCase("POST", "/api/v1/deposits/run", needs(D)),
    RouteCase("GET", "/api/v1/deposits/{envoi_id}", needs(D), url="/api/v1/deposits/inconnu"),
    # --- Retours (payslips or declarations) ---
    RouteCase("GET", "/retours", one_of(P, D)),
    RouteCase("GET", "/retours/{idflux}/{nature}", one_of(P, D), url="/retours/INCONNU/10"),
    RouteCase(
        "GET", "/retours/{idflux}/{nature}/brut", one_of(P, D), url="/retours/INCONNU/10/brut"
    ),
    RouteCase("GET", "/api/v1/returns", one_of(P, D)),
    RouteCase(
        "GET", "/api/v1/returns/{idflux}/{nature}", one_of(P, D), url="/api/v1/returns/INCONNU/10"
    ),
    RouteCase(
        "GET",
        "/api/v1/returns/{idflux}/{nature}/raw",
        one_of(P, D),
        url="/api/v1/returns/INCONNU/10/raw",
    ),
    # --- Taux PAS (payslips or declarations) ---
    RouteCase("GET", "/taux-pas", one_of(P, D)),
    RouteCase("GET", "/taux-pas/export", one_of(P, D), url=f"/taux-pas/export?siret={EMPLOYER}"),
    RouteCase("GET", "/api/v1/rates", one_of(P, D), url=f"/api/v1/rates?siret={EMPLOYER}"),
    RouteCase(
        "GET", "/api/v1/rates/export", one_of(P, D), url=f"/api/v1/rates/export?siret={EMPLOYER}"
    ),
    # --- Échéances (payslips or declarations) ---
    RouteCase("GET", "/echeances", one_of(P, D)),
    RouteCase("GET", "/api/v1/deadlines", one_of(P, D)),
    # --- Journal (administration) ---
    RouteCase("GET", "/journal", needs(A)),
    RouteCase("GET", "/api/v1/journal", needs(A)),
    # --- Maintenance: health, backups, workers and queue (administration or configuration) ---
    RouteCase("GET", "/maintenance", one_of(A, C)),
    RouteCase("GET", "/maintenance/sante", one_of(A, C)),
    RouteCase("GET", "/maintenance/sauvegardes", one_of(A, C)),
    RouteCase("POST", "/maintenance/sauvegardes", one_of(A, C)),
    RouteCase(
        "POST",
        "/maintenance/sauvegardes/verifier",
        one_of(A, C),
        form={"fichier": "dsnlink-backup-20260101T000000000000Z.tar.gz"},
    ),
    RouteCase(
        "POST",
        "/maintenance/sauvegardes/programmation",
        one_of(A, C),
        form={"frequency": "daily", "at": "02:00", "target": MISSING_FOLDER, "keep": "3"},
    ),
    RouteCase("GET", "/maintenance/workers", one_of(A, C)),
    RouteCase("GET", "/api/v1/maintenance/health", one_of(A, C)),
    RouteCase("GET", "/api/v1/maintenance/backups", one_of(A, C)),
    RouteCase("POST", "/api/v1/maintenance/backups", one_of(A, C)),
    RouteCase(
        "POST",
        "/api/v1/maintenance/backups/verify",
        one_of(A, C),
        json={"file": "dsnlink-backup-20260101T000000000000Z.tar.gz"},
    ),
    RouteCase(
        "PUT",
        "/api/v1/maintenance/backups/schedule",
        one_of(A, C),
        json={"frequency": "daily", "target": MISSING_FOLDER},
    ),
    RouteCase("GET", "/api/v1/maintenance/task", one_of(A, C)),
    RouteCase("GET", "/api/v1/maintenance/workers", one_of(A, C)),
]
