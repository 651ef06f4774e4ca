"""The return files the simulator publishes, written by dsnlink's own return builders
(``dsnlink.returns.build``) so that they have the structure of GIP-MDS's samples and parse
with the same parser.

AEE/ARE (nature 10), CCO/BAN (11), acknowledgements (60, 92) and the DGFiP CRM nominatif (94).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from dsnlink.returns import Anomaly, Employee
from dsnlink.returns.build import (
    build_generic,
    conformity_document,
    crm_pas_document,
    deposit_document,
    render,
)
from dsnlink.returns.model import BLOCKING, NON_BLOCKING, PARIS
from dsnlink.simulator.accounts import Identity
from dsnlink.simulator.dsnfile import DsnFacts, Rejection
from dsnlink.simulator.rates import crm_identifier, pas_rate

__all__ = ["BLOCKING", "NON_BLOCKING", "Anomaly", "acknowledgement", "conformity", "crm_pas"]


def reception(
    *,
    declarant: Identity,
    idflux: str,
    facts: DsnFacts | None,
    received: datetime,
    rejection: Rejection | None,
) -> bytes:
    """The AEE (accepted) or ARE (``rejection`` given), answered at once and listed as nature 10."""
    anomalies = (
        (Anomaly(code=rejection.code, message=rejection.message, level="envoi"),)
        if rejection
        else ()
    )
    return render(
        deposit_document(
            accepted=rejection is None,
            idflux=idflux,
            emitter_siret=(facts.emetteur_siret if facts else "") or declarant.siret,
            declarant_siret=declarant.siret,
            declarant_last_name=declarant.nom,
            declarant_first_name=declarant.prenom,
            test_or_real=(facts.essai_reel or None) if facts else None,
            received_at=received,
            anomalies=anomalies,
        )
    )


def conformity(
    *,
    declarant: Identity,
    idflux: str,
    facts: DsnFacts,
    received: datetime,
    anomalies: Sequence[Anomaly],
) -> bytes:
    """Nature 11: CCO without anomaly, else BAN listing them (KO when one is blocking)."""
    document = conformity_document(
        idflux=idflux,
        siren=facts.siren,
        nic=facts.nic,
        emitter_siret=facts.emetteur_siret,
        anomalies=anomalies,
        employees_count=len(facts.employees),
        declaration_nature=facts.nature or "01",
        declaration_type=facts.type or "01",
        fraction=facts.fraction or "11",
        order=facts.ordre or "1",
        month=facts.month or None,
        test_or_real=facts.essai_reel or "02",
        norme_version=facts.norme_version or None,
    )
    local = received.astimezone(PARIS).replace(microsecond=0)
    # What the BAN sample also tells: who deposited, with which software, when.
    envoi = dataclasses.replace(
        document.envoi,
        declarant_siret=declarant.siret,
        declarant_last_name=declarant.nom,
        declarant_first_name=declarant.prenom,
        file_name="depot_mtom",
        software_name=facts.software or None,
        reception_date=local.date(),
        reception_time=local.time(),
    )
    return render(dataclasses.replace(document, envoi=envoi))


def acknowledgement(*, nature: int, idflux: str, facts: DsnFacts) -> bytes:
    """Natures 60 (URSSAF) and 92 (DGFiP): the organisme has received the declaration."""
    return build_generic(
        type_=nature,
        idflux=idflux,
        siren=facts.siren,
        nic=facts.nic,
        emitter_siret=facts.emetteur_siret,
    )


def _no_rate(employee: Employee) -> Anomaly:
    return Anomaly(
        code="IDE01",
        category=NON_BLOCKING,
        message=(
            "Échec de reconnaissance de la personne par la DGFiP : aucun taux n'est communiqué, "
            "le taux issu des grilles de taux par défaut s'applique."
        ),
        rubrique="S21.G00.30.001",
        value=employee.identifier,
        employees=(
            Employee(
                nir=employee.nir, ntt=employee.ntt, matricule=employee.matricule, origin="DSN"
            ),
        ),
    )


def crm_pas(*, idflux: str, facts: DsnFacts) -> tuple[bytes, dict[str, str | None]]:
    """Nature 94: one ``salarie`` per employee with its rate (see ``rates``) and an anomaly for
    each one without. Returns the XML and the rates by NIR (or NTT)."""
    rates = {e.identifier: pas_rate(e.identifier) for e in facts.employees}
    employees = []
    for e in facts.employees:
        rate = rates[e.identifier]
        employees.append(
            Employee(
                nir=e.nir,
                ntt=None if e.nir else e.ntt,
                matricule=e.matricule,
                rate=Decimal(rate) if rate is not None else None,
            )
        )
    document = crm_pas_document(
        employees,
        identifier=crm_identifier(idflux),
        idflux=idflux,
        siren=facts.siren,
        nic=facts.nic,
        emitter_siret=facts.emetteur_siret,
        anomalies=[_no_rate(e) for e in employees if e.rate is None],
        declaration_type=facts.type or "01",
        business_id=facts.month or None,
        norme_version=facts.norme_version or None,
    )
    return render(document), rates
