"""JSON shapes of the API shared by several areas (pydantic models, described in OpenAPI)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel

from dsnlink.store.records import Identity, Module, User


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    """Every API error: ``{"error": {"code", "message", "details"}}``; message in French."""

    error: ErrorDetail


class IdentityOut(BaseModel):
    """A Net-entreprises identity; its password is never part of any answer."""

    id: int
    environment: str
    siret: str
    nom: str
    prenom: str
    state: str
    state_detail: str | None
    state_at: datetime | None
    last_login_at: datetime | None


class UserOut(BaseModel):
    login: str
    display_name: str
    rights: list[Module]
    disabled: bool
    builtin: bool
    created_at: datetime
    updated_at: datetime
    #: The user's Net-entreprises identities, when the reader may see them (else empty).
    identities: list[IdentityOut] = []


def user_out(user: User, identities: list[Identity] | None = None) -> UserOut:
    return UserOut(
        login=user.login,
        display_name=user.display_name,
        rights=sorted(user.rights),
        disabled=user.disabled,
        builtin=user.builtin,
        created_at=user.created_at,
        updated_at=user.updated_at,
        identities=[identity_out(i) for i in identities or []],
    )


def identity_out(identity: Identity) -> IdentityOut:
    return IdentityOut(
        id=identity.id,
        environment=identity.environment.value,
        siret=identity.siret,
        nom=identity.nom,
        prenom=identity.prenom,
        state=identity.state.value,
        state_detail=identity.state_detail,
        state_at=identity.state_at,
        last_login_at=identity.last_login_at,
    )


#: ``responses=`` for routes: the error shape under the statuses the API uses.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (401, "Non connecté"),
        (403, "Droit manquant ou requête d'un autre site"),
        (404, "Introuvable"),
        (409, "Conflit"),
        (422, "Valeur incorrecte"),
        (429, "Trop d'essais : patienter"),
        (502, "Net-entreprises a répondu par une erreur"),
        (503, "Net-entreprises ou la base de données indisponible"),
    )
}


def listing_json(data: dict[str, Any]) -> Response:
    """A listing's JSON answer as it is, without pydantic validating and serialising it again.

    The listings (:mod:`dsnlink.pipeline.listings`) build their rows of plain JSON values in
    the shape of the route's ``response_model`` (which still describes them in OpenAPI):
    validating 50 rows of 20 fields costs as much as reading them. The same bytes as FastAPI's
    own ``JSONResponse``; the business schema tests and schemathesis check the shape."""
    body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(body.encode("utf-8"), media_type="application/json")
