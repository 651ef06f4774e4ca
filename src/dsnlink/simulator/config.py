"""Configuration of the simulator: accounts, windows, schedule of returns, faults.

Loaded from a YAML or JSON file (``dsnlink simulator serve --config FILE``) or built in Python.
Every value has the default of GIP-MDS's public mock or of the real platform where known.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from dsnlink.errors import InvalidInput

#: Route names used by fault rules, maintenance windows and the request log.
ROUTES = (
    "authenticate",
    "deposit",
    "list_deposits",
    "list_flow_returns",
    "list_declarant_returns",
    "download",
)


class AccountSpec(BaseModel):
    """A Net-entreprises account known to the simulator."""

    model_config = ConfigDict(extra="forbid")

    siret: str = Field(min_length=14, max_length=14)
    nom: str
    prenom: str
    password: SecretStr
    #: Service codes accepted at authentication (25 RG, 26 RA, 97/94 editors' test,
    #: 98 concentrator).
    services: list[str] = Field(default_factory=lambda: ["25", "26", "97", "94"])
    #: False: authentication works but business calls get 401 "Utilisateur non-inscrit au service".
    dsn_registered: bool = True
    #: After this instant (simulator clock), authentication gets 401 "Expiration du mot de passe".
    password_expires_at: datetime | None = None
    #: SIRETs of the establishments this account may declare for; empty: any.
    employers: list[str] = Field(default_factory=list)
    #: Consecutive failures before the account locks; None: the simulator's default.
    max_failures: int | None = None


class FaultRule(BaseModel):
    """One injected failure. Matches requests of ``route`` (or every route with ``*``)."""

    model_config = ConfigDict(extra="forbid")

    route: str = "*"
    kind: Literal["status", "slow", "hang", "reset", "truncate", "malformed"]
    #: For ``status``: 500, 503, 429, 404...
    status: int = 503
    #: For ``status``: the answer's headers. None: none, except that a 429 announces the
    #: window (``Accept-Ranges: minutes=0-60``), as a too wide window gets; give e.g.
    #: ``{"Retry-After": "2"}`` for the rate limiting 429, without the window hint.
    headers: dict[str, str] | None = None
    #: For ``slow``: seconds of real time before answering.
    delay_seconds: float = 2.0
    #: ``before``: the request is not processed; ``after``: processed, then the answer fails
    #: (a deposit recorded but never acknowledged, say).
    when: Literal["before", "after"] = "before"
    #: Let this many matching requests through first.
    skip: int = 0
    #: Apply to this many matching requests (after ``skip``); None: all of them.
    count: int | None = 1
    #: Chance of applying to each matching request (seeded by ``SimulatorConfig.seed``).
    probability: float = Field(default=1.0, ge=0.0, le=1.0)


class MaintenanceWindow(BaseModel):
    """A period (simulator clock) when the platform answers ``status`` with no body."""

    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime
    status: int = 503
    routes: list[str] = Field(default_factory=lambda: ["*"])


class Schedule(BaseModel):
    """When returns appear after a deposit (simulator clock)."""

    model_config = ConfigDict(extra="forbid")

    #: Nature 11 (CCO or BAN).
    conformity_after_minutes: float = 5
    #: Natures 60 (URSSAF) and 92 (DGFiP) acknowledgements.
    acknowledgements_after_minutes: float = 30
    #: Nature 94, the DGFiP CRM nominatif with the PAS rates.
    crm_pas_after_hours: float = 72
    #: Returns older than this are purged (404, no longer listed).
    retention_days: float = 92


class SimulatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Base of download URLs (absolute); default: the address the request came to.
    public_base_url: str | None = None
    #: Token lifetime (GIP-MDS's mock embeds 7200 s).
    token_ttl_seconds: float = 7200
    #: ``Expires`` header of tokens and listings (the mock: now + 2 minutes).
    expires_header_seconds: int = 120
    declarant_window_minutes: int = 60
    concentrator_window_minutes: int = 10
    deposit_window_minutes: int = 60
    #: Consecutive authentication failures that lock an account (403 until unlocked).
    max_failures: int = 5
    #: JSON (2.0) listings: ``wrapped`` ``{"retours":{"flux":[...]}}`` (seen in production on
    #: the sister DPAE API) or ``mock`` ``{"flux":[{"Retour":[...]}]}`` (GIP-MDS's mock).
    json_style: Literal["wrapped", "mock"] = "wrapped"
    #: A list of one element as a bare object (some platforms do; most clients fail on it).
    json_single_as_object: bool = False
    include_default_accounts: bool = True
    accounts: list[AccountSpec] = Field(default_factory=list)
    schedule: Schedule = Field(default_factory=Schedule)
    faults: list[FaultRule] = Field(default_factory=list)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    #: Seed of random faults (None: not reproducible).
    seed: int | None = None
    #: A ``hang`` fault waits at most this long (real seconds) then drops the connection.
    hang_seconds: float = 300
    #: SQLite file of the state; None: in memory.
    state_path: Path | None = None
    #: Start with the clock frozen at this instant.
    frozen_at: datetime | None = None
    #: Largest deposited file, uncompressed (413 beyond: a gzip bomb stops there).
    max_deposit_bytes: int = 200 * 1024 * 1024
    #: Check deposited files with dsnlink's own validator (BAN listing its blocking anomalies).
    validate_files: bool = True


def load_config(path: Path) -> SimulatorConfig:
    """Read a YAML or JSON configuration file."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        return SimulatorConfig.model_validate(data or {})
    except OSError as exc:
        raise InvalidInput(
            f"Fichier de configuration du simulateur illisible : {path}.", path=str(path)
        ) from exc
    except (ValueError, yaml.YAMLError, ValidationError) as exc:
        raise InvalidInput(
            f"Fichier de configuration du simulateur incorrect : {path}.",
            remedy="Corrigez-le d'après docs/simulator.md.",
            path=str(path),
            detail=str(exc).splitlines()[0] if str(exc) else "",
        ) from exc
