"""Per-rubrique hooks of the validator: keys, dates, norme and nature switches, summary.

A hook receives the line number and the raw line (``S..,'value'``); it returns True when it
switched the norme tables, so that the hot loop reloads them. The tables hold hooks unbound
(``Hooks._nir``), called with the validator's ``Hooks`` instance first: one table per norme
version and nature serves every validator of the process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from dsnlink.norme.intset import IntSet, KeySet, nir_key
from dsnlink.norme.norm import RubriqueSpec
from dsnlink.norme.summary import DeclarationSummary, EmployeeSummary, EnvoiSummary
from dsnlink.norme.tables import available_versions

if TYPE_CHECKING:
    from dsnlink.norme.validator import Validator

_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

#: a hook, unbound: ``hook(hooks, lineno, line)``
Hook = Callable[["Hooks", int, bytes], bool]

#: rubriques read only for the employee list of the summary
EMPLOYEE_FIELDS = frozenset(
    {
        "S21.G00.30.002", "S21.G00.30.004", "S21.G00.30.019", "S21.G00.30.020",
        "S21.G00.50.006", "S21.G00.50.007", "S21.G00.50.008", "S21.G00.50.009",
    }
)  # fmt: skip


#: rubrique → name of the Hooks method that reads it
_HOOKS: dict[str, str] = {
    "S10.G00.00.001": "_software",
    "S10.G00.00.005": "_test",
    "S10.G00.00.006": "_norme",
    "S10.G00.00.008": "_envoi_type",
    "S10.G00.01.001": "_emitter_siren",
    "S10.G00.01.002": "_emitter_nic",
    "S20.G00.05.001": "_nature",
    "S20.G00.05.002": "_decl_type",
    "S20.G00.05.003": "_fraction",
    "S20.G00.05.004": "_sequence",
    "S20.G00.05.005": "_month",
    "S20.G00.05.007": "_file_date",
    "S21.G00.06.001": "_siren",
    "S21.G00.11.001": "_nic",
    "S21.G00.30.001": "_nir",
    "S21.G00.30.002": "_last_name",
    "S21.G00.30.004": "_first_names",
    "S21.G00.30.019": "_matricule",
    "S21.G00.30.020": "_ntt",
    "S21.G00.50.006": "_pas_rate",
    "S21.G00.50.007": "_pas_rate_type",
    "S21.G00.50.008": "_crm_id",
    "S21.G00.50.009": "_pas_amount",
    "S90.G00.90.001": "_total_lines",
    "S90.G00.90.002": "_total_declarations",
}


def is_calendar_date(value: str) -> bool:
    """``JJMMAAAA`` is a real date of the calendar."""
    if len(value) != 8 or not value.isdigit() or not value.isascii():
        return False
    day, month, year = int(value[:2]), int(value[2:4]), int(value[4:])
    if not 1 <= month <= 12 or day < 1 or day > _DAYS[month - 1]:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return not (month == 2 and day == 29 and not leap)


def _value(line: bytes) -> str:
    return line[16:-1].decode("latin-1")


class Hooks:
    def __init__(self, validator: Validator, *, employees: bool) -> None:
        self.v = validator
        self.employees = employees
        self.envoi = EnvoiSummary(line=0)
        self.decl = DeclarationSummary(line=0)
        self.decl_line = 0
        self.emp = EmployeeSummary(line=0)
        #: the set of NIR keys of a declaration: ``IntSet``, or the compiled scanner's own
        #: ``KeySet`` (same behaviour) when it walks the file
        self.keyset: Callable[[], KeySet] = IntSet
        self.nirs: KeySet = IntSet()
        self.siren: str | None = None
        self.s90_total: int | None = None
        self.s90_total_line: int | None = None
        self.s90_decls: int | None = None
        self.s90_line: int | None = None

    @staticmethod
    def for_rubrique(spec: RubriqueSpec, employees: bool) -> Hook | None:
        """The hook of a rubrique as a plain function called ``hook(hooks, lineno, line)``:
        unbound, so that the validator's tables can be shared by every validator."""
        if not employees and spec.rid in EMPLOYEE_FIELDS:
            return None  # nobody reads them: one call less per line on very large files
        name = _HOOKS.get(spec.rid)
        return None if name is None else cast("Hook", getattr(Hooks, name))

    # --- lifecycle (called by the structure) ----------------------------------------------------

    def start_envoi(self, lineno: int) -> None:
        self.envoi = EnvoiSummary(line=lineno)
        self.v.summary.envois.append(self.envoi)

    def start_declaration(self, lineno: int) -> None:
        self.decl = DeclarationSummary(line=lineno)
        self.decl_line = lineno
        self.envoi.declarations.append(self.decl)
        self.nirs = self.keyset()
        self.siren = None

    def start_employee(self, lineno: int) -> None:
        self.decl.employee_count += 1
        self.emp = EmployeeSummary(line=lineno)
        if self.employees:
            self.decl.employees.append(self.emp)

    # --- checks -------------------------------------------------------------------------------

    def _check_siren(self, lineno: int, rid: str, value: str) -> None:
        if (
            len(value) == 9
            and value.isascii()
            and value.isdigit()
            and not stdnum_siren.is_valid(value)
        ):
            self.v.add(
                "key.siren",
                f"Le SIREN {value} ({rid}) a une clé de contrôle fausse.",
                line=lineno,
                rubrique=rid,
                value=value,
            )

    def _check_siret(self, lineno: int, rid: str, siren: str | None, nic: str) -> None:
        if not siren:
            return
        if _siret_key_wrong(siren, nic):
            siret = siren + nic
            self.v.add(
                "key.siret",
                f"Le SIRET {siret} (SIREN + NIC {rid}) a une clé de contrôle fausse.",
                line=lineno,
                rubrique=rid,
                value=nic,
            )

    # --- envoi --------------------------------------------------------------------------------

    def _software(self, lineno: int, line: bytes) -> bool:
        self.envoi.software = _value(line)
        return False

    def _test(self, lineno: int, line: bytes) -> bool:
        value = _value(line)
        self.envoi.test = {"01": True, "02": False}.get(value)
        return False

    def _norme(self, lineno: int, line: bytes) -> bool:
        value = _value(line)
        self.envoi.norme = value
        if value not in available_versions():
            self.v.add(
                "envoi.norme_unknown",
                f"La norme {value} n'est pas connue ; le fichier est contrôlé avec la norme "
                f"{self.v.version}.",
                line=lineno,
                rubrique="S10.G00.00.006",
                value=value,
            )
            return False
        return self.v.use_model(version=value)

    def _envoi_type(self, lineno: int, line: bytes) -> bool:
        self.envoi.envoi_type = _value(line)
        return False

    def _emitter_siren(self, lineno: int, line: bytes) -> bool:
        self.envoi.emitter_siren = value = _value(line)
        self._check_siren(lineno, "S10.G00.01.001", value)
        return False

    def _emitter_nic(self, lineno: int, line: bytes) -> bool:
        self.envoi.emitter_nic = value = _value(line)
        self._check_siret(lineno, "S10.G00.01.002", self.envoi.emitter_siren, value)
        return False

    # --- declaration --------------------------------------------------------------------------

    def _nature(self, lineno: int, line: bytes) -> bool:
        self.decl.nature = value = _value(line)
        table_natures = self.v.model.rubriques["S20.G00.05.001"].enum
        if value not in table_natures:
            self.v.add(
                "declaration.nature_unknown",
                f"Nature de déclaration {value!r} inconnue : contrôlée comme une DSN mensuelle.",
                line=lineno,
                rubrique="S20.G00.05.001",
                value=value,
            )
            return self.v.use_model(nature="01")
        return self.v.use_model(nature=value)

    def _decl_type(self, lineno: int, line: bytes) -> bool:
        self.decl.type = _value(line)
        return False

    def _fraction(self, lineno: int, line: bytes) -> bool:
        self.decl.fraction = _value(line)
        return False

    def _sequence(self, lineno: int, line: bytes) -> bool:
        self.decl.sequence = _value(line)
        return False

    def _month(self, lineno: int, line: bytes) -> bool:
        self.decl.month = _value(line)
        return False

    def _file_date(self, lineno: int, line: bytes) -> bool:
        self.decl.file_date = _value(line)
        return False

    def _siren(self, lineno: int, line: bytes) -> bool:
        self.decl.siren = self.siren = value = _value(line)
        self._check_siren(lineno, "S21.G00.06.001", value)
        return False

    def _nic(self, lineno: int, line: bytes) -> bool:
        self.decl.nic = value = _value(line)
        self._check_siret(lineno, "S21.G00.11.001", self.siren, value)
        return False

    # --- employees ----------------------------------------------------------------------------

    def _nir(self, lineno: int, line: bytes) -> bool:
        raw = line[16:-1]
        self.emp.nir = value = raw.decode("latin-1")
        key = nir_key(raw)
        if key is not None and not self.nirs.add(key):
            self.v.add(
                "nir.duplicate",
                "Ce NIR est déjà déclaré pour un autre individu de la déclaration (CCH-14).",
                line=lineno,
                rubrique="S21.G00.30.001",
                value=value,
            )
        return False

    def _last_name(self, lineno: int, line: bytes) -> bool:
        self.emp.last_name = _value(line)
        return False

    def _first_names(self, lineno: int, line: bytes) -> bool:
        self.emp.first_names = _value(line)
        return False

    def _matricule(self, lineno: int, line: bytes) -> bool:
        self.emp.matricule = _value(line)
        return False

    def _ntt(self, lineno: int, line: bytes) -> bool:
        self.emp.ntt = _value(line)
        return False

    def _pas_rate(self, lineno: int, line: bytes) -> bool:
        self.emp.pas_rate = _value(line)
        return False

    def _pas_rate_type(self, lineno: int, line: bytes) -> bool:
        self.emp.pas_rate_type = _value(line)
        return False

    def _crm_id(self, lineno: int, line: bytes) -> bool:
        self.emp.crm_id = _value(line)
        return False

    def _pas_amount(self, lineno: int, line: bytes) -> bool:
        self.emp.pas_amount = _value(line)
        return False

    # --- totals -------------------------------------------------------------------------------

    def _total_lines(self, lineno: int, line: bytes) -> bool:
        value = _value(line)
        self.s90_total = int(value) if value.isdigit() and value.isascii() else None
        self.s90_total_line = lineno
        self.s90_line = lineno
        return False

    def _total_declarations(self, lineno: int, line: bytes) -> bool:
        value = _value(line)
        self.s90_decls = int(value) if value.isdigit() and value.isascii() else None
        self.s90_line = lineno
        return False


#: (SIREN, NIC) → whether the SIRET's key is wrong. A pure function of the values, and
#: python-stdnum costs a noticeable part of a small file's check while the same few
#: establishments come back in every file. Bounded: emptied when full.
_SIRET_VERDICTS: dict[tuple[str, str], bool] = {}
_SIRET_VERDICTS_MAX = 4096


def _siret_key_wrong(siren: str, nic: str) -> bool:
    """True when ``siren`` is a valid SIREN but ``siren + nic`` (14 digits) has a wrong key."""
    key = (siren, nic)
    wrong = _SIRET_VERDICTS.get(key)
    if wrong is None:
        siret = siren + nic
        wrong = (
            len(siren) == 9
            and stdnum_siren.is_valid(siren)
            and len(siret) == 14
            and siret.isascii()
            and siret.isdigit()
            and not stdnum_siret.is_valid(siret)
        )
        if len(_SIRET_VERDICTS) >= _SIRET_VERDICTS_MAX:
            _SIRET_VERDICTS.clear()
        _SIRET_VERDICTS[key] = wrong
    return wrong


#: hooks that only read their own line (and the employee list): a run of employee lines
#: checked once can be replayed by calling them again
REPLAYABLE_HOOKS: frozenset[Hook] = frozenset(
    cast("Hook", getattr(Hooks, name))
    for rid, name in _HOOKS.items()
    if rid == "S21.G00.30.001" or rid in EMPLOYEE_FIELDS
)

#: hooks that only copy their value into the employee of the summary, and the field they fill
FIELD_HOOKS: dict[Hook, str] = {
    cast("Hook", getattr(Hooks, name)): name.lstrip("_")
    for rid, name in _HOOKS.items()
    if rid in EMPLOYEE_FIELDS
}
