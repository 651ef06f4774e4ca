"""From a model back to ``rapport`` XML, in the element order of ``dsn_bilans_v02r03.xsd``.

``parse(render(document))`` gives ``document`` back for every field the models hold, except
what the schema has no place for (the context of an envoi anomaly, an employee's ``origin``
outside an anomaly's context). Elements
the schema requires are written even when the model has no value (empty text), so that a
document built with the required values validates against the official schema. A character
that XML cannot carry (a control character) is written as U+FFFD.
"""

from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal

from lxml import etree

from dsnlink.returns.model import (
    GIPMDS_NS,
    Anomaly,
    Contract,
    Counter,
    Declaration,
    Employee,
    Envoi,
    ReturnDocument,
    Rubrique,
)

_Value = str | int | Decimal | date | time | None

# Characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/FFFF).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    """``text`` with each character XML cannot carry replaced by U+FFFD, as a writer must."""
    return _NOT_XML.sub("\ufffd", text)


def _format(value: _Value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")  # never an exponent: xs:decimal has none
    if isinstance(value, date | time):
        return value.isoformat()
    return _clean(str(value))


def _add(parent: etree._Element, name: str, value: _Value, *, required: bool = False) -> None:
    if value is None and not required:
        return
    etree.SubElement(parent, name).text = _format(value)


def render(document: ReturnDocument) -> bytes:
    """The XML bytes (UTF-8, with declaration) of ``document``."""
    root = etree.Element(f"{{{GIPMDS_NS}}}rapport", nsmap={"gipmds": GIPMDS_NS})
    for name, value in (
        ("type", document.type),
        ("profil", document.profil),
        ("version", document.version),
        ("identifiant", document.identifier),
        ("message", document.message),
    ):
        if value is not None:
            root.set(name, _clean(value))
    _envoi(root, document.envoi)
    for declaration in document.declarations:
        _declaration(root, declaration)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _envoi(parent: etree._Element, envoi: Envoi) -> None:
    element = etree.SubElement(parent, "envoi")
    ident = etree.SubElement(element, "envoi_identification")
    declarant = (envoi.declarant_siret, envoi.declarant_last_name, envoi.declarant_first_name)
    if any(v is not None for v in declarant):
        block = etree.SubElement(ident, "declarant")
        for name, value in zip(("siret", "nom", "prenom"), declarant, strict=True):
            _add(block, name, value, required=True)
    _add(ident, "idflux", envoi.idflux)
    _add(ident, "identifiant_archive", envoi.archive_name)
    _add(ident, "identifiant", envoi.file_name)
    _add(ident, "version_norme", envoi.norme_version)
    _add(ident, "point_de_depot", envoi.deposit_point)
    _add(ident, "type_envoi", envoi.send_type)
    _add(ident, "essai_reel", envoi.test_or_real)
    _add(ident, "emetteur_siret", envoi.emitter_siret, required=True)
    _add(ident, "raison_sociale", envoi.emitter_name)
    _add(ident, "nom_logiciel", envoi.software_name)
    _add(ident, "editeur_logiciel", envoi.software_editor)
    _add(ident, "version_logiciel", envoi.software_version)
    _add(ident, "code_conformite", envoi.conformity_code)
    _add(ident, "date_reception", envoi.reception_date)
    _add(ident, "heure_reception", envoi.reception_time)
    _add(ident, "date_enregistrement", envoi.registration_date)
    _add(ident, "heure_enregistrement", envoi.registration_time)

    result = etree.SubElement(element, "envoi_bilan")
    _add(result, "envoi_etat", envoi.state, required=True)
    counts = (envoi.declarations_count, envoi.employees_count, envoi.non_employees_count)
    if any(v is not None for v in counts):
        content = etree.SubElement(result, "envoi_contenu")
        for name, count in zip(
            ("declarations", "salaries", "individus_non_salaries"), counts, strict=True
        ):
            _add(content, name, count)
    for counter in envoi.counters:
        _counter(result, "envoi_compteurs", "envoi_categorie", counter)
    for anomaly in envoi.anomalies:
        _anomaly(element, "envoi_anomalie", anomaly)


def _counter(parent: etree._Element, tag: str, category_tag: str, counter: Counter) -> None:
    element = etree.SubElement(parent, tag)
    _add(element, category_tag, counter.category, required=True)
    _add(element, "nombre", counter.count, required=True)


def _anomaly(parent: etree._Element, tag: str, anomaly: Anomaly) -> None:
    element = etree.SubElement(parent, tag)
    description = etree.SubElement(element, "description")
    _add(description, "code", anomaly.code, required=True)
    _add(description, "categorie", anomaly.category)
    _add(description, "message", anomaly.message, required=True)
    _add(description, "numero_ligne", anomaly.line)
    _add(description, "nombre", anomaly.count)
    trigger = (anomaly.rubrique, anomaly.label, anomaly.value)
    if any(v is not None for v in trigger) or anomaly.related:
        values = etree.SubElement(element, "valeurs")
        _rubrique(
            values,
            "rubrique_declenchante",
            Rubrique(identifier=anomaly.rubrique, label=anomaly.label, value=anomaly.value),
        )
        for rubrique in anomaly.related:
            _rubrique(values, "rubrique_associee", rubrique)
    # The schema gives a context to declaration anomalies only.
    if tag == "declaration_anomalie" and (anomaly.employees or anomaly.contract is not None):
        environment = etree.SubElement(element, "environnement")
        for employee in anomaly.employees:
            _employee(environment, employee, context=True)
        if anomaly.contract is not None:
            _contract(environment, anomaly.contract)


def _rubrique(parent: etree._Element, tag: str, rubrique: Rubrique) -> None:
    element = etree.SubElement(parent, tag)
    _add(element, "identifiant", rubrique.identifier, required=True)
    _add(element, "libelle", rubrique.label)
    _add(element, "valeur", rubrique.value, required=True)


def _employee(parent: etree._Element, employee: Employee, *, context: bool = False) -> None:
    element = etree.SubElement(parent, "salarie")
    if context and employee.origin is not None:  # the schema has it in anomaly contexts only
        element.set("origine", _clean(employee.origin))
    _add(element, "NIR", employee.nir, required=employee.ntt is None)
    _add(element, "NTT", employee.ntt)
    _add(element, "nom_famille", employee.family_name)
    _add(element, "nom_usage", employee.usage_name)
    _add(element, "prenoms", employee.first_names)
    _add(element, "sexe", employee.sex)
    _add(element, "date_naissance", employee.birth_date)
    _add(element, "lieu_naissance", employee.birth_place)
    _add(element, "code_pays", employee.country_code)
    _add(element, "matricule", employee.matricule)
    _add(element, "rang", employee.rank)
    _add(element, "taux_imposition_PAS", employee.rate)
    if employee.future_rate is not None or employee.future_rate_date is not None:
        future = etree.SubElement(element, "future_imposition_PAS")
        _add(future, "taux", employee.future_rate)
        _add(future, "date_effet", employee.future_rate_date, required=True)


def _contract(parent: etree._Element, contract: Contract) -> None:
    element = etree.SubElement(parent, "contrat")
    _add(element, "date_debut_contrat", contract.start_date, required=True)
    _add(element, "num_contrat", contract.number, required=True)
    _add(element, "nature_contrat", contract.nature)
    _add(element, "statut_conventionnel_contrat", contract.status)
    _add(element, "libelle_emploi_contrat", contract.job_label)
    _add(element, "code_regime_maladie_contrat", contract.sickness_regime)


def _declaration(parent: etree._Element, declaration: Declaration) -> None:
    element = etree.SubElement(parent, "declaration")
    ident = etree.SubElement(element, "declaration_identification")
    _add(ident, "rang", declaration.rank, required=True)
    _add(ident, "nature", declaration.nature)
    _add(ident, "type", declaration.type)
    _add(ident, "fraction", declaration.fraction)
    _add(ident, "ordre", declaration.order)
    _add(ident, "mois", declaration.month)
    _add(ident, "identifiant_metier", declaration.business_id)
    _add(ident, "id_annulation", declaration.cancelled_id)
    _add(ident, "SIREN", declaration.siren, required=True)
    _add(ident, "nic_siege", declaration.nic_head_office)
    _add(ident, "nic_affectation", declaration.nic, required=True)

    result = etree.SubElement(element, "declaration_bilan")
    _add(result, "etat", declaration.state, required=True)
    counts = (
        declaration.employees_count,
        declaration.non_employees_count,
        declaration.contracts_count,
    )
    if any(v is not None for v in counts):
        content = etree.SubElement(result, "declaration_contenu")
        for name, count in zip(
            ("salaries", "individus_non_salaries", "contrats"), counts, strict=True
        ):
            _add(content, name, count)
    for counter in declaration.counters:
        _counter(result, "declaration_compteurs", "categorie", counter)
    if declaration.conformity_state is not None or declaration.conformity_certificate is not None:
        conformity = etree.SubElement(result, "niveau_conformite")
        _add(conformity, "etat_conformite", declaration.conformity_state, required=True)
        _add(conformity, "certificat_conformite", declaration.conformity_certificate)
    for employee in declaration.employees:
        _employee(result, employee)
    for contract in declaration.contracts:
        _contract(result, contract)
    _add(result, "mois", declaration.main_month)
    for anomaly in declaration.anomalies:
        _anomaly(element, "declaration_anomalie", anomaly)
