"""Tiny DSN files for the pipeline's unit tests (the norme's generator makes realistic ones)."""

from __future__ import annotations

from collections.abc import Sequence

from dsnlink.pipeline.alerts import MemoryAlertSink
from dsnlink.pipeline.context import Pipeline, PipelineConfig
from dsnlink.pipeline.fakes import (
    FakeChecker,
    FakeIdentities,
    FakePortal,
    FakeReturnParser,
    ManualClock,
)
from dsnlink.pipeline.memory import MemoryLedger
from dsnlink.pipeline.ports import IdentityRef, Ledger


def dsn(
    siret: str = "73282932000074",
    month: str = "01/2026",
    *,
    nirs: Sequence[str] = ("1800175123456", "2850275123457"),
    test: bool = False,
    type_: str = "01",
    fraction: str = "11",
    extra: str = "",
) -> bytes:
    lines = [
        ("S10.G00.00.001", "dsnlink"),
        ("S10.G00.00.005", "01" if test else "02"),
        ("S10.G00.00.006", "P26V01"),
        ("S10.G00.01.001", siret[:9]),
        ("S20.G00.05.001", "01"),
        ("S20.G00.05.002", type_),
        ("S20.G00.05.003", fraction),
        ("S20.G00.05.005", "01" + month.replace("/", "")),
        ("S21.G00.06.001", siret[:9]),
        ("S21.G00.11.001", siret[9:]),
    ]
    for i, nir in enumerate(nirs):
        lines += [
            ("S21.G00.30.001", nir),
            ("S21.G00.30.002", f"NOM{i}"),
            ("S21.G00.30.019", f"M{i:04d}"),
        ]
    if extra:
        lines.append(("S21.G00.40.001", extra))
    lines += [("S90.G00.90.001", str(len(lines) + 2)), ("S90.G00.90.002", "1")]
    return "".join(f"{k},'{v}'\n" for k, v in lines).encode("latin-1")


def two_declarations(a: str, b: str, month: str = "01/2026") -> bytes:
    first = dsn(a, month).decode("latin-1").splitlines()
    second = dsn(b, month).decode("latin-1").splitlines()
    body = first[:-2] + [line for line in second if not line.startswith(("S10", "S90"))]
    body += ["S90.G00.90.001,'x'", "S90.G00.90.002,'2'"]
    return ("\n".join(body) + "\n").encode("latin-1")


SIRET_A = "73282932000074"
SIRET_B = "35600000000048"
SIRET_C = "44306184100047"


def make_pipeline(
    ledger: Ledger | None = None, config: PipelineConfig | None = None
) -> tuple[Pipeline, FakePortal, FakeIdentities, ManualClock, MemoryAlertSink]:
    clock = ManualClock()
    identities = FakeIdentities()
    identities.declarants.update({"dupont", "martin"})
    identities.add(
        IdentityRef("id-dupont", "99900000300015", "dupont", "dupont@example.org", True),
        employers=[SIRET_A, SIRET_B],
    )
    identities.add(
        IdentityRef("id-martin", "99900000400013", "martin", "martin@example.org", True),
        employers=[SIRET_C],
    )
    checker = FakeChecker()
    portal = FakePortal(clock, checker)
    alerts = MemoryAlertSink()
    pipeline = Pipeline(
        ledger=ledger or MemoryLedger(),
        portal=portal,
        identities=identities,
        checker=checker,
        parser=FakeReturnParser(),
        clock=clock,
        alerts=alerts,
        config=config or PipelineConfig(),
    )
    return pipeline, portal, identities, clock, alerts
