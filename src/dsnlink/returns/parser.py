"""From a ``rapport`` XML tree to the models of :mod:`dsnlink.returns.model`.

Namespace-aware whatever the prefix: the root must be ``rapport`` in the GIP-MDS namespace
(a root without namespace is accepted too). Its descendants are unqualified in the official
schema; a producer that puts them in the GIP-MDS namespace still parses, and an element of
any other namespace is skipped like any unknown element.
Unknown elements are skipped, missing ones give ``None``, unreadable values a warning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from lxml import etree

from dsnlink.errors import ReturnParseError
from dsnlink.returns import model
from dsnlink.returns.model import (
    Anomaly,
    Contract,
    Counter,
    Declaration,
    Employee,
    Envoi,
    ReturnDocument,
    Rubrique,
)
from dsnlink.returns.values import (
    NAMESPACES,
    ValueReader,
    collapsed,
    is_integer,
    local_name,
    text,
)

#: Return nature by the root's ``type`` attribute, for types that are not a number.
TYPE_NATURES = {
    "AEE": 10,
    "ARE": 10,
    "CCO": 11,
    "BAN": 11,
    "CRM NOMINATIF": 94,
    "CRM FINANCIER": 93,
    "CRACOSS": 61,
}

_KINDS: dict[int, type[ReturnDocument]] = {
    10: model.DepositReport,
    11: model.ConformityReport,
    94: model.PasRateReport,
}

# Simple text children: XML local name -> model field.
_DECLARANT = {
    "siret": "declarant_siret",
    "nom": "declarant_last_name",
    "prenom": "declarant_first_name",
}
_ENVOI_ID = {
    "idflux": "idflux",
    "identifiant_archive": "archive_name",
    "identifiant": "file_name",
    "version_norme": "norme_version",
    "point_de_depot": "deposit_point",
    "type_envoi": "send_type",
    "essai_reel": "test_or_real",
    "emetteur_siret": "emitter_siret",
    "raison_sociale": "emitter_name",
    "nom_logiciel": "software_name",
    "editeur_logiciel": "software_editor",
    "version_logiciel": "software_version",
    "code_conformite": "conformity_code",
}
_DECLARATION_ID = {
    "nature": "nature",
    "type": "type",
    "fraction": "fraction",
    "ordre": "order",
    "mois": "month",
    "identifiant_metier": "business_id",
    "id_annulation": "cancelled_id",
    "SIREN": "siren",
    "nic_siege": "nic_head_office",
    "nic_affectation": "nic",
}
_EMPLOYEE = {
    "NIR": "nir",
    "NTT": "ntt",
    "nom_famille": "family_name",
    "nom_usage": "usage_name",
    "prenoms": "first_names",
    "sexe": "sex",
    "date_naissance": "birth_date",
    "lieu_naissance": "birth_place",
    "code_pays": "country_code",
    "matricule": "matricule",
}
_CONTRACT = {
    "date_debut_contrat": "start_date",
    "num_contrat": "number",
    "nature_contrat": "nature",
    "statut_conventionnel_contrat": "status",
    "libelle_emploi_contrat": "job_label",
    "code_regime_maladie_contrat": "sickness_regime",
}
_COUNTS = {
    "declarations": "declarations_count",
    "salaries": "employees_count",
    "individus_non_salaries": "non_employees_count",
    "contrats": "contracts_count",
}
_RUBRIQUE = {"identifiant": "identifier", "libelle": "label", "valeur": "value"}


def nature_of_type(type_: str | None) -> int | None:
    """The return nature a ``type`` attribute stands for (``None`` when unknown)."""
    if not type_:
        return None
    name = type_.strip()
    if is_integer(name) and len(name) <= 4:
        return int(name)
    return TYPE_NATURES.get(" ".join(name.upper().split()))


def _by_tag(table: dict[str, str]) -> dict[str, str]:
    """``table`` keyed by tag as lxml gives it: unqualified, or in the GIP-MDS namespace."""
    keyed = dict(table)
    for namespace in NAMESPACES:
        keyed.update({f"{{{namespace}}}{name}": attr for name, attr in table.items()})
    return keyed


# The employee is the hot path (a CRM lists every employee): one dict lookup per child, from
# tag straight to the field's position; then the frozen instance is filled through its slots,
# which costs half of what its generated __init__ does (object.__setattr__ per field).
_EMPLOYEE_FIELDS = tuple(f.name for f in dataclasses.fields(Employee))
_EMPLOYEE_TAGS = _by_tag(
    {**_EMPLOYEE, "rang": "rank", "taux_imposition_PAS": "rate", "future_imposition_PAS": ""}
)
_EMPLOYEE_INDEX = {
    tag: (_EMPLOYEE_FIELDS.index(attr) if attr else -1) for tag, attr in _EMPLOYEE_TAGS.items()
}
_RATE, _RANK = _EMPLOYEE_FIELDS.index("rate"), _EMPLOYEE_FIELDS.index("rank")
_FUTURE_RATE = _EMPLOYEE_FIELDS.index("future_rate")
_FUTURE_DATE = _EMPLOYEE_FIELDS.index("future_rate_date")
_ORIGIN = _EMPLOYEE_FIELDS.index("origin")
_EMPLOYEE_EMPTY = (None,) * len(_EMPLOYEE_FIELDS)
_SALARIE = frozenset(_by_tag({"salarie": ""}))

# One setter per slot, in field order. _new_employee calls them one by one: a loop over them
# costs about half as much again.
(
    _set_nir,
    _set_ntt,
    _set_family_name,
    _set_usage_name,
    _set_first_names,
    _set_sex,
    _set_birth_date,
    _set_birth_place,
    _set_country_code,
    _set_matricule,
    _set_rank,
    _set_rate,
    _set_future_rate,
    _set_future_rate_date,
    _set_origin,
) = (getattr(Employee, name).__set__ for name in _EMPLOYEE_FIELDS)


def _new_employee(v: list[Any]) -> Employee:
    """``Employee(**dict(zip(fields, v)))``, without the frozen __init__'s cost."""
    e: Employee = object.__new__(Employee)
    _set_nir(e, v[0])
    _set_ntt(e, v[1])
    _set_family_name(e, v[2])
    _set_usage_name(e, v[3])
    _set_first_names(e, v[4])
    _set_sex(e, v[5])
    _set_birth_date(e, v[6])
    _set_birth_place(e, v[7])
    _set_country_code(e, v[8])
    _set_matricule(e, v[9])
    _set_rank(e, v[10])
    _set_rate(e, v[11])
    _set_future_rate(e, v[12])
    _set_future_rate_date(e, v[13])
    _set_origin(e, v[14])
    return e


# The unrolled order above must stay the dataclass's field order.
if (
    tuple(  # pragma: no cover - every test imports this module
        name.removeprefix("_set_")
        for name in _new_employee.__code__.co_names
        if name.startswith("_set_")
    )
    != _EMPLOYEE_FIELDS
):
    raise RuntimeError("Employee fields changed: update _new_employee")


class Reader(ValueReader):
    """Walks one document, block by block."""

    # -- blocks --------------------------------------------------------------------------

    def fields(
        self,
        element: etree._Element,
        table: dict[str, str],
        special: Callable[[str, etree._Element, dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Keyword arguments for a model: text children by ``table``, others to ``special``."""
        values: dict[str, Any] = {}
        for child in element:
            name = local_name(child)
            if name is None:
                continue
            attr = table.get(name)
            if attr is not None:
                values[attr] = text(child)
            elif special is not None:
                special(name, child, values)
        return values

    def rubrique(self, element: etree._Element) -> Rubrique:
        return Rubrique(**self.fields(element, _RUBRIQUE))

    def contract(self, element: etree._Element) -> Contract:
        return Contract(**self.fields(element, _CONTRACT))

    def employee(self, element: etree._Element) -> Employee:
        values: list[Any] = list(_EMPLOYEE_EMPTY)
        for child in element:
            index = _EMPLOYEE_INDEX.get(child.tag)
            if index is None:
                continue
            if index < 0:
                self._future_rate(child, values)
                continue
            raw = child.text
            values[index] = raw.strip() or None if raw is not None else None
        if values[_RATE] is not None:
            values[_RATE] = self.decimal_text(values[_RATE], "taux_imposition_PAS")
        if values[_RANK] is not None:
            values[_RANK] = self.integer_text(values[_RANK], "rang")
        origin = element.get("origine")
        if origin:
            values[_ORIGIN] = origin.strip() or None
        return _new_employee(values)

    def _future_rate(self, element: etree._Element, values: list[Any]) -> None:
        for part in element:
            part_name = local_name(part)
            if part_name == "taux":
                values[_FUTURE_RATE] = self.decimal(part, "future_imposition_PAS/taux")
            elif part_name == "date_effet":
                values[_FUTURE_DATE] = self.day(part, "future_imposition_PAS/date_effet")

    def anomaly(self, element: etree._Element, level: str) -> Anomaly:
        values: dict[str, Any] = {"level": level}
        related: list[Rubrique] = []
        employees: list[Employee] = []
        for child in element:
            name = local_name(child)
            if name == "description":
                for part in child:
                    part_name = local_name(part)
                    if part_name == "code":
                        values["code"] = text(part)
                    elif part_name == "categorie":
                        values["category"] = text(part)
                    elif part_name == "message":
                        values["message"] = collapsed(part)
                    elif part_name == "numero_ligne":
                        values["line"] = self.integer(part, "numero_ligne")
                    elif part_name == "nombre":
                        values["count"] = self.integer(part, "nombre")
            elif name == "valeurs":
                for part in child:
                    part_name = local_name(part)
                    if part_name == "rubrique_declenchante":
                        trigger = self.rubrique(part)
                        values["rubrique"] = trigger.identifier
                        values["label"] = trigger.label
                        values["value"] = trigger.value
                    elif part_name == "rubrique_associee":
                        related.append(self.rubrique(part))
            elif name == "environnement":
                for part in child:
                    part_name = local_name(part)
                    if part_name == "salarie":
                        employees.append(self.employee(part))
                    elif part_name == "contrat":
                        values["contract"] = self.contract(part)
        return Anomaly(related=tuple(related), employees=tuple(employees), **values)

    def counter(self, element: etree._Element) -> Counter:
        values: dict[str, Any] = {}
        for child in element:
            name = local_name(child)
            if name in {"categorie", "envoi_categorie"}:
                values["category"] = text(child)
            elif name == "nombre":
                values["count"] = self.integer(child, "nombre")
        return Counter(**values)

    def envoi(self, element: etree._Element) -> Envoi:
        values: dict[str, Any] = {}
        counters: list[Counter] = []
        anomalies: list[Anomaly] = []
        for child in element:
            name = local_name(child)
            if name in {"envoi_identification", "bordereau_identification"}:
                values.update(self.fields(child, _ENVOI_ID, self._envoi_special))
            elif name == "envoi_bilan":
                for part in child:
                    part_name = local_name(part)
                    if part_name == "envoi_etat":
                        values["state"] = text(part)
                    elif part_name == "envoi_contenu":
                        values.update(self._counts(part, "declarations", "salaries"))
                    elif part_name == "envoi_compteurs":
                        counters.append(self.counter(part))
            elif name == "envoi_anomalie":
                anomalies.append(self.anomaly(child, "envoi"))
        return Envoi(counters=tuple(counters), anomalies=tuple(anomalies), **values)

    def _envoi_special(self, name: str, child: etree._Element, values: dict[str, Any]) -> None:
        if name == "declarant":
            values.update(self.fields(child, _DECLARANT))
        elif name == "date_reception":
            values["reception_date"] = self.day(child, name)
        elif name == "heure_reception":
            values["reception_time"] = self.moment(child, name)
        elif name == "date_enregistrement":
            values["registration_date"] = self.day(child, name)
        elif name == "heure_enregistrement":
            values["registration_time"] = self.moment(child, name)

    def _counts(self, element: etree._Element, *names: str) -> dict[str, int | None]:
        """``envoi_contenu`` / ``declaration_contenu``: the counts ``names`` allows."""
        values: dict[str, int | None] = {}
        for child in element:
            name = local_name(child)
            if name is not None and (name in names or name == "individus_non_salaries"):
                values[_COUNTS[name]] = self.integer(child, name)
        return values

    def declaration(self, element: etree._Element) -> Declaration:
        values: dict[str, Any] = {}
        anomalies: list[Anomaly] = []
        for child in element:
            name = local_name(child)
            if name == "declaration_identification":
                values.update(self.fields(child, _DECLARATION_ID, self._rank))
            elif name == "declaration_bilan":
                values.update(self._declaration_result(child))
            elif name == "declaration_anomalie":
                anomalies.append(self.anomaly(child, "declaration"))
        return Declaration(anomalies=tuple(anomalies), **values)

    def _rank(self, name: str, child: etree._Element, values: dict[str, Any]) -> None:
        if name == "rang":
            values["rank"] = self.integer(child, name)

    def _declaration_result(self, element: etree._Element) -> dict[str, Any]:
        values: dict[str, Any] = {}
        counters: list[Counter] = []
        employees: list[Employee] = []
        contracts: list[Contract] = []
        for child in element:
            if child.tag in _SALARIE:  # before anything else: there are thousands
                employees.append(self.employee(child))
                continue
            name = local_name(child)
            if name == "etat":
                values["state"] = text(child)
            elif name == "declaration_contenu":
                values.update(self._counts(child, "salaries", "contrats"))
            elif name == "declaration_compteurs":
                counters.append(self.counter(child))
            elif name == "niveau_conformite":
                for part in child:
                    part_name = local_name(part)
                    if part_name == "etat_conformite":
                        values["conformity_state"] = text(part)
                    elif part_name == "certificat_conformite":
                        values["conformity_certificate"] = collapsed(part)
            elif name == "contrat":
                contracts.append(self.contract(child))
            elif name == "mois":
                values["main_month"] = text(child)
        values.update(
            counters=tuple(counters), employees=tuple(employees), contracts=tuple(contracts)
        )
        return values


def read_document(root: etree._Element, *, nature: int | None = None) -> ReturnDocument:
    """Build the model of a parsed ``rapport``; ``nature`` (from a listing) wins over ``type``."""
    tag = root.tag if isinstance(root.tag, str) else ""
    if local_name(root) != "rapport":
        raise ReturnParseError(
            f"Ce fichier XML n'est pas un fichier retour Net-entreprises (élément racine "
            f"« {tag[:80]} » au lieu de « rapport »).",
            remedy="Vérifiez que vous avez choisi le bon fichier.",
            root=tag[:80],
        )
    reader = Reader()
    envoi = Envoi()
    declarations: list[Declaration] = []
    for child in root:
        name = local_name(child)
        if name in {"envoi", "bordereau"}:
            envoi = reader.envoi(child)
        elif name == "declaration":
            declarations.append(reader.declaration(child))
    type_ = _attribute(root, "type")
    if nature is None:
        nature = nature_of_type(type_)
    identifier = _attribute(root, "identifiant")
    if identifier is not None and not (identifier.isascii() and identifier.isdigit()):
        reader.warnings.append(
            f"L'identifiant du compte rendu « {identifier[:40]} » n'est pas numérique."
        )
    cls = _KINDS.get(nature or -1, model.GenericReport)
    return cls(
        type=type_,
        nature=nature,
        profil=_attribute(root, "profil"),
        version=_attribute(root, "version"),
        identifier=identifier,
        message=_attribute(root, "message"),
        envoi=envoi,
        declarations=tuple(declarations),
        warnings=tuple(reader.warnings),
    )


def _attribute(element: etree._Element, name: str) -> str | None:
    value = element.get(name)
    if value is None:
        return None
    return " ".join(value.split()) or None
