"""What a deposit produces: the immediate answer (AEE/ARE) and the returns to publish later.

Schedule (delays from ``SimulatorConfig.schedule``, on the simulator's clock):

- nature 10 at once: the AEE, or the ARE of a rejected file;
- nature 11 minutes later: CCO, or BAN listing the findings of dsnlink's validator (KO when
  one is blocking);
- natures 60 (URSSAF) and 92 (DGFiP) acknowledgements of a conforming declaration;
- nature 94, the DGFiP CRM nominatif with every employee's PAS rate, days later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dsnlink.simulator import documents
from dsnlink.simulator.accounts import Account, Identity
from dsnlink.simulator.config import SimulatorConfig
from dsnlink.simulator.documents import Anomaly
from dsnlink.simulator.dsnfile import DsnFacts, Rejection, inspect

#: The simulator's own ARE code for an establishment the account may not declare for (the
#: platform's code for this case is not published).
NOT_ALLOWED_FOR_EMPLOYER = "SIM-HAB-01"


@dataclass(frozen=True)
class PlannedReturn:
    nature: str
    ops: str
    statut: str
    delay: timedelta
    content: bytes


@dataclass
class Planned:
    accepted: bool
    facts: DsnFacts | None
    answer: bytes
    anomalies: Sequence[Anomaly] = ()
    returns: list[PlannedReturn] = field(default_factory=list)


def plan_returns(
    *,
    config: SimulatorConfig,
    account: Account,
    declarant: Identity,
    idflux: str,
    body: bytes,
    received: datetime,
) -> Planned:
    inspection = inspect(body, check=config.validate_files)
    facts, rejection = inspection.facts, inspection.rejection
    if (
        rejection is None
        and facts is not None
        and account.employers
        and facts.employer_siret not in account.employers
    ):
        rejection = Rejection(
            NOT_ALLOWED_FOR_EMPLOYER,
            f"Le compte n'est pas habilité à déclarer pour l'établissement {facts.employer_siret}.",
        )
    answer = documents.reception(
        declarant=declarant, idflux=idflux, facts=facts, received=received, rejection=rejection
    )
    planned = Planned(accepted=rejection is None, facts=facts, answer=answer)
    planned.returns.append(
        PlannedReturn("10", "", "KO" if rejection else "OK", timedelta(0), answer)
    )
    if rejection is not None or facts is None:
        return planned

    schedule = config.schedule
    anomalies = inspection.anomalies
    planned.anomalies = anomalies
    conforming = not any(a.category == documents.BLOCKING for a in anomalies)
    planned.returns.append(
        PlannedReturn(
            "11",
            "",
            "OK" if conforming else "KO",
            timedelta(minutes=schedule.conformity_after_minutes),
            documents.conformity(
                declarant=declarant,
                idflux=idflux,
                facts=facts,
                received=received,
                anomalies=anomalies,
            ),
        )
    )
    if not conforming:
        return planned
    ack_delay = timedelta(minutes=schedule.acknowledgements_after_minutes)
    for nature, ops in ((60, "URSSAF"), (92, "DGFIP")):
        planned.returns.append(
            PlannedReturn(
                str(nature),
                ops,
                "OK",
                ack_delay,
                documents.acknowledgement(nature=nature, idflux=idflux, facts=facts),
            )
        )
    if facts.employees:
        content, rates = documents.crm_pas(idflux=idflux, facts=facts)
        planned.returns.append(
            PlannedReturn(
                "94",
                "DGFIP",
                "OK" if all(r is not None for r in rates.values()) else "ANO",
                timedelta(hours=schedule.crm_pas_after_hours),
                content,
            )
        )
    return planned
