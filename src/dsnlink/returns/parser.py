"""From a ``rapport`` XML tree to the models of :mod:`dsnlink.returns.model`.

Namespace-aware whatever the prefix: the root must be ``rapport`` in the GIP-MDS namespace
(a root without namespace is accepted too). Its descendants are unqualified in the official
schema; they are matched by local name, so a producer that qualifies them still parses.
Unknown elements are skipped, missing ones give ``None``, unreadable values a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time
from decimal import Decimal
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

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})")

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
    text = type_.strip()
    if _INTEGER.fullmatch(text) and len(text) <= 4:
        return int(text)
    return TYPE_NATURES.get(" ".join(text.upper().split()))


def _name(element: etree._Element) -> str | None:
    tag = element.tag
    if not isinstance(tag, str):
        return None  # comment, processing instruction
    return tag[tag.rfind("}") + 1 :]


def _text(element: etree._Element) -> str | None:
    text = element.text
    if text is None:
        return None
    return text.strip() or None


def _collapsed(element: etree._Element) -> str | None:
    text = element.text
    return " ".join(text.split()) or None if text else None


class Reader:
    """Walks one document; collects warnings instead of failing on a bad value."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    # -- values --------------------------------------------------------------------------

    def _bad(self, name: str, text: str) -> None:
        shown = text if len(text) <= 40 else text[:40] + "…"
        self.warnings.append(f"Valeur illisible pour « {name} » : « {shown} » (ignorée).")

    def integer(self, element: etree._Element, name: str) -> int | None:
        text = _text(element)
        if text is None:
            return None
        if _INTEGER.fullmatch(text) and len(text) <= 18:
            return int(text)
        self._bad(name, text)
        return None

    def decimal(self, element: etree._Element, name: str) -> Decimal | None:
        text = _text(element)
        if text is None:
            return None
        if _DECIMAL.fullmatch(text) and len(text) <= 32:
            return Decimal(text)
        self._bad(name, text)
        return None

    def day(self, element: etree._Element, name: str) -> date | None:
        return self.day_text(_text(element), name)

    def day_text(self, text: str | None, name: str) -> date | None:
        if text is None:
            return None
        match = _DATE.match(text)  # a time zone suffix, allowed by xs:date, is ignored
        if match:
            try:
                year, month, day = (int(g) for g in match.groups())
                return date(year, month, day)
            except ValueError:
                pass
        self._bad(name, text)
        return None

    def moment(self, element: etree._Element, name: str) -> time | None:
        return self.time_text(_text(element), name)

    def time_text(self, text: str | None, name: str) -> time | None:
        if text is None:
            return None
        match = _TIME.match(text)
        if match:
            try:
                hour, minute, second = (int(g) for g in match.groups())
                return time(hour, minute, second)
            except ValueError:
                pass
        self._bad(name, text)
        return None

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
            name = _name(child)
            if name is None:
                continue
            attr = table.get(name)
            if attr is not None:
                values[attr] = _text(child)
            elif special is not None:
                special(name, child, values)
        return values

    def rubrique(self, element: etree._Element) -> Rubrique:
        return Rubrique(**self.fields(element, _RUBRIQUE))

    def contract(self, element: etree._Element) -> Contract:
        return Contract(**self.fields(element, _CONTRACT))

    def employee(self, element: etree._Element) -> Employee:
        values = self.fields(element, _EMPLOYEE, self._employee_special)
        origin = element.get("origine")
        if origin:
            values["origin"] = origin.strip() or None
        return Employee(**values)

    def _employee_special(self, name: str, child: etree._Element, values: dict[str, Any]) -> None:
        if name == "taux_imposition_PAS":
            values["rate"] = self.decimal(child, name)
        elif name == "rang":
            values["rank"] = self.integer(child, name)
        elif name == "future_imposition_PAS":
            for part in child:
                part_name = _name(part)
                if part_name == "taux":
                    values["future_rate"] = self.decimal(part, "future_imposition_PAS/taux")
                elif part_name == "date_effet":
                    values["future_rate_date"] = self.day(part, "future_imposition_PAS/date_effet")

    def anomaly(self, element: etree._Element, level: str) -> Anomaly:
        values: dict[str, Any] = {"level": level}
        related: list[Rubrique] = []
        employees: list[Employee] = []
        for child in element:
            name = _name(child)
            if name == "description":
                for part in child:
                    part_name = _name(part)
                    if part_name == "code":
                        values["code"] = _text(part)
                    elif part_name == "categorie":
                        values["category"] = _text(part)
                    elif part_name == "message":
                        values["message"] = _collapsed(part)
                    elif part_name == "numero_ligne":
                        values["line"] = self.integer(part, "numero_ligne")
                    elif part_name == "nombre":
                        values["count"] = self.integer(part, "nombre")
            elif name == "valeurs":
                for part in child:
                    part_name = _name(part)
                    if part_name == "rubrique_declenchante":
                        trigger = self.rubrique(part)
                        values["rubrique"] = trigger.identifier
                        values["label"] = trigger.label
                        values["value"] = trigger.value
                    elif part_name == "rubrique_associee":
                        related.append(self.rubrique(part))
            elif name == "environnement":
                for part in child:
                    part_name = _name(part)
                    if part_name == "salarie":
                        employees.append(self.employee(part))
                    elif part_name == "contrat":
                        values["contract"] = self.contract(part)
        return Anomaly(related=tuple(related), employees=tuple(employees), **values)

    def counter(self, element: etree._Element) -> Counter:
        values: dict[str, Any] = {}
        for child in element:
            name = _name(child)
            if name in {"categorie", "envoi_categorie"}:
                values["category"] = _text(child)
            elif name == "nombre":
                values["count"] = self.integer(child, "nombre")
        return Counter(**values)

    def envoi(self, element: etree._Element) -> Envoi:
        values: dict[str, Any] = {}
        counters: list[Counter] = []
        anomalies: list[Anomaly] = []
        for child in element:
            name = _name(child)
            if name in {"envoi_identification", "bordereau_identification"}:
                values.update(self.fields(child, _ENVOI_ID, self._envoi_special))
            elif name == "envoi_bilan":
                for part in child:
                    part_name = _name(part)
                    if part_name == "envoi_etat":
                        values["state"] = _text(part)
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
            name = _name(child)
            if name is not None and (name in names or name == "individus_non_salaries"):
                values[_COUNTS[name]] = self.integer(child, name)
        return values

    def declaration(self, element: etree._Element) -> Declaration:
        values: dict[str, Any] = {}
        anomalies: list[Anomaly] = []
        for child in element:
            name = _name(child)
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
            name = _name(child)
            if name == "salarie":
                employees.append(self.employee(child))
            elif name == "etat":
                values["state"] = _text(child)
            elif name == "declaration_contenu":
                values.update(self._counts(child, "salaries", "contrats"))
            elif name == "declaration_compteurs":
                counters.append(self.counter(child))
            elif name == "niveau_conformite":
                for part in child:
                    part_name = _name(part)
                    if part_name == "etat_conformite":
                        values["conformity_state"] = _text(part)
                    elif part_name == "certificat_conformite":
                        values["conformity_certificate"] = _collapsed(part)
            elif name == "contrat":
                contracts.append(self.contract(child))
            elif name == "mois":
                values["main_month"] = _text(child)
        values.update(
            counters=tuple(counters), employees=tuple(employees), contracts=tuple(contracts)
        )
        return values


def read_document(root: etree._Element, *, nature: int | None = None) -> ReturnDocument:
    """Build the model of a parsed ``rapport``; ``nature`` (from a listing) wins over ``type``."""
    tag = root.tag if isinstance(root.tag, str) else ""
    namespace = tag[1 : tag.find("}")] if tag.startswith("{") else ""
    if _name(root) != "rapport" or namespace.rstrip("/") not in {"", model.GIPMDS_NS[:-1]}:
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
        name = _name(child)
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
