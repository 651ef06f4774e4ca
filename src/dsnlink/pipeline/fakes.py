"""In-memory stand-ins for the portal, clock, identities, checker and return parser.

Small but honest: the fake portal keeps real deposit and return listings on a movable clock,
counts authentication attempts, and can lose answers (fate unknown) or refuse credentials, so
the pipeline's rules can be tested without a network. The real adapters pass the same
integration scenarios against the simulator over HTTP.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dsnlink.errors import (
    DepositFateUnknown,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
    WrongCredentials,
)
from dsnlink.pipeline.model import CheckResult, Declaration, Employee, Finding
from dsnlink.pipeline.ports import (
    DepositOutcome,
    EmployerRef,
    IdentityRef,
    ListedDeposit,
    ListedReturn,
    ParsedRate,
    ParsedReturn,
)


class ManualClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta


# --- identities -----------------------------------------------------------------------------


class FakeIdentities:
    def __init__(self) -> None:
        self._by_id: dict[str, IdentityRef] = {}
        self._for_siret: dict[str, str] = {}
        self._employers: dict[str, str] = {}
        self.declarants: set[str] = set()
        self.failures: list[tuple[str, str]] = []
        self.successes: set[str] = set()
        self._lock = threading.Lock()

    def add(self, identity: IdentityRef, *, employers: Sequence[str] = ()) -> None:
        with self._lock:
            self._by_id[identity.id] = identity
            for siret in employers:
                self._for_siret[siret] = identity.id
                self._employers.setdefault(siret, f"Employeur {siret}")

    def fix(self, identity_id: str) -> None:
        """A person edited the identity: usable again."""
        with self._lock:
            self._by_id[identity_id] = replace(self._by_id[identity_id], usable=True)

    def choose(self, declared_siret: str, acting_login: str) -> IdentityRef:
        if acting_login not in self.declarants:
            raise PermissionDenied(login=acting_login, right="declarations")
        with self._lock:
            identity_id = self._for_siret.get(declared_siret)
            if identity_id is None:
                raise NotFound("Aucune identité pour ce SIRET.", siret=declared_siret)
            return replace(self._by_id[identity_id], acting_login=acting_login)

    def get(self, identity_id: str, acting_login: str = "") -> IdentityRef:
        with self._lock:
            return replace(self._by_id[identity_id], acting_login=acting_login)

    def mark_failing(self, identity: IdentityRef, code: str) -> bool:
        identity_id = identity.id
        with self._lock:
            current = self._by_id[identity_id]
            self._by_id[identity_id] = replace(current, usable=False)
            self.failures.append((identity_id, code))
            return current.usable

    def mark_ok(self, identity: IdentityRef) -> None:
        with self._lock:
            self.successes.add(identity.id)

    def employers(self) -> Sequence[EmployerRef]:
        with self._lock:
            return [EmployerRef(s, n) for s, n in sorted(self._employers.items())]


# --- checker --------------------------------------------------------------------------------


def _lines(data: bytes) -> list[tuple[str, str]]:
    out = []
    for raw in data.decode("latin-1").splitlines():
        key, sep, rest = raw.partition(",'")
        if sep and rest.endswith("'"):
            out.append((key, rest[:-1]))
    return out


class FakeChecker:
    """Reads the few rubriques the pipeline needs; ``BLOQUANT`` anywhere is a blocking finding."""

    def check(self, data: bytes) -> CheckResult:
        lines = _lines(data)
        if not lines or not lines[0][0].startswith("S10"):
            raise_read_error()
        is_test = dict(lines).get("S10.G00.00.005") == "01"
        findings = tuple(
            Finding("FAKE-1", "bloquant", "valeur interdite", i + 1)
            for i, (_, v) in enumerate(lines)
            if v == "BLOQUANT"
        )
        return CheckResult(findings, tuple(_declarations(lines, is_test)))

    def split(self, data: bytes) -> list[bytes]:
        lines = _lines(data)
        head = [kv for kv in lines if kv[0].startswith("S10")]
        parts: list[list[tuple[str, str]]] = []
        for key, value in lines:
            if key == "S20.G00.05.001":
                parts.append([])
            if parts and not key.startswith(("S10", "S90")):
                parts[-1].append((key, value))
        out = []
        for part in parts:
            body = [*head, *part]
            body += [("S90.G00.90.001", str(len(body) + 2)), ("S90.G00.90.002", "1")]
            out.append("".join(f"{k},'{v}'\n" for k, v in body).encode("latin-1"))
        return out

    def as_test(self, data: bytes) -> bytes:
        return data.replace(b"S10.G00.00.005,'02'", b"S10.G00.00.005,'01'")


def raise_read_error() -> None:
    from dsnlink.errors import DsnReadError

    raise DsnReadError(line=1)


def _declarations(lines: list[tuple[str, str]], is_test: bool) -> list[Declaration]:
    found: list[dict[str, str]] = []
    people: list[list[Employee]] = []
    for key, value in lines:
        if key == "S20.G00.05.001":
            found.append({})
            people.append([])
        if not found:
            continue
        if key == "S21.G00.30.001":
            people[-1].append(Employee(value))
        elif key == "S21.G00.30.019" and people[-1]:
            people[-1][-1] = replace(people[-1][-1], matricule=value)
        elif key == "S21.G00.30.002" and people[-1]:
            people[-1][-1] = replace(people[-1][-1], name=value)
        else:
            found[-1].setdefault(key, value)
    return [
        Declaration(
            declared_siret=d.get("S21.G00.06.001", "") + d.get("S21.G00.11.001", ""),
            month=(lambda m: f"{m[2:4]}/{m[4:8]}")(d.get("S20.G00.05.005", "01010000")),
            nature=d.get("S20.G00.05.001", ""),
            type=d.get("S20.G00.05.002", ""),
            fraction=d.get("S20.G00.05.003", "11"),
            is_test=is_test,
            employees=tuple(p),
        )
        for d, p in zip(found, people, strict=True)
    ]


# --- portal ---------------------------------------------------------------------------------


@dataclass
class _Deposit:
    idflux: str
    identity_id: str
    data: bytes
    at: datetime
    accepted: bool
    returns: list[tuple[ListedReturn, bytes]] = field(default_factory=list)


class FakePortal:
    """Deposits and returns in memory, on the given clock.

    ``script`` holds what the next deposit calls do instead of answering normally:
    ``"lost"`` (no answer, never arrived), ``"arrived"`` (no answer, arrived), ``"503"``.
    Identities in ``wrong_passwords`` fail authentication.
    """

    def __init__(self, clock: ManualClock, checker: FakeChecker | None = None) -> None:
        self.clock = clock
        self.checker = checker or FakeChecker()
        self.deposits: dict[str, _Deposit] = {}
        self.script: list[str] = []
        self.wrong_passwords: set[str] = set()
        self.auth_attempts: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._tokens: set[str] = set()
        self._lock = threading.Lock()

    def _auth(self, identity: IdentityRef) -> None:
        with self._lock:
            if identity.id in self._tokens:
                return
            self.auth_attempts[identity.id] += 1
            if identity.id in self.wrong_passwords:
                raise WrongCredentials(identity_id=identity.id)
            self._tokens.add(identity.id)

    def deposit(self, identity: IdentityRef, data: bytes) -> DepositOutcome:
        self._auth(identity)
        with self._lock:
            self.calls["deposit"] += 1
            fault = self.script.pop(0) if self.script else None
        if fault == "503":
            raise ServiceUnavailable(status=503)
        if fault == "lost":
            raise DepositFateUnknown()
        result = self.checker.check(data)
        accepted = not result.blocking and data.startswith(b"S10")
        idflux = secrets.token_hex(12)[:23]
        now = self.clock.now()
        dep = _Deposit(idflux, identity.id, data, now, accepted)
        decl = result.declarations[0] if result.declarations else None
        if accepted and decl is not None:
            dep.returns = self._returns(idflux, now, decl)
        with self._lock:
            self.deposits[idflux] = dep
        if fault == "arrived":
            raise DepositFateUnknown()
        return DepositOutcome(accepted, idflux, now, () if accepted else ("B1-105-15",), b"ARE")

    def _returns(
        self, idflux: str, now: datetime, decl: Declaration
    ) -> list[tuple[ListedReturn, bytes]]:
        def listed(
            nature: str, delay: timedelta, doc: dict[str, object]
        ) -> tuple[ListedReturn, bytes]:
            rid = secrets.token_hex(4)
            return (
                ListedReturn(idflux, nature, "", rid, "OK", f"fake://{idflux}/{rid}", now + delay),
                json.dumps(doc).encode(),
            )

        items = [
            listed("10", timedelta(0), {"kind": "AEE", "ok": True}),
            listed(
                "11",
                timedelta(minutes=3),
                {"kind": "CCO", "ok": True, "siret": decl.declared_siret},
            ),
        ]
        if decl.is_real_monthly:
            rates = [[e.nir, str(Decimal(int(e.nir[-3:]) % 20)) + ".00"] for e in decl.employees]
            if rates:
                rates[-1][1] = ""  # the last employee gets no rate: default scale
            items.append(
                listed(
                    "94",
                    timedelta(days=3),
                    {"kind": "CRM94", "ok": True, "crm": "1234567890" + idflux[:8], "rates": rates},
                )
            )
        return items

    def list_deposits(
        self, identity: IdentityRef, since: datetime, until: datetime
    ) -> list[ListedDeposit]:
        self._auth(identity)
        with self._lock:
            return [
                ListedDeposit(d.idflux, d.at, "OK" if d.accepted else "KO")
                for d in self.deposits.values()
                if d.identity_id == identity.id and since <= d.at <= until
            ]

    def list_flow_returns(self, identity: IdentityRef, idflux: str) -> list[ListedReturn]:
        self._auth(identity)
        now = self.clock.now()
        with self._lock:
            dep = self.deposits.get(idflux)
            if dep is None or dep.identity_id != identity.id:
                raise NotFound(idflux=idflux)
            return [r for r, _ in dep.returns if r.published_at and r.published_at <= now]

    def list_returns_window(
        self, identity: IdentityRef, start: datetime, end: datetime
    ) -> list[ListedReturn]:
        self._auth(identity)
        with self._lock:
            return [
                r
                for d in self.deposits.values()
                if d.identity_id == identity.id
                for r, _ in d.returns
                if r.published_at and start <= r.published_at < end
            ]

    def download(self, identity: IdentityRef, listed: ListedReturn) -> bytes:
        self._auth(identity)
        with self._lock:
            dep = self.deposits[listed.idflux]
            return next(c for r, c in dep.returns if r.return_id == listed.return_id)


class FakeReturnParser:
    def parse(self, data: bytes) -> ParsedReturn:
        doc = json.loads(data)
        return ParsedReturn(
            kind=doc["kind"],
            ok=doc["ok"],
            crm_identifier=doc.get("crm"),
            declared_siret=doc.get("siret"),
            rates=tuple(
                ParsedRate(nir, None, Decimal(rate) if rate else None)
                for nir, rate in doc.get("rates", [])
            ),
        )
