"""The simulated platform, independent of HTTP: accounts, tokens, deposits, returns, clock.

``Simulator`` is also the Python control API (``server.simulator`` in tests): move the clock,
add accounts, inject faults, read what clients did (authentication attempts, deposits,
sessions, requests).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dsnlink.errors import InvalidInput, NotFound
from dsnlink.returns import Anomaly
from dsnlink.returns.build import new_idflux
from dsnlink.simulator.accounts import (
    DEFAULT_ACCOUNTS,
    Account,
    Accounts,
    AuthOutcome,
    Identity,
)
from dsnlink.simulator.activity import IdentityActivity
from dsnlink.simulator.clock import VirtualClock, to_paris_stamp
from dsnlink.simulator.config import AccountSpec, SimulatorConfig
from dsnlink.simulator.faults import FaultPlan
from dsnlink.simulator.schedule import plan_returns
from dsnlink.simulator.store import Row, Store
from dsnlink.simulator.tokens import Credentials, Tokens


@dataclass(frozen=True)
class Caller:
    """Who a business call acts as: the authenticated account, for which declarant."""

    account: Identity
    declarant: Identity
    concentrator_only: bool


@dataclass(frozen=True)
class DepositAnswer:
    idflux: str
    accepted: bool
    document: bytes


class Simulator:
    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.store = Store(self.config.state_path)
        self.clock = self._load_clock()
        self.accounts = Accounts(self.store, self.config.max_failures)
        self.tokens = Tokens(self.store, timedelta(seconds=self.config.token_ttl_seconds))
        self.faults = FaultPlan(seed=self.config.seed)
        self.activity = IdentityActivity()
        for rule in self.config.faults:
            self.faults.add(rule)
        for window in self.config.maintenance:
            self.faults.add_maintenance(window)
        defaults = DEFAULT_ACCOUNTS if self.config.include_default_accounts else ()
        for spec in (*defaults, *self.config.accounts):
            self.accounts.ensure(spec)

    # --- clock -------------------------------------------------------------------------------

    def _load_clock(self) -> VirtualClock:
        offset = self.store.get_meta("clock_offset")
        frozen = self.store.get_meta("clock_frozen_at")
        if offset is None and frozen is None:
            clock = VirtualClock(frozen_at=self.config.frozen_at)
        else:
            clock = VirtualClock(
                offset=timedelta(seconds=float(offset or 0)),
                frozen_at=datetime.fromisoformat(frozen) if frozen else None,
            )
        clock.on_change = self._save_clock
        self._save_clock(clock)
        return clock

    def _save_clock(self, clock: VirtualClock) -> None:
        self.store.set_meta("clock_offset", str(clock.offset.total_seconds()))
        frozen = clock.frozen_at
        self.store.set_meta("clock_frozen_at", frozen.isoformat() if frozen else None)

    def now(self) -> datetime:
        return self.clock.now()

    # --- authentication ----------------------------------------------------------------------

    def authenticate(
        self, identity: Identity, password: str, service: str
    ) -> tuple[AuthOutcome, str | None]:
        now = self.now()
        outcome, account = self.accounts.authenticate(identity, password, service, now)
        self.record_attempt(identity, service, outcome.value)
        if outcome is not AuthOutcome.OK or account is None:
            return outcome, None
        return outcome, self.tokens.issue(account.identity, service, now)

    def record_attempt(self, identity: Identity | None, service: str | None, outcome: str) -> None:
        self.store.insert(
            "INSERT INTO attempts (at, siret, nom, prenom, service, outcome) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                self.now().timestamp(),
                identity.siret if identity else None,
                identity.nom if identity else None,
                identity.prenom if identity else None,
                service,
                outcome,
            ),
        )

    def authorize(self, credentials: Credentials) -> tuple[str, Caller | None]:
        """``("ok", caller)``, ``("invalid", None)`` or ``("unregistered", None)``."""
        session = self.tokens.resolve(credentials.token, self.now())
        if session is None:
            return "invalid", None
        account = self.accounts.find(session.identity)
        if account is None:
            return "invalid", None
        if not account.dsn_registered:
            return "unregistered", None
        if credentials.concentrator:
            declarant = credentials.declarant or account.identity
            return "ok", Caller(account.identity, declarant, credentials.declarant is None)
        return "ok", Caller(account.identity, account.identity, concentrator_only=False)

    # --- deposits ----------------------------------------------------------------------------

    def deposit(self, caller: Caller, body: bytes, api_version: str) -> DepositAnswer:
        # The platform's timestamps have whole seconds; so do windows' bounds.
        now = self.now().replace(microsecond=0)
        idflux = self._fresh_idflux()
        account = self.accounts.get(caller.account)
        planned = plan_returns(
            config=self.config,
            account=account,
            declarant=caller.declarant,
            idflux=idflux,
            body=body,
            received=now,
        )
        with self.store.transaction() as conn:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM deposits").fetchone()[0]
            conn.execute(
                "INSERT INTO deposits (idflux, seq, at, declarant_siret, declarant_nom, "
                "declarant_prenom, depositor_siret, status, essai_reel, employer_siret, sha256, "
                "size, api_version, anomalies, employees) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    idflux,
                    seq,
                    now.timestamp(),
                    caller.declarant.siret,
                    caller.declarant.nom,
                    caller.declarant.prenom,
                    caller.account.siret,
                    "OK" if planned.accepted else "KO",
                    planned.facts.essai_reel if planned.facts else None,
                    planned.facts.employer_siret if planned.facts else None,
                    hashlib.sha256(body).hexdigest(),
                    len(body),
                    api_version,
                    json.dumps([_anomaly_record(a) for a in planned.anomalies]),
                    len(planned.facts.employees) if planned.facts else 0,
                ),
            )
            for item in planned.returns:
                conn.execute(
                    "INSERT INTO returns (id, idflux, nature, ops, statut, publication, "
                    "production, content_type, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        self._fresh_return_id(conn),
                        idflux,
                        item.nature,
                        item.ops,
                        item.statut,
                        round((now + item.delay).timestamp()),
                        round((now + item.delay).timestamp()),
                        "application/xml",
                        gzip.compress(item.content, mtime=0),
                    ),
                )
        return DepositAnswer(idflux, planned.accepted, planned.answer)

    def _fresh_idflux(self) -> str:
        while True:
            idflux = new_idflux()
            if self.store.one("SELECT 1 FROM deposits WHERE idflux = ?", (idflux,)) is None:
                return idflux

    @staticmethod
    def _fresh_return_id(conn: Any) -> str:
        while True:
            candidate = str(secrets.randbelow(9 * 10**9) + 10**9)
            if conn.execute("SELECT 1 FROM returns WHERE id = ?", (candidate,)).fetchone() is None:
                return candidate

    def list_deposits(self, caller: Caller, start: datetime, end: datetime) -> list[Row]:
        column = "depositor_siret" if caller.concentrator_only else "declarant_siret"
        siret = caller.account.siret if caller.concentrator_only else caller.declarant.siret
        return self.store.all(
            f"SELECT * FROM deposits WHERE {column} = ? AND at >= ? AND at <= ? ORDER BY seq",  # noqa: S608 - fixed names
            (siret, start.timestamp(), end.timestamp()),
        )

    # --- returns -----------------------------------------------------------------------------

    def _purge(self) -> None:
        cutoff = self.now() - timedelta(days=self.config.schedule.retention_days)
        self.store.execute("DELETE FROM returns WHERE publication < ?", (cutoff.timestamp(),))

    def _owns(self, caller: Caller, idflux: str) -> bool:
        column = "depositor_siret" if caller.concentrator_only else "declarant_siret"
        siret = caller.account.siret if caller.concentrator_only else caller.declarant.siret
        row = self.store.one(
            f"SELECT 1 FROM deposits WHERE idflux = ? AND {column} = ?",  # noqa: S608 - fixed names
            (idflux, siret),
        )
        return row is not None

    def flow_returns(self, caller: Caller, idflux: str) -> list[Row] | None:
        """Published returns of one flow; None when the flow is unknown to this caller."""
        if not self._owns(caller, idflux):
            return None
        self._purge()
        return self.store.all(
            "SELECT id, idflux, nature, ops, statut, publication, production FROM returns "
            "WHERE idflux = ? AND active = 1 AND publication <= ? ORDER BY publication, nature",
            (idflux, self.now().timestamp()),
        )

    def declarant_returns(self, caller: Caller, start: datetime, end: datetime) -> list[Row]:
        self._purge()
        column = "d.depositor_siret" if caller.concentrator_only else "d.declarant_siret"
        siret = caller.account.siret if caller.concentrator_only else caller.declarant.siret
        upper = min(end, self.now()).timestamp()
        sql = (
            "SELECT r.id, r.idflux, r.nature, r.ops, r.statut, r.publication, r.production "  # noqa: S608 - fixed column names
            f"FROM returns r JOIN deposits d ON d.idflux = r.idflux WHERE {column} = ? "
            "AND r.active = 1 AND r.publication >= ? AND r.publication <= ? "
            "ORDER BY d.seq, r.publication, r.nature"
        )
        return self.store.all(sql, (siret, start.timestamp(), upper))

    def download(self, caller: Caller, idflux: str, return_id: str) -> tuple[str, bytes] | None:
        if not self._owns(caller, idflux):
            return None
        self._purge()
        row = self.store.one(
            "SELECT content_type, content FROM returns WHERE id = ? AND idflux = ? "
            "AND active = 1 AND publication <= ?",
            (return_id, idflux, self.now().timestamp()),
        )
        if row is None:
            return None
        return str(row["content_type"]), gzip.decompress(row["content"])

    def overwrite_return(
        self, idflux: str, nature: str, *, ops: str | None = None, statut: str | None = None
    ) -> str:
        """The organisme publishes its return again: new id, status, dates and url."""
        now = float(int(self.now().timestamp()))
        with self.store.transaction() as conn:
            params: list[Any] = [idflux, nature]
            where = "idflux = ? AND nature = ? AND active = 1 AND publication <= ?"
            params.append(now)
            if ops is not None:
                where += " AND ops = ?"
                params.append(ops)
            old = conn.execute(f"SELECT * FROM returns WHERE {where}", params).fetchone()  # noqa: S608
            if old is None:
                raise NotFound(
                    "Aucun retour publié à réécrire pour ce flux et cette nature.",
                    idflux=idflux,
                    nature=nature,
                )
            conn.execute("UPDATE returns SET active = 0 WHERE id = ?", (old["id"],))
            new_id = self._fresh_return_id(conn)
            conn.execute(
                "INSERT INTO returns (id, idflux, nature, ops, statut, publication, production, "
                "content_type, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new_id,
                    idflux,
                    nature,
                    old["ops"],
                    statut or old["statut"],
                    now,
                    now,
                    old["content_type"],
                    old["content"],
                ),
            )
        return new_id

    # --- control API -------------------------------------------------------------------------

    def add_account(self, spec: AccountSpec | dict[str, Any]) -> Account:
        return self.accounts.put(
            spec if isinstance(spec, AccountSpec) else AccountSpec.model_validate(spec)
        )

    def unlock(self, siret: str, nom: str, prenom: str) -> Account:
        return self.accounts.update(Identity(siret, nom, prenom), locked=False)

    def attempts(self, siret: str | None = None) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM attempts", []
        if siret is not None:
            sql, params = sql + " WHERE siret = ?", [siret]
        return [
            {**dict(r), "at": _iso(r["at"])} for r in self.store.all(sql + " ORDER BY id", params)
        ]

    def deposits(self) -> list[dict[str, Any]]:
        rows = self.store.all("SELECT * FROM deposits ORDER BY seq")
        return [
            {**dict(r), "at": _iso(r["at"]), "anomalies": json.loads(r["anomalies"])} for r in rows
        ]

    def deposit_count(self) -> int:
        row = self.store.one("SELECT COUNT(*) AS n FROM deposits")
        return int(row["n"]) if row else 0

    def duplicate_deposits(self) -> int:
        """Deposits of a file already deposited by the same declarant."""
        row = self.store.one(
            "SELECT COUNT(*) - COUNT(DISTINCT declarant_siret || sha256) AS n FROM deposits"
        )
        return int(row["n"]) if row else 0

    def returns(self, idflux: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT id, idflux, nature, ops, statut, publication, production, active FROM returns"
        rows = (
            self.store.all(sql + " WHERE idflux = ? ORDER BY publication", (idflux,))
            if idflux
            else self.store.all(sql + " ORDER BY publication")
        )
        return [
            {
                **dict(r),
                "publication": _iso(r["publication"]),
                "production": _iso(r["production"]),
                "published": r["publication"] <= self.now().timestamp(),
            }
            for r in rows
        ]

    def sessions(self) -> dict[str, int]:
        """Per identity, the most sessions (tokens) alive at once."""
        return self.tokens.max_overlap()

    def identity_overlaps(self) -> dict[str, dict[str, int]]:
        """Per identity: requests, requests begun while another of it was in flight, peak."""
        return self.activity.report()

    def log_request(self, method: str, route: str, status: int, fault: str | None) -> None:
        self.store.insert(
            "INSERT INTO requests (at, method, route, status, fault) VALUES (?, ?, ?, ?, ?)",
            (self.now().timestamp(), method, route, status, fault),
        )

    def requests(self, route: str | None = None) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM requests", []
        if route is not None:
            sql, params = sql + " WHERE route = ?", [route]
        return [
            {**dict(r), "at": _iso(r["at"])} for r in self.store.all(sql + " ORDER BY id", params)
        ]

    def stamp(self, epoch: float) -> str:
        return to_paris_stamp(datetime.fromtimestamp(epoch, UTC))

    def close(self) -> None:
        self.store.close()


def _anomaly_record(anomaly: Anomaly) -> dict[str, Any]:
    return {
        "code": anomaly.code,
        "category": anomaly.category,
        "message": anomaly.message,
        "rubrique": anomaly.rubrique,
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def parse_instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"Date illisible : « {text} ».", value=text) from exc
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)
