"""The demo's main job, on a throw-away installation: generate a real monthly DSN for each
employer, deposit it on the in-process simulator, move the simulator's clock, collect the
returns and the PAS rates. Seconds, no network beyond 127.0.0.1, no question asked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dsnlink.jobs.runner import Runner
from dsnlink.norme import generate_monthly_dsn
from dsnlink.pipeline.alerts import MemoryAlertSink
from dsnlink.pipeline.deadlines import previous_month
from dsnlink.pipeline.intake import receive
from dsnlink.pipeline.rates import rate_row, rates_view
from dsnlink.pipeline.setup import open_pipeline
from dsnlink.pipeline.views import envoi_row
from dsnlink.setup import App
from dsnlink.simulator.server import RunningSimulator


class _InProcessClock:
    def __init__(self, sim: RunningSimulator) -> None:
        self.sim = sim

    def now(self) -> datetime:
        return self.sim.simulator.clock.now()


def deposit_and_collect(
    app: App, sim: RunningSimulator, employers: list[str], acting_login: str
) -> dict[str, Any]:
    alerts = MemoryAlertSink()
    with open_pipeline(app, clock=_InProcessClock(sim), alerts=alerts) as pipeline:
        month = previous_month(pipeline.clock.now().date())  # "MM/YYYY"
        period = f"{month[3:]}-{month[:2]}"
        ids: list[str] = []
        for n, siret in enumerate(employers):
            data = generate_monthly_dsn(4 + n, siret=siret, month=period, test=False, seed=n)
            intake = receive(pipeline, data, name=f"dsn-{siret}.txt", acting_login=acting_login)
            ids.extend(e.id for e in intake.envois)
        runner = Runner(pipeline)
        runner.run_until_idle()
        for step in ("10m", "4d"):  # certificates minutes later, the CRM 94 days later
            sim.advance(step)
            runner.run_until_idle()
        view = rates_view(pipeline)
        return {
            "month": month,
            "envois": [envoi_row(pipeline.ledger, pipeline.ledger.get_envoi(i)) for i in ids],
            "returns": sum(len(pipeline.ledger.returns(envoi_id=i)) for i in ids),
            "rates": [rate_row(r) for r in view.rates],
            "without_rate": [
                {"siret": s, "nir": e.nir, "matricule": e.matricule, "nom": e.name}
                for s, e in view.without_rate
            ],
            "alerts": [a.subject for a in alerts.sent],
            "duplicates": sim.simulator.duplicate_deposits(),
        }
