"""Read-only views of the ledger for people and scripts (CLI, web): plain dicts, French labels
beside English keys, never a secret (the ledger holds none)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from dsnlink.pipeline.model import Envoi, Event, StoredReturn
from dsnlink.pipeline.ports import Ledger
from dsnlink.pipeline.states import LABELS, EnvoiState


def envoi_row(ledger: Ledger, envoi: Envoi) -> dict[str, Any]:
    decl = envoi.declaration
    return {
        "id": envoi.id,
        "file": ledger.get_file(envoi.file_id).name,
        "siret": decl.declared_siret,
        "month": decl.month,
        "nature": decl.nature,
        "type": decl.type,
        "test": decl.is_test,
        "role": envoi.role,
        "state": envoi.state.value,
        "state_label": LABELS[envoi.state],
        "idflux": envoi.idflux,
        "attempts": envoi.attempts,
        "error": envoi.error_code,
        "error_message": envoi.error_message,
        "updated_at": envoi.updated_at.isoformat(),
    }


def status(
    ledger: Ledger, *, states: list[EnvoiState] | None = None, limit: int | None = None
) -> dict[str, Any]:
    envois = ledger.envois(states=states)
    counts = Counter(e.state for e in envois)
    rows = envois[-limit:] if limit else envois
    return {
        "counts": {s.value: counts[s] for s in EnvoiState if counts[s]},
        "envois": [envoi_row(ledger, e) for e in rows],
    }


def event_row(event: Event) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "from": event.from_state.value if event.from_state else None,
        "to": event.to_state.value,
        "to_label": LABELS[event.to_state],
        "actor": event.actor,
        "detail": event.detail,
    }


def envoi_detail(ledger: Ledger, envoi_id: str) -> dict[str, Any]:
    envoi = ledger.get_envoi(envoi_id)
    return {
        **envoi_row(ledger, envoi),
        "events": [event_row(e) for e in ledger.events(envoi.id)],
        "returns": [return_row(r) for r in ledger.returns(envoi_id=envoi.id)]
        if envoi.idflux
        else [],
    }


def return_row(ret: StoredReturn) -> dict[str, Any]:
    return {
        "idflux": ret.idflux,
        "nature": ret.nature,
        "ops": ret.ops,
        "return_id": ret.return_id,
        "kind": ret.kind,
        "status": ret.status,
        "ok": ret.ok,
        "anomalies": ret.anomalies,
        "blocking": ret.blocking,
        "published_at": ret.published_at.isoformat() if ret.published_at else None,
        "envoi_id": ret.envoi_id,
        "size": len(ret.content) if ret.content else 0,
    }
