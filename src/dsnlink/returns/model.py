"""Typed, frozen models of the GIP-MDS return files (``rapport`` XML).

The models mirror the official schema (``dsn_bilans_v02r03.xsd``) with English names:
a :class:`ReturnDocument` has one :class:`Envoi` (the physical file the platform received)
and zero or more :class:`Declaration` results; anomalies hang from both levels. Which
subclass :func:`dsnlink.returns.parse` returns depends on the document's nature:

- :class:`DepositReport`: AEE / ARE, nature 10 (the deposit's answer);
- :class:`ConformityReport`: CCO / BAN, nature 11;
- :class:`PasRateReport`: the DGFiP CRM nominatif, nature 94, with the PAS rates;
- :class:`GenericReport`: every other CRM.

Every text field is the element's text with surrounding blanks removed, ``None`` when the
element is absent or empty. Values that the schema types (integers, decimals, dates) are
converted; a value that cannot be read becomes ``None`` and is reported in
:attr:`ReturnDocument.warnings` rather than failing the whole file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

#: The namespace of every return file's root element.
GIPMDS_NS = "http://www.gip-mds.fr/"

#: The platform writes local French times without a zone.
PARIS = ZoneInfo("Europe/Paris")

BLOCKING = "bloquant"
NON_BLOCKING = "non-bloquant"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rubrique:
    """A DSN rubrique quoted by an anomaly (``rubrique_declenchante`` / ``_associee``)."""

    identifier: str | None = None  #: e.g. ``S21.G00.30.010``
    label: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Contract:
    """An employment contract as a return quotes it (S21.G00.40)."""

    start_date: str | None = None  #: as written (``JJMMAAAA`` in the samples)
    number: str | None = None
    nature: str | None = None
    status: str | None = None  #: statut conventionnel
    job_label: str | None = None
    sickness_regime: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Employee:
    """An employee (``salarie``), in a CRM's results or in an anomaly's context.

    In a CRM nominatif, ``rate`` is the PAS rate to apply (``None``: no rate was sent, the
    default scale applies) and ``future_rate`` / ``future_rate_date`` a rate announced for later.
    """

    nir: str | None = None
    ntt: str | None = None  #: temporary number when there is no NIR
    family_name: str | None = None
    usage_name: str | None = None
    first_names: str | None = None
    sex: str | None = None
    birth_date: str | None = None  #: as written (``JJMMAAAA``)
    birth_place: str | None = None
    country_code: str | None = None
    matricule: str | None = None
    rank: int | None = None
    rate: Decimal | None = None
    future_rate: Decimal | None = None
    future_rate_date: date | None = None
    origin: str | None = None  #: DSN, PASRAU or SNGI (anomaly context only)

    @property
    def identifier(self) -> str | None:
        """NIR, or NTT when there is no NIR."""
        return self.nir or self.ntt


@dataclass(frozen=True, slots=True, kw_only=True)
class Anomaly:
    """One anomaly: what is wrong, how serious, where (line, rubrique, value)."""

    code: str | None = None
    category: str | None = None  #: ``bloquant`` or ``non-bloquant`` (may be absent)
    message: str | None = None  #: French text of the organism, blanks collapsed
    line: int | None = None  #: line of the DSN text file
    count: int | None = None  #: identical anomalies in the file
    rubrique: str | None = None  #: identifier of the triggering rubrique
    label: str | None = None  #: label of the triggering rubrique
    value: str | None = None  #: value of the triggering rubrique
    related: tuple[Rubrique, ...] = ()  #: associated rubriques
    employees: tuple[Employee, ...] = ()  #: context: the employee(s) concerned
    contract: Contract | None = None  #: context: the contract concerned
    level: str = "declaration"  #: ``envoi`` or ``declaration``

    @property
    def blocking(self) -> bool:
        return self.category == BLOCKING


@dataclass(frozen=True, slots=True, kw_only=True)
class Counter:
    """Number of anomalies of one category (``envoi_compteurs`` / ``declaration_compteurs``)."""

    category: str | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Envoi:
    """The physical file the platform received, and its overall result."""

    idflux: str | None = None
    declarant_siret: str | None = None
    declarant_last_name: str | None = None
    declarant_first_name: str | None = None
    file_name: str | None = None  #: ``identifiant`` (``MtoM`` for API deposits)
    archive_name: str | None = None
    norme_version: str | None = None
    deposit_point: str | None = None
    send_type: str | None = None
    test_or_real: str | None = None  #: ``01`` test, ``02`` real
    emitter_siret: str | None = None
    emitter_name: str | None = None
    software_name: str | None = None
    software_editor: str | None = None
    software_version: str | None = None
    conformity_code: str | None = None
    reception_date: date | None = None
    reception_time: time | None = None
    registration_date: date | None = None
    registration_time: time | None = None
    state: str | None = None  #: ``OK``, ``KO`` or ``ANO``
    declarations_count: int | None = None
    employees_count: int | None = None
    non_employees_count: int | None = None
    counters: tuple[Counter, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()

    @property
    def received_at(self) -> datetime | None:
        """Reception time on the platform, Paris time."""
        return _at(self.reception_date, self.reception_time)

    @property
    def registered_at(self) -> datetime | None:
        """Electronic registration time (AEE), Paris time."""
        return _at(self.registration_date, self.registration_time)

    @property
    def is_test(self) -> bool | None:
        return {"01": True, "02": False}.get(self.test_or_real or "")


def _at(day: date | None, moment: time | None) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, moment or time(0), tzinfo=PARIS)


@dataclass(frozen=True, slots=True, kw_only=True)
class Declaration:
    """The result for one declaration of the envoi."""

    rank: int | None = None
    nature: str | None = None
    type: str | None = None
    fraction: str | None = None
    order: str | None = None
    month: str | None = None  #: S20.G00.05.005 as written
    business_id: str | None = None  #: ``identifiant_metier``
    cancelled_id: str | None = None
    siren: str | None = None
    nic_head_office: str | None = None
    nic: str | None = None  #: ``nic_affectation``
    state: str | None = None  #: ``OK``, ``KO`` or ``ANO``
    employees_count: int | None = None
    non_employees_count: int | None = None
    contracts_count: int | None = None
    counters: tuple[Counter, ...] = ()
    conformity_state: str | None = None
    conformity_certificate: str | None = None
    employees: tuple[Employee, ...] = ()
    contracts: tuple[Contract, ...] = ()
    main_month: str | None = None  #: ``mois`` at the end of ``declaration_bilan``
    anomalies: tuple[Anomaly, ...] = ()

    @property
    def siret(self) -> str | None:
        if self.siren and self.nic:
            return self.siren + self.nic
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnDocument:
    """Any return file. Use the subclass properties for what each nature means."""

    kind: ClassVar[str] = "return"

    type: str | None = None  #: the root's ``type`` attribute (``AEE``, ``CRM nominatif``…)
    nature: int | None = None  #: return nature (10, 11, 94…), when known
    profil: str | None = None
    version: str | None = None
    identifier: str | None = None  #: the root's ``identifiant`` (CRM 94: the CRM id)
    message: str | None = None  #: the root's ``message`` attribute
    envoi: Envoi = field(default_factory=Envoi)
    declarations: tuple[Declaration, ...] = ()
    #: Values that could not be read (French), never fatal.
    warnings: tuple[str, ...] = ()

    @property
    def idflux(self) -> str | None:
        return self.envoi.idflux

    @property
    def state(self) -> str | None:
        """The envoi's state (``OK``, ``KO``, ``ANO``)."""
        return self.envoi.state

    @property
    def anomalies(self) -> tuple[Anomaly, ...]:
        """Every anomaly, envoi level first, then each declaration's."""
        found = list(self.envoi.anomalies)
        for declaration in self.declarations:
            found.extend(declaration.anomalies)
        return tuple(found)

    @property
    def blocking(self) -> bool:
        return any(a.blocking for a in self.anomalies)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: decimals and dates as strings, with the document's kind."""
        data: dict[str, Any] = {"kind": self.kind, **self._summary()}
        data.update(_jsonable(self))
        return data

    def _summary(self) -> dict[str, Any]:
        """What scripts look at first, before the full structure."""
        return {
            "idflux": self.idflux,
            "state": self.state,
            "blocking": self.blocking,
            "anomalies_count": len(self.anomalies),
        }


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _jsonable(value: Any) -> Any:
    """Models to dicts, tuples to lists, decimals and dates to strings.

    Not ``dataclasses.asdict``, which deep-copies every value: three times slower on a CRM of
    100,000 employees.
    """
    if value is None or isinstance(value, str | int):
        return value
    cls = type(value)
    names = _FIELD_NAMES.get(cls)
    if names is None and dataclasses.is_dataclass(cls):
        names = _FIELD_NAMES.setdefault(cls, tuple(f.name for f in dataclasses.fields(cls)))
    if names is not None:
        return {name: _jsonable(getattr(value, name)) for name in names}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | time):
        return value.isoformat()
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class DepositReport(ReturnDocument):
    """AEE (deposit accepted) or ARE (deposit rejected), nature 10."""

    kind: ClassVar[str] = "deposit"

    @property
    def accepted(self) -> bool:
        kind = (self.type or "").upper()
        if kind in {"AEE", "ARE"}:
            return kind == "AEE" and self.state != "KO"
        return self.state == "OK"

    @property
    def received_at(self) -> datetime | None:
        return self.envoi.received_at

    def _summary(self) -> dict[str, Any]:
        received = self.received_at
        return {
            **ReturnDocument._summary(self),
            "accepted": self.accepted,
            "received_at": received.isoformat() if received else None,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ConformityReport(ReturnDocument):
    """CCO (certificate of conformity) or BAN (bilan d'anomalies), nature 11."""

    kind: ClassVar[str] = "conformity"

    @property
    def conform(self) -> bool:
        """Every declaration conform, and the envoi not rejected."""
        if self.state == "KO":
            return False
        states = [d.conformity_state or d.state for d in self.declarations]
        return all(s == "OK" for s in states)

    @property
    def counters(self) -> tuple[Counter, ...]:
        """Envoi counters first, then each declaration's."""
        found = list(self.envoi.counters)
        for declaration in self.declarations:
            found.extend(declaration.counters)
        return tuple(found)

    def _summary(self) -> dict[str, Any]:
        return {**ReturnDocument._summary(self), "conform": self.conform}


@dataclass(frozen=True, slots=True, kw_only=True)
class PasRateReport(ReturnDocument):
    """The DGFiP CRM nominatif (nature 94): each employee's withholding-tax rate.

    :attr:`identifier` (up to 18 digits) is what the next DSN reports in ``S21.G00.50.008``.
    """

    kind: ClassVar[str] = "pas_rates"

    @property
    def employees(self) -> tuple[Employee, ...]:
        """Every employee of every declaration, in file order."""
        return tuple(e for d in self.declarations for e in d.employees)

    @property
    def siren(self) -> str | None:
        return self.declarations[0].siren if self.declarations else None

    @property
    def nic(self) -> str | None:
        return self.declarations[0].nic if self.declarations else None

    def _summary(self) -> dict[str, Any]:
        employees = self.employees
        return {
            **ReturnDocument._summary(self),
            "employees_count": len(employees),
            "without_rate_count": sum(e.rate is None for e in employees),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericReport(ReturnDocument):
    """Any other return (CRM URSSAF, DGFiP financier, inter-declaration checks, SADV…)."""

    kind: ClassVar[str] = "generic"
