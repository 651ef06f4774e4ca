"""Records as JSON-ready dicts (``--json``) and as rich tables (people). Never a secret."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table

from dsnlink.cli.output import console
from dsnlink.store.records import AuditEntry, Identity, Installation, Module, User

if TYPE_CHECKING:
    from dsnlink.accounts.employers import EmployerView

MODULE_LABELS = {
    Module.CONFIGURATION: "configuration",
    Module.ADMINISTRATION: "administration",
    Module.PAYSLIPS: "bulletins",
    Module.DECLARATIONS: "déclarations",
}
STATE_LABELS = {
    "untested": "non testée",
    "ok": "OK",
    "wrong_credentials": "identifiants refusés",
    "password_expired": "mot de passe expiré",
    "not_registered": "non inscrit au service DSN",
    "locked": "compte bloqué",
    "failing": "erreur réseau ou service",
}


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _local(value: datetime | None) -> str:
    return value.astimezone().strftime("%d/%m/%Y %H:%M") if value else "—"


def installation_dict(inst: Installation, revision: str) -> dict[str, Any]:
    return {
        "name": inst.name,
        "mode": inst.mode.value,
        "tiers_de_confiance": inst.tiers_de_confiance,
        "created_at": _when(inst.created_at),
        "schema_revision": revision,
    }


def user_dict(user: User) -> dict[str, Any]:
    return {
        "login": user.login,
        "display_name": user.display_name,
        "rights": sorted(m.value for m in user.rights),
        "disabled": user.disabled,
        "builtin": user.builtin,
        "created_at": _when(user.created_at),
    }


def identity_dict(identity: Identity, owner: str) -> dict[str, Any]:
    return {
        "id": identity.id,
        "owner": owner,
        "environment": identity.environment.value,
        "siret": identity.siret,
        "nom": identity.nom,
        "prenom": identity.prenom,
        "state": identity.state.value,
        "state_detail": identity.state_detail,
        "state_at": _when(identity.state_at),
        "last_login_at": _when(identity.last_login_at),
    }


def employer_dict(
    view: EmployerView, logins: dict[int, str], identity_owners: dict[int, str]
) -> dict[str, Any]:
    e = view.employer
    return {
        "siret": e.siret,
        "name": e.name,
        "due_day": e.due_day,
        "links": [
            {
                "user": logins.get(lk.user_id, str(lk.user_id)),
                "identity_id": lk.identity_id,
                "identity_owner": identity_owners.get(lk.identity_id) if lk.identity_id else None,
            }
            for lk in view.links
        ],
    }


def audit_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": _when(entry.at),
        "actor": entry.actor_login,
        "as_whom": entry.as_whom,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "detail": entry.detail,
    }


def print_users(users: Iterable[dict[str, Any]], title: str = "Utilisateurs") -> None:
    table = Table(title=title)
    for col in ("Identifiant", "Nom", "Droits", "État"):
        table.add_column(col)
    for u in users:
        rights = ", ".join(MODULE_LABELS[Module(m)] for m in u["rights"]) or "—"
        state = "désactivé" if u["disabled"] else "actif"
        table.add_row(u["login"], u["display_name"], rights, state)
    console.print(table)


def print_identities(
    rows: Iterable[dict[str, Any]], title: str = "Identités Net-entreprises"
) -> None:
    table = Table(title=title)
    for col in ("Compte", "Environnement", "SIRET"):
        table.add_column(col, no_wrap=True)
    for col in ("Nom", "Prénom", "État", "Dernière connexion"):
        table.add_column(col)
    for i in rows:
        last = datetime.fromisoformat(i["last_login_at"]) if i["last_login_at"] else None
        table.add_row(
            i["owner"],
            i["environment"],
            i["siret"],
            i["nom"],
            i["prenom"],
            STATE_LABELS.get(i["state"], i["state"]),
            _local(last),
        )
    console.print(table)


def print_employers(rows: Iterable[dict[str, Any]], title: str = "Employeurs") -> None:
    table = Table(title=title)
    table.add_column("SIRET", no_wrap=True)
    for col in ("Nom", "Échéance", "Déclarants"):
        table.add_column(col)
    for e in rows:
        who = ", ".join(
            lk["user"] + (f" (identité de {lk['identity_owner']})" if lk["identity_id"] else "")
            for lk in e["links"]
        )
        table.add_row(e["siret"], e["name"], f"le {e['due_day']}", who or "—")
    console.print(table)


def print_audit(rows: Iterable[dict[str, Any]]) -> None:
    table = Table(title="Journal d'audit")
    for col in ("Quand", "Qui", "Pour le compte de", "Action", "Objet"):
        table.add_column(col)
    for a in rows:
        table.add_row(
            _local(datetime.fromisoformat(a["at"])),
            a["actor"] or "système",
            a["as_whom"] or "",
            a["action"],
            f"{a['object_type']} {a['object_id'] or ''}".strip(),
        )
    console.print(table)


def with_header(installation: Installation, render: Callable[[Any], None]) -> Callable[[Any], None]:
    """``render`` preceded by the installation's name and its trusted third party, shown on
    every screen."""

    def both(data: Any) -> None:
        line = installation.name
        if installation.tiers_de_confiance:
            line += f" · tiers de confiance : {installation.tiers_de_confiance}"
        console.print(f"[dim]{line}[/]")
        render(data)

    return both


def print_installation(data: dict[str, Any]) -> None:
    mode = "monoposte" if data["mode"] == "monoposte" else "réseau"
    console.print(f"[bold]Installation :[/] {data['name']} ({mode})")
    if data.get("tiers_de_confiance"):
        console.print(f"[bold]Tiers de confiance :[/] {data['tiers_de_confiance']}")
