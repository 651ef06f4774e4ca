"""The control API under ``/_admin/``: clock, accounts, faults, deposits, returns, attempts.

JSON in, JSON out; errors in dsnlink's one error shape ``{"error": {...}}``. The API-DSN
routes never see these requests (no faults, no request log).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request

from dsnlink.errors import DsnlinkError, InvalidInput, NotFound
from dsnlink.simulator.accounts import Identity
from dsnlink.simulator.clock import parse_duration
from dsnlink.simulator.config import FaultRule, MaintenanceWindow
from dsnlink.simulator.http import Reply
from dsnlink.simulator.service import Simulator, parse_instant

PREFIX = "/_admin"


def _json(status: int, data: Any) -> Reply:
    return Reply(status, json.dumps(data, ensure_ascii=False).encode(), "application/json")


def clock_state(sim: Simulator) -> dict[str, Any]:
    frozen = sim.clock.frozen_at
    return {
        "now": sim.now().isoformat(),
        "frozen": frozen is not None,
        "offset_seconds": sim.clock.offset.total_seconds(),
    }


def _clock(sim: Simulator, body: dict[str, Any]) -> Any:
    if "advance" in body:
        sim.clock.advance(parse_duration(str(body["advance"])))
    elif "set" in body:
        sim.clock.set(parse_instant(str(body["set"])))
    elif "freeze" in body:
        at = body["freeze"]
        sim.clock.freeze(parse_instant(str(at)) if at else None)
    elif body.get("resume"):
        sim.clock.resume()
    return clock_state(sim)


def _identity(body: dict[str, Any]) -> Identity:
    try:
        return Identity(str(body["siret"]), str(body["nom"]), str(body["prenom"]))
    except KeyError as exc:
        raise InvalidInput("Il faut siret, nom et prenom.", missing=str(exc)) from exc


def _patch_account(sim: Simulator, body: dict[str, Any]) -> Any:
    identity = _identity(body)
    allowed = {"services", "dsn_registered", "password_expires_at", "employers", "locked"}
    changes = {k: v for k, v in body.items() if k in allowed}
    if changes.get("password_expires_at"):
        changes["password_expires_at"] = parse_instant(str(changes["password_expires_at"]))
    return sim.accounts.update(identity, **changes).public()


def _deposits(sim: Simulator, _: dict[str, Any]) -> Any:
    return {"deposits": sim.deposits(), "duplicates": sim.duplicate_deposits()}


def _maintenance(sim: Simulator, body: dict[str, Any]) -> Any:
    sim.faults.add_maintenance(MaintenanceWindow.model_validate(body))
    return sim.faults.public()


def _clear_faults(sim: Simulator, _: dict[str, Any]) -> Any:
    sim.faults.clear()
    return sim.faults.public()


_GET: dict[str, Callable[[Simulator, dict[str, Any]], Any]] = {
    "/state": lambda sim, _: {
        **clock_state(sim),
        "deposits": sim.deposit_count(),
        "duplicates": sim.duplicate_deposits(),
        "attempts": len(sim.attempts()),
    },
    "/clock": lambda sim, _: clock_state(sim),
    "/accounts": lambda sim, _: [a.public() for a in sim.accounts.list()],
    "/deposits": _deposits,
    "/returns": lambda sim, q: sim.returns(q.get("idflux")),
    "/attempts": lambda sim, q: sim.attempts(q.get("siret")),
    "/sessions": lambda sim, _: sim.sessions(),
    "/overlaps": lambda sim, _: sim.identity_overlaps(),
    "/requests": lambda sim, q: sim.requests(q.get("route")),
    "/faults": lambda sim, _: sim.faults.public(),
}

_POST: dict[str, Callable[[Simulator, dict[str, Any]], Any]] = {
    "/clock": _clock,
    "/accounts": lambda sim, b: sim.add_account(b).public(),
    "/accounts/update": _patch_account,
    "/accounts/unlock": lambda sim, b: sim.accounts.update(_identity(b), locked=False).public(),
    "/faults": lambda sim, b: {"id": sim.faults.add(FaultRule.model_validate(b))},
    "/maintenance": _maintenance,
    "/faults/clear": _clear_faults,
    "/returns/overwrite": lambda sim, b: {
        "id": sim.overwrite_return(
            str(b["idflux"]), str(b["nature"]), ops=b.get("ops"), statut=b.get("statut")
        )
    },
}


async def handle(sim: Simulator, request: Request) -> Reply:
    path = request.url.path[len(PREFIX) :].rstrip("/") or "/state"
    table = _GET if request.method == "GET" else _POST if request.method == "POST" else {}
    action = table.get(path)
    if action is None:
        return _json(404, {"error": NotFound("Route d'administration inconnue.").to_dict()})
    try:
        if request.method == "POST":
            raw = await request.body()
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise InvalidInput("Le corps doit être un objet JSON.")
        else:
            body = dict(request.query_params)
        return _json(200, action(sim, body))
    except ValidationError as exc:
        # Never echo the input: it may hold a password.
        detail = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        error = InvalidInput("Requête d'administration incorrecte.", detail=detail)
        return _json(400, {"error": error.to_dict()})
    except (ValueError, KeyError) as exc:
        error = InvalidInput("Requête d'administration incorrecte.", detail=str(exc)[:300])
        return _json(400, {"error": error.to_dict()})
    except DsnlinkError as exc:
        return _json(404 if isinstance(exc, NotFound) else 400, {"error": exc.to_dict()})
