"""Realistic monthly DSN files for tests, the simulator, the pipeline and the benchmarks.

``generate_monthly_dsn`` is deterministic for a given ``seed``: the same arguments always give
the same bytes. The files pass dsnlink's own validator; ``fault=`` injects one known defect
(see :data:`FAULTS`, each with the finding code it must produce).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from stdnum import luhn

from dsnlink.errors import InvalidInput
from dsnlink.norme.intset import IntSet, nir_key

#: fault name → (finding code it produces, description in French)
FAULTS: dict[str, tuple[str, str]] = {
    "bad-siret-key": ("key.siret", "clé du SIRET déclaré fausse"),
    "bad-siren-key": ("key.siren", "clé du SIREN de l'entreprise fausse"),
    "bad-nir": ("value.pattern", "NIR au mois de naissance 13"),
    "duplicate-nir": ("nir.duplicate", "deux individus avec le même NIR"),
    "missing-mandatory": ("rubrique.missing", "nom de famille absent (S21.G00.30.002)"),
    "bad-date": ("value.date", "date de versement au 31 février"),
    "bad-amount": ("value.pattern", "montant avec une virgule"),
    "bad-enum": ("value.enum", "nature de contrat inconnue"),
    "empty-value": ("value.empty", "rubrique à valeur vide"),
    "wrong-line-count": ("envoi.line_count", "S90.G00.90.001 faux"),
    "wrong-declaration-count": ("envoi.declaration_count", "S90.G00.90.002 faux"),
    "missing-totals": ("envoi.totals_missing", "bloc S90 absent"),
    "block-order": ("block.order", "versement individu avant le contrat"),
    "orphan-block": ("block.parent_missing", "contrat sans individu"),
    "unknown-rubrique": ("rubrique.unknown", "rubrique S21.G00.30.099"),
    "malformed-line": ("line.malformed", "apostrophe finale absente"),
    "long-line": ("line.too_long", "ligne de plus de 256 caractères"),
    "utf8": ("file.utf8", "fichier en UTF-8"),
    "not-latin1": ("file.not_latin1", "caractère hors Latin-1 (UTF-8)"),
    "two-declarations": ("envoi.several_declarations", "deux déclarations dans l'envoi"),
}

LAST_NAMES = (
    "MARTIN",
    "BERNARD",
    "DUBOIS",
    "THOMAS",
    "ROBERT",
    "RICHARD",
    "PETIT",
    "DURAND",
    "LEROY",
    "MOREAU",
    "SIMON",
    "LAURENT",
    "LEFÈVRE",
    "MICHEL",
    "GARCIA",
    "DAVID",
    "BERTRAND",
    "ROUX",
    "VINCENT",
    "FOURNIER",
    "MOREL",
    "GIRARD",
    "ANDRÉ",
    "MERCIER",
    "DUPONT",
    "LAMBERT",
    "BONNET",
    "FRANÇOIS",
    "MARTINEZ",
    "D'ALMEIDA",
    "LE GALL",
    "SAINT-CYR",
)
FIRST_NAMES = (
    "Marie",
    "Jean",
    "Nathalie",
    "Pierre",
    "Isabelle",
    "Michel",
    "Sylvie",
    "Philippe",
    "Hélène",
    "Alain",
    "Céline",
    "Éric",
    "Chloé",
    "Loïc",
    "Anaïs",
    "Jérôme",
    "Zoé",
    "François",
    "Inès",
    "Jean-Pierre",
    "Anne-Sophie",
    "Noël",
)
STREETS = ("rue de la Paix", "avenue Jean Jaurès", "boulevard Victor Hugo", "rue d'Hauteville")
TOWNS = (("75010", "PARIS"), ("69003", "LYON"), ("13001", "MARSEILLE"), ("31000", "TOULOUSE"))
JOBS = ("Animateur", "Comptable", "Agent d'accueil", "Educatrice", "Secrétaire", "Cuisinier")


@dataclass(frozen=True)
class _Month:
    year: int
    month: int

    @property
    def first(self) -> str:
        return f"01{self.month:02d}{self.year}"

    @property
    def last(self) -> str:
        nxt = date(self.year + self.month // 12, self.month % 12 + 1, 1)
        days = nxt.toordinal() - date(self.year, self.month, 1).toordinal()
        return f"{days:02d}{self.month:02d}{self.year}"


def make_siren(rng: random.Random) -> str:
    body = f"{rng.randrange(10_000_000, 99_999_999):08d}"
    return body + luhn.calc_check_digit(body)


def make_siret(rng: random.Random, siren: str | None = None) -> str:
    siren = siren or make_siren(rng)
    body = siren + f"{rng.randrange(1, 9999):04d}"
    return body + luhn.calc_check_digit(body)


def _parse_month(month: str) -> _Month:
    try:
        year, mon = (int(p) for p in month.split("-"))
        date(year, mon, 1)
    except ValueError as exc:
        raise InvalidInput(
            f"Mois {month!r} invalide.", remedy="Donnez le mois sous la forme AAAA-MM."
        ) from exc
    return _Month(year, mon)


def _check_siret(siret: str) -> str:
    if len(siret) != 14 or not (siret.isascii() and siret.isdigit()):
        raise InvalidInput(f"SIRET {siret!r} invalide : 14 chiffres attendus.")
    return siret


def generate_monthly_dsn(
    employees: int = 10,
    *,
    siret: str | None = None,
    month: str = "2025-01",
    nature: str = "01",
    declaration_type: str = "01",
    test: bool = True,
    seed: int = 0,
    norme: str = "P25V01",
    emitter_siret: str | None = None,
    fault: str | Sequence[str] | None = None,
    declarations: int = 1,
    newline: str = "\n",
    sequence: int = 1,
) -> bytes:
    """A monthly DSN (one envoi) as ISO-8859-1 bytes (UTF-8 for the ``utf8`` faults).

    ``employees`` individuals (one contract, one payment each) in the establishment ``siret``
    (random with valid keys when None), for ``month`` (``AAAA-MM``); ``test`` chooses
    S10.G00.00.005 ``01`` (test) or ``02`` (real); ``declarations`` > 1 puts several
    establishments in one envoi; ``fault`` injects one or more of :data:`FAULTS`.
    """
    faults = {fault} if isinstance(fault, str) else set(fault or ())
    unknown = faults - FAULTS.keys()
    if unknown:
        raise InvalidInput(
            f"Défaut(s) inconnu(s) : {', '.join(sorted(unknown))}.",
            remedy=f"Défauts possibles : {', '.join(FAULTS)}.",
        )
    if "two-declarations" in faults:
        declarations = max(declarations, 2)
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    period = _parse_month(month)
    siret = _check_siret(siret) if siret else make_siret(rng)
    emitter = _check_siret(emitter_siret) if emitter_siret else siret
    lines: list[str] = []
    empty = nature == "01" and declaration_type in ("02", "05")
    lines += _envoi_header(emitter, test=test, norme=norme, empty=empty)
    for index in range(declarations):
        decl_siret = siret if index == 0 else make_siret(rng, siret[:9])
        lines += _declaration(
            rng, decl_siret, period, nature, declaration_type, employees, faults, sequence
        )
        if norme != "P25V01":  # the 2026 norme dropped the headcounts S21.G00.06.009/11.008
            lines = [ln for ln in lines if not ln.startswith(("S21.G00.06.009", "S21.G00.11.008"))]
    if "missing-totals" not in faults:
        total = len(lines) + 2 + (1 if "wrong-line-count" in faults else 0)
        count = declarations + (1 if "wrong-declaration-count" in faults else 0)
        lines += [f"S90.G00.90.001,'{total}'", f"S90.G00.90.002,'{count}'"]
    if "orphan-block" in faults:
        at = next(i for i, ln in enumerate(lines) if ln.startswith("S21.G00.11.001"))
        lines.insert(at, "S21.G00.40.001,'01012020'")
    text = newline.join(lines) + newline
    if faults & {"utf8", "not-latin1"}:
        if "not-latin1" in faults:
            text = text.replace("S10.G00.01.003,'", "S10.G00.01.003,'€ ", 1)
        return text.encode("utf-8")
    return text.encode("latin-1")


def _envoi_header(emitter: str, *, test: bool, norme: str, empty: bool = False) -> list[str]:
    return [
        "S10.G00.00.001,'dsnlink'",
        "S10.G00.00.002,'dsnlink'",
        "S10.G00.00.003,'1.0'",
        f"S10.G00.00.005,'{'01' if test else '02'}'",
        f"S10.G00.00.006,'{norme}'",
        "S10.G00.00.007,'01'",
        f"S10.G00.00.008,'{'02' if empty else '01'}'",
        f"S10.G00.01.001,'{emitter[:9]}'",
        f"S10.G00.01.002,'{emitter[9:]}'",
        "S10.G00.01.003,'ASSOCIATION LES AMIS DU QUARTIER'",
        "S10.G00.01.004,'12 rue d'Hauteville'",
        "S10.G00.01.005,'75010'",
        "S10.G00.01.006,'PARIS'",
        "S10.G00.02.001,'02'",
        "S10.G00.02.002,'Claire Lefèvre'",
        "S10.G00.02.004,'paie@example.org'",
        "S10.G00.02.005,'0102030405'",
    ]


def _declaration(
    rng: random.Random,
    siret: str,
    period: _Month,
    nature: str,
    decl_type: str,
    employees: int,
    faults: set[str],
    sequence: int,
) -> list[str]:
    siren, nic = siret[:9], siret[9:]
    if "bad-siren-key" in faults:
        siren = siren[:8] + str((int(siren[8]) + 1) % 10)
    if "bad-siret-key" in faults:
        nic = nic[:4] + str((int(nic[4]) + 1) % 10)
    out = [
        f"S20.G00.05.001,'{nature}'",
        f"S20.G00.05.002,'{decl_type}'",
        "S20.G00.05.003,'11'",
        f"S20.G00.05.004,'{sequence}'",
        f"S20.G00.05.005,'{period.first}'",
        f"S20.G00.05.007,'{_file_date(period)}'",
        "S20.G00.05.008,'01'",
        "S20.G00.05.010,'01'",
        "S20.G00.07.001,'Claire Lefèvre'",
        "S20.G00.07.002,'0102030405'",
        "S20.G00.07.003,'paie@example.org'",
        "S20.G00.07.004,'01'",
        f"S21.G00.06.001,'{siren}'",
        f"S21.G00.06.002,'{nic}'",
        "S21.G00.06.003,'9499Z'",
        "S21.G00.06.004,'12 rue d'Hauteville'",
        "S21.G00.06.005,'75010'",
        "S21.G00.06.006,'PARIS'",
        f"S21.G00.06.009,'{employees}'",
        f"S21.G00.11.001,'{nic}'",
        "S21.G00.11.002,'9499Z'",
        "S21.G00.11.003,'12 rue d'Hauteville'",
        "S21.G00.11.004,'75010'",
        "S21.G00.11.005,'PARIS'",
        f"S21.G00.11.008,'{employees}'",
        "S21.G00.11.022,'9999'",
    ]
    nirs: list[str] = []
    used = IntSet()
    for index in range(employees):
        out += _employee(rng, index, period, siret, faults, nirs, used)
    return out


def _file_date(period: _Month) -> str:
    nxt = date(period.year + period.month // 12, period.month % 12 + 1, 3)
    return nxt.strftime("%d%m%Y")


def _nir(rng: random.Random, sex: int, born: date, used: IntSet) -> str:
    while True:
        dept = f"{rng.randrange(1, 96):02d}"
        if dept == "20":
            continue
        place = f"{dept}{rng.randrange(1, 1000):03d}{rng.randrange(1, 1000):03d}"
        nir = f"{sex}{born.year % 100:02d}{born.month:02d}{place}"
        if used.add(nir_key(nir.encode()) or 1):
            return nir


def _employee(
    rng: random.Random,
    index: int,
    period: _Month,
    siret: str,
    faults: set[str],
    nirs: list[str],
    used: IntSet,
) -> list[str]:
    sex = rng.choice((1, 2))
    born = date(rng.randrange(1960, 2004), rng.randrange(1, 13), rng.randrange(1, 29))
    nir = _nir(rng, sex, born, used)
    if index == 1 and "duplicate-nir" in faults:
        nir = nirs[0]
    if index == 0 and "bad-nir" in faults:
        nir = nir[:3] + "13" + nir[5:]
    nirs.append(nir)
    postcode, town = rng.choice(TOWNS)
    contract = f"C{index + 1:05d}"
    gross = rng.randrange(1_200_00, 4_500_00)
    rate = rng.choice((0, 150, 290, 470, 750, 1130, 1400))
    taxable = gross * 78 // 100
    pas = taxable * rate // 10_000
    net = taxable - pas
    first, last = period.first, period.last
    pay_date = "31022025" if (index == 0 and "bad-date" in faults) else last
    person = [
        f"S21.G00.30.001,'{nir}'",
        f"S21.G00.30.002,'{rng.choice(LAST_NAMES)}'",
        f"S21.G00.30.004,'{rng.choice(FIRST_NAMES)}'",
        f"S21.G00.30.006,'{born.strftime('%d%m%Y')}'",
        f"S21.G00.30.007,'{town.title()}'",
        f"S21.G00.30.008,'{rng.randrange(1, 200)} {rng.choice(STREETS)}'",
        f"S21.G00.30.009,'{postcode}'",
        f"S21.G00.30.010,'{town}'",
        "S21.G00.30.013,'01'",
        f"S21.G00.30.014,'{nir[5:7]}'",
        "S21.G00.30.015,'FR'",
        f"S21.G00.30.019,'M{index + 1:06d}'",
    ]
    if index == 0 and "missing-mandatory" in faults:
        del person[1]
    if index == 0 and "unknown-rubrique" in faults:
        person.append("S21.G00.30.099,'X'")
    contract_block = [
        f"S21.G00.40.001,'{date(rng.randrange(2010, 2024), rng.randrange(1, 13), 1):%d%m%Y}'",
        "S21.G00.40.002,'01'",
        f"S21.G00.40.003,'{rng.choice(('01', '02', '04'))}'",
        "S21.G00.40.004,'526a'",
        f"S21.G00.40.006,'{rng.choice(JOBS)}'",
        f"S21.G00.40.007,'{'99' if index == 0 and 'bad-enum' in faults else '01'}'",
        "S21.G00.40.008,'99'",
        f"S21.G00.40.009,'{contract}'",
        "S21.G00.40.011,'10'",
        "S21.G00.40.012,'151.67'",
        "S21.G00.40.013,'151.67'",
        "S21.G00.40.014,'10'",
        "S21.G00.40.016,'99'",
        "S21.G00.40.017,'9999'",
        "S21.G00.40.018,'200'",
        f"S21.G00.40.019,'{siret}'",
        "S21.G00.40.020,'200'",
        "S21.G00.40.024,'99'",
        "S21.G00.40.026,'99'",
        "S21.G00.40.036,'03'",
        "S21.G00.40.037,'03'",
        "S21.G00.40.039,'200'",
        "S21.G00.40.040,'853AB'",
        "S21.G00.40.043,'1.10'",
        "S21.G00.71.002,'RETA'",
    ]
    amount = (
        f"{gross // 100},{gross % 100:02d}"
        if index == 0 and "bad-amount" in faults
        else _eur(gross)
    )
    payment = [
        f"S21.G00.50.001,'{pay_date}'",
        f"S21.G00.50.002,'{_eur(taxable)}'",
        f"S21.G00.50.004,'{_eur(net)}'",
        f"S21.G00.50.006,'{rate // 100}.{rate % 100:02d}'",
        "S21.G00.50.007,'01'",
        f"S21.G00.50.008,'{rng.randrange(10**11, 10**12)}'",
        f"S21.G00.50.009,'{_eur(pas)}'",
        f"S21.G00.50.013,'{_eur(taxable)}'",
        f"S21.G00.51.001,'{first}'",
        f"S21.G00.51.002,'{last}'",
        f"S21.G00.51.010,'{contract}'",
        "S21.G00.51.011,'001'",
        f"S21.G00.51.013,'{amount}'",
        f"S21.G00.51.001,'{first}'",
        f"S21.G00.51.002,'{last}'",
        f"S21.G00.51.010,'{contract}'",
        "S21.G00.51.011,'002'",
        "S21.G00.51.012,'151.67'",
        f"S21.G00.51.013,'{_eur(gross)}'",
        "S21.G00.78.001,'03'",
        f"S21.G00.78.002,'{first}'",
        f"S21.G00.78.003,'{last}'",
        f"S21.G00.78.004,'{_eur(gross)}'",
        "S21.G00.81.001,'075'",
        f"S21.G00.81.003,'{_eur(gross)}'",
        f"S21.G00.81.004,'{_eur(gross * 69 // 1000)}'",
        "S21.G00.81.001,'076'",
        f"S21.G00.81.004,'{_eur(gross * 4 // 1000)}'",
    ]
    if index == 0 and "empty-value" in faults:
        payment[1] = "S21.G00.50.002,''"
    if index == 0 and "malformed-line" in faults:
        payment[2] = payment[2][:-1]
    if index == 0 and "long-line" in faults:
        contract_block[4] = "S21.G00.40.006,'" + "Animateur " * 26 + "X'"
    if index == 0 and "block-order" in faults:
        return person + payment + contract_block
    return person + contract_block + payment


def _eur(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def iter_growing_dsn(
    target_bytes: int, *, employees_per_block: int = 1000, seed: int = 0
) -> Iterator[bytes]:
    """Chunks of one monthly DSN of about ``target_bytes`` (benchmarks of very large files).

    The employees are generated ``employees_per_block`` at a time so that producing a 1 GB file
    needs no more memory than producing a small one.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    siret = make_siret(rng)
    period = _Month(2025, 1)
    head = _envoi_header(siret, test=True, norme="P25V01")
    decl = _declaration(rng, siret, period, "01", "01", 0, set(), 1)
    count = len(head) + len(decl)
    yield ("\n".join(head + decl) + "\n").encode("latin-1")
    written, index = 0, 0
    nirs: list[str] = []
    used = IntSet()  # 16 bytes per NIR: a 1 GB file is generated in flat memory too
    while written < target_bytes:
        block: list[str] = []
        for _ in range(employees_per_block):
            block += _employee(rng, index, period, siret, set(), nirs, used)
            index += 1
            if len(nirs) > 1000:
                nirs.clear()
        data = ("\n".join(block) + "\n").encode("latin-1")
        written += len(data)
        count += len(block)
        yield data
    yield f"S90.G00.90.001,'{count + 2}'\nS90.G00.90.002,'1'\n".encode("latin-1")
