"""The return files the simulator publishes, with the structure of GIP-MDS's samples.

AEE/ARE (nature 10), CCO/BAN (11), acknowledgements (60, 92) and the DGFiP CRM nominatif (94).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from dsnlink.simulator.accounts import Identity
from dsnlink.simulator.clock import paris_date_time
from dsnlink.simulator.dsnfile import DsnFacts, Employee, Rejection
from dsnlink.simulator.rates import crm_identifier, pas_rate

NS = "http://www.gip-mds.fr/"
_VERSION = "v01r06"


@dataclass(frozen=True)
class Anomaly:
    code: str
    message: str
    category: str = "bloquant"
    rubrique: str | None = None
    value: str | None = None


def _root(kind: str, version: str = _VERSION, **attrs: str) -> etree._Element:
    root = etree.Element(f"{{{NS}}}rapport", nsmap={"gipmds": NS})
    root.set("type", kind)
    root.set("profil", "DSN")
    root.set("version", version)
    for key, value in attrs.items():
        root.set(key, value)
    return root


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None and text != "":
        element.text = text
    return element


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _declarant(parent: etree._Element, declarant: Identity) -> None:
    node = _sub(parent, "declarant")
    _sub(node, "siret", declarant.siret)
    _sub(node, "nom", declarant.nom)
    _sub(node, "prenom", declarant.prenom)


def reception(
    *,
    declarant: Identity,
    idflux: str,
    facts: DsnFacts | None,
    received: datetime,
    rejection: Rejection | None,
) -> bytes:
    """The AEE (accepted) or ARE (``rejection`` given), answered at once and listed as nature 10."""
    root = _root("ARE" if rejection else "AEE")
    envoi = _sub(root, "envoi")
    ident = _sub(envoi, "envoi_identification")
    _declarant(ident, declarant)
    _sub(ident, "idflux", idflux)
    _sub(ident, "identifiant", "MtoM")
    _sub(ident, "point_de_depot", "01")
    _sub(ident, "essai_reel", facts.essai_reel if facts else None)
    _sub(ident, "emetteur_siret", (facts.emetteur_siret if facts else "") or declarant.siret)
    day, hour = paris_date_time(received)
    _sub(ident, "date_reception", day)
    _sub(ident, "heure_reception", hour)
    if rejection is None:
        _sub(ident, "date_enregistrement", day)
        _sub(ident, "heure_enregistrement", hour)
    _sub(_sub(envoi, "envoi_bilan"), "envoi_etat", "KO" if rejection else "OK")
    if rejection is not None:
        description = _sub(_sub(envoi, "envoi_anomalie"), "description")
        _sub(description, "code", rejection.code)
        _sub(description, "message", rejection.message)
    return _serialise(root)


def _declaration_identification(parent: etree._Element, facts: DsnFacts) -> None:
    ident = _sub(parent, "declaration_identification")
    _sub(ident, "rang", "1")
    _sub(ident, "nature", facts.nature)
    _sub(ident, "type", facts.type)
    _sub(ident, "fraction", facts.fraction)
    _sub(ident, "ordre", facts.ordre)
    _sub(ident, "mois", facts.month)
    _sub(ident, "SIREN", facts.siren)
    _sub(ident, "nic_siege", facts.nic)
    _sub(ident, "nic_affectation", facts.nic)


def conformity(
    *,
    declarant: Identity,
    idflux: str,
    facts: DsnFacts,
    received: datetime,
    anomalies: Sequence[Anomaly],
) -> bytes:
    """Nature 11: CCO when no blocking anomaly, else BAN listing them."""
    blocking = [a for a in anomalies if a.category == "bloquant"]
    ok = not blocking
    root = _root("CCO" if ok else "BAN")
    envoi = _sub(root, "envoi")
    ident = _sub(envoi, "envoi_identification")
    _declarant(ident, declarant)
    _sub(ident, "idflux", idflux)
    _sub(ident, "identifiant", "depot_mtom")
    _sub(ident, "version_norme", facts.norme_version)
    _sub(ident, "point_de_depot", "01")
    _sub(ident, "type_envoi", "01")
    _sub(ident, "essai_reel", facts.essai_reel)
    _sub(ident, "emetteur_siret", facts.emetteur_siret)
    _sub(ident, "nom_logiciel", facts.software)
    _sub(ident, "editeur_logiciel", facts.editor)
    _sub(ident, "version_logiciel", facts.software_version)
    day, hour = paris_date_time(received)
    _sub(ident, "date_reception", day)
    _sub(ident, "heure_reception", hour)
    bilan = _sub(envoi, "envoi_bilan")
    _sub(bilan, "envoi_etat", "OK" if ok else "KO")
    contenu = _sub(bilan, "envoi_contenu")
    _sub(contenu, "declarations", "1")
    _sub(contenu, "salaries", str(len(facts.employees)))
    declaration = _sub(root, "declaration")
    _declaration_identification(declaration, facts)
    dbilan = _sub(declaration, "declaration_bilan")
    _sub(dbilan, "etat", "OK" if ok else "KO")
    _sub(_sub(dbilan, "declaration_contenu"), "salaries", str(len(facts.employees)))
    for category in ("bloquant", "non-bloquant"):
        counters = _sub(dbilan, "declaration_compteurs")
        _sub(counters, "categorie", category)
        _sub(counters, "nombre", str(sum(1 for a in anomalies if a.category == category)))
    _sub(_sub(dbilan, "niveau_conformite"), "etat_conformite", "OK" if ok else "KO")
    for anomaly in anomalies:
        _anomaly(declaration, "declaration_anomalie", anomaly)
    return _serialise(root)


def _anomaly(
    parent: etree._Element, tag: str, anomaly: Anomaly, employee: Employee | None = None
) -> None:
    node = _sub(parent, tag)
    description = _sub(node, "description")
    _sub(description, "code", anomaly.code)
    _sub(description, "categorie", anomaly.category)
    _sub(description, "message", anomaly.message)
    if anomaly.rubrique:
        trigger = _sub(_sub(node, "valeurs"), "rubrique_declenchante")
        _sub(trigger, "identifiant", anomaly.rubrique)
        _sub(trigger, "valeur", anomaly.value)
    if employee is not None:
        who = _sub(_sub(node, "environnement"), "salarie")
        who.set("origine", "DSN")
        _sub(who, "NIR", employee.nir)
        _sub(who, "matricule", employee.matricule)


def acknowledgement(*, kind: str, idflux: str, facts: DsnFacts) -> bytes:
    """Natures 60 (URSSAF) and 92 (DGFiP): the organisme has received the declaration."""
    root = _root(kind)
    envoi = _sub(root, "envoi")
    ident = _sub(envoi, "envoi_identification")
    _sub(ident, "idflux", idflux)
    _sub(ident, "version_norme", facts.norme_version)
    _sub(ident, "emetteur_siret", facts.emetteur_siret)
    _sub(_sub(envoi, "envoi_bilan"), "envoi_etat", "OK")
    declaration = _sub(root, "declaration")
    ident = _sub(declaration, "declaration_identification")
    _sub(ident, "rang", "1")
    _sub(ident, "type", facts.type)
    _sub(ident, "SIREN", facts.siren)
    _sub(ident, "nic_affectation", facts.nic)
    _sub(_sub(declaration, "declaration_bilan"), "etat", "OK")
    return _serialise(root)


#: The anomaly of an employee the DGFiP gives no rate for.
NO_RATE = Anomaly(
    code="IDE01",
    category="non-bloquant",
    message=(
        "Échec de reconnaissance de la personne par la DGFiP : aucun taux n'est communiqué, "
        "le taux issu des grilles de taux par défaut s'applique."
    ),
    rubrique="S21.G00.30.001",
)


def crm_pas(*, idflux: str, facts: DsnFacts) -> tuple[bytes, dict[str, str | None]]:
    """Nature 94: one ``salarie`` per employee with its rate (see ``rates``); anomalies for those
    without one. Returns the XML and the rates by NIR."""
    root = _root(
        "CRM nominatif",
        version="v01r08",
        identifiant=crm_identifier(idflux),
        message=(
            "En cas d'absence de taux communiqué par la DGFIP, le taux applicable est le taux "
            "issu des grilles de taux par défaut définies par la loi de finances"
        ),
    )
    envoi = _sub(root, "envoi")
    ident = _sub(envoi, "envoi_identification")
    _sub(ident, "idflux", idflux)
    _sub(ident, "version_norme", facts.norme_version)
    _sub(ident, "emetteur_siret", facts.emetteur_siret)
    _sub(_sub(envoi, "envoi_bilan"), "envoi_etat", "OK")
    declaration = _sub(root, "declaration")
    dident = _sub(declaration, "declaration_identification")
    _sub(dident, "rang", "1")
    _sub(dident, "type", facts.type)
    _sub(dident, "identifiant_metier", facts.month)
    _sub(dident, "SIREN", facts.siren)
    _sub(dident, "nic_affectation", facts.nic)
    dbilan = _sub(declaration, "declaration_bilan")
    _sub(dbilan, "etat", "OK")
    _sub(_sub(dbilan, "declaration_contenu"), "salaries", str(len(facts.employees)))
    rates: dict[str, str | None] = {}
    missing: list[Employee] = []
    for employee in facts.employees:
        rate = pas_rate(employee.nir)
        rates[employee.nir] = rate
        salarie = _sub(dbilan, "salarie")
        _sub(salarie, "NIR", employee.nir)
        _sub(salarie, "matricule", employee.matricule)
        if rate is None:
            missing.append(employee)
        else:
            _sub(salarie, "taux_imposition_PAS", rate)
    for employee in missing:
        anomaly = Anomaly(**{**NO_RATE.__dict__, "value": employee.nir})
        _anomaly(declaration, "declaration_anomalie", anomaly, employee)
    return _serialise(root), rates
