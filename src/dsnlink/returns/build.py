"""Builders of return files, shaped like GIP-MDS's official samples.

Used by the local Net-entreprises simulator to answer deposits and publish returns, and by
tests. Each ``build_*`` function returns the XML bytes; the matching ``*_document`` function
returns the model, for callers that want to adjust it before :func:`render` ing it.
Every built document validates against the official schema ``dsn_bilans_v02r03.xsd`` and
parses back to the same values.

Times are written in Paris time, as the platform does: an aware ``datetime`` is converted, a
naive one is taken as already in Paris time; ``None`` means now.
"""

from __future__ import annotations

import dataclasses
import secrets
import string
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import ParamSpec

from dsnlink.returns.model import (
    BLOCKING,
    NON_BLOCKING,
    PARIS,
    Anomaly,
    ConformityReport,
    Counter,
    Declaration,
    DepositReport,
    Employee,
    Envoi,
    GenericReport,
    PasRateReport,
    ReturnDocument,
)
from dsnlink.returns.render import render

P = ParamSpec("P")

__all__ = [
    "DGFIP_DEFAULT_RATE_MESSAGE",
    "build_aee",
    "build_are",
    "build_ban",
    "build_cco",
    "build_crm_pas",
    "build_generic",
    "conformity_document",
    "crm_pas_document",
    "deposit_document",
    "generic_document",
    "new_crm_identifier",
    "new_idflux",
    "render",
]

#: The ``message`` attribute of the DGFiP's CRM nominatif sample.
DGFIP_DEFAULT_RATE_MESSAGE = (
    "En cas d’absence de taux communiqué par la DGFIP, le taux applicable est le taux issu des "
    "grilles de taux par défaut définies par la loi de finances"
)
SCHEMA_VERSION = "v02r03"
_IDFLUX_ALPHABET = string.ascii_letters + string.digits + "."
#: The anomaly of the ARE sample: what the platform answers to a file it cannot read.
FORMAT_NOT_RECOGNISED = Anomaly(
    code="B1-105-15",
    message="Le format du fichier depot_mtom n'est pas reconnu.",
    level="envoi",
)


def new_idflux() -> str:
    """A flow identifier like the platform's: 23 characters of ``[A-Za-z0-9.]``."""
    return "".join(secrets.choice(_IDFLUX_ALPHABET) for _ in range(23))


def new_crm_identifier() -> str:
    """A CRM identifier like the DGFiP's: 18 digits, not starting with 0."""
    return str(secrets.randbelow(9 * 10**17) + 10**17)


def _paris(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(PARIS).replace(microsecond=0)
    if moment.tzinfo is not None:
        moment = moment.astimezone(PARIS)
    return moment.replace(microsecond=0)


def _at_level(anomalies: Sequence[Anomaly], level: str) -> tuple[Anomaly, ...]:
    return tuple(dataclasses.replace(a, level=level) for a in anomalies)


# --- nature 10: AEE / ARE ---------------------------------------------------------------------


def deposit_document(
    *,
    accepted: bool,
    idflux: str,
    emitter_siret: str,
    declarant_siret: str | None = None,
    declarant_last_name: str | None = None,
    declarant_first_name: str | None = None,
    test_or_real: str | None = "02",
    received_at: datetime | None = None,
    anomalies: Sequence[Anomaly] = (),
    file_name: str = "MtoM",
    deposit_point: str = "01",
) -> DepositReport:
    received = _paris(received_at)
    return DepositReport(
        type="AEE" if accepted else "ARE",
        nature=10,
        profil="DSN",
        version=SCHEMA_VERSION,
        envoi=Envoi(
            idflux=idflux,
            declarant_siret=declarant_siret,
            declarant_last_name=declarant_last_name,
            declarant_first_name=declarant_first_name,
            file_name=file_name,
            deposit_point=deposit_point,
            test_or_real=test_or_real,
            emitter_siret=emitter_siret,
            reception_date=received.date(),
            reception_time=received.time(),
            # The AEE is the electronic registration itself: same moment as the reception.
            registration_date=received.date() if accepted else None,
            registration_time=received.time() if accepted else None,
            state="OK" if accepted else "KO",
            anomalies=_at_level(anomalies, "envoi"),
        ),
    )


def build_aee(
    *,
    idflux: str,
    emitter_siret: str,
    declarant_siret: str | None = None,
    declarant_last_name: str | None = None,
    declarant_first_name: str | None = None,
    test_or_real: str | None = "02",
    received_at: datetime | None = None,
) -> bytes:
    """The AEE (accusé d'enregistrement électronique) of an accepted deposit."""
    return render(
        deposit_document(
            accepted=True,
            idflux=idflux,
            emitter_siret=emitter_siret,
            declarant_siret=declarant_siret,
            declarant_last_name=declarant_last_name,
            declarant_first_name=declarant_first_name,
            test_or_real=test_or_real,
            received_at=received_at,
        )
    )


def build_are(
    *,
    idflux: str,
    emitter_siret: str,
    anomalies: Sequence[Anomaly] = (FORMAT_NOT_RECOGNISED,),
    declarant_siret: str | None = None,
    declarant_last_name: str | None = None,
    declarant_first_name: str | None = None,
    test_or_real: str | None = None,
    received_at: datetime | None = None,
) -> bytes:
    """The ARE (avis de rejet électronique) of a refused deposit, with its anomalies."""
    return render(
        deposit_document(
            accepted=False,
            idflux=idflux,
            emitter_siret=emitter_siret,
            declarant_siret=declarant_siret,
            declarant_last_name=declarant_last_name,
            declarant_first_name=declarant_first_name,
            test_or_real=test_or_real,
            received_at=received_at,
            anomalies=anomalies,
        )
    )


# --- nature 11: CCO / BAN ---------------------------------------------------------------------


def conformity_document(
    anomalies: Sequence[Anomaly] = (),
    *,
    idflux: str,
    siren: str,
    nic: str,
    emitter_siret: str,
    employees_count: int = 1,
    declaration_nature: str = "01",
    declaration_type: str = "01",
    fraction: str = "11",
    order: str = "1",
    month: str | None = None,
    test_or_real: str = "02",
    norme_version: str | None = None,
) -> ConformityReport:
    """CCO without anomalies, BAN with: rejected (KO) when one of them is blocking.

    An anomaly's ``level`` places it: ``envoi`` (general, like the BAN sample's CSL-01) or
    ``declaration``. Counters are computed from the anomalies as the platform does.
    """
    envoi_level = tuple(a for a in anomalies if a.level == "envoi")
    declaration_level = tuple(a for a in anomalies if a.level != "envoi")
    rejected = any(a.blocking for a in anomalies)
    state = "KO" if rejected else "OK"
    envoi_counters: tuple[Counter, ...] = ()
    declaration_counters: tuple[Counter, ...] = ()
    if anomalies:
        envoi_counters = (
            Counter(category="generale", count=len(envoi_level)),
            Counter(category="declaration", count=len(declaration_level)),
            Counter(category="total", count=len(anomalies)),
        )
        declaration_counters = tuple(
            Counter(category=category, count=sum(a.category == category for a in declaration_level))
            for category in (BLOCKING, NON_BLOCKING)
        )
    return ConformityReport(
        type="BAN" if anomalies else "CCO",
        nature=11,
        profil="DSN",
        version=SCHEMA_VERSION,
        envoi=Envoi(
            idflux=idflux,
            norme_version=norme_version,
            deposit_point="01",
            send_type="01",
            test_or_real=test_or_real,
            emitter_siret=emitter_siret,
            state=state,
            declarations_count=1,
            employees_count=employees_count,
            counters=envoi_counters,
            anomalies=_at_level(envoi_level, "envoi"),
        ),
        declarations=(
            Declaration(
                rank=1,
                nature=declaration_nature,
                type=declaration_type,
                fraction=fraction,
                order=order,
                month=month,
                siren=siren,
                nic_head_office=nic,
                nic=nic,
                state=state,
                employees_count=employees_count,
                counters=declaration_counters,
                conformity_state=state,
                anomalies=_at_level(declaration_level, "declaration"),
            ),
        ),
    )


# --- nature 94: the DGFiP CRM nominatif (PAS rates) -------------------------------------------


def crm_pas_document(
    employees: Sequence[Employee],
    *,
    identifier: str,
    idflux: str,
    siren: str,
    nic: str,
    emitter_siret: str,
    anomalies: Sequence[Anomaly] = (),
    declaration_type: str = "01",
    business_id: str | None = None,
    rank: int = 1,
    norme_version: str | None = None,
    message: str | None = DGFIP_DEFAULT_RATE_MESSAGE,
) -> PasRateReport:
    return PasRateReport(
        type="CRM nominatif",
        nature=94,
        profil="DSN",
        version=SCHEMA_VERSION,
        identifier=identifier,
        message=message,
        envoi=Envoi(
            idflux=idflux,
            norme_version=norme_version,
            emitter_siret=emitter_siret,
            state="OK",
        ),
        declarations=(
            Declaration(
                rank=rank,
                type=declaration_type,
                business_id=business_id,
                siren=siren,
                nic=nic,
                state="OK",
                employees_count=len(employees),
                employees=tuple(employees),
                anomalies=_at_level(anomalies, "declaration"),
            ),
        ),
    )


# --- any other return ------------------------------------------------------------------------


def generic_document(
    *,
    type_: str | int,
    idflux: str,
    siren: str,
    nic: str,
    emitter_siret: str,
    state: str = "OK",
    anomalies: Sequence[Anomaly] = (),
    nature: int | None = None,
) -> GenericReport:
    """A return of any other nature: ``type_`` is the root's type (a nature number or a
    name such as ``CRACOSS``); declaration-level anomalies."""
    if nature is None and isinstance(type_, int):
        nature = type_
    return GenericReport(
        type=str(type_),
        nature=nature,
        profil="DSN",
        version=SCHEMA_VERSION,
        envoi=Envoi(idflux=idflux, emitter_siret=emitter_siret, state="OK"),
        declarations=(
            Declaration(
                rank=1,
                siren=siren,
                nic=nic,
                state=state,
                anomalies=_at_level(anomalies, "declaration"),
            ),
        ),
    )


# --- the same, as bytes ----------------------------------------------------------------------


def _to_bytes(make: Callable[P, ReturnDocument], doc: str) -> Callable[P, bytes]:
    def build(*args: P.args, **kwargs: P.kwargs) -> bytes:
        return render(make(*args, **kwargs))

    build.__doc__ = doc
    build.__name__ = build.__qualname__ = make.__name__.replace("_document", "")
    return build


build_cco = _to_bytes(
    conformity_document,
    "The certificate of conformity (CCO): :func:`conformity_document` without anomalies.",
)
build_ban = _to_bytes(
    conformity_document,
    "The bilan d'anomalies (BAN): :func:`conformity_document` with its anomalies; counters "
    "computed, rejected when one anomaly is blocking.",
)
build_crm_pas = _to_bytes(
    crm_pas_document,
    "The DGFiP CRM nominatif: one ``salarie`` per employee with NIR (or NTT), matricule, rate "
    "(``None``: no rate, the default scale applies), future rate and its date.",
)
build_generic = _to_bytes(
    generic_document,
    "Any other CRM (URSSAF, DGFiP financier, France Travail…), with its anomalies.",
)
