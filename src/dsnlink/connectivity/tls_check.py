"""Reading a server's certificate and judging it: names, issuer, expiry, interception.

Pure (no network): the probe hands over the DER certificates it saw and whether the handshake
verified them; this module says what that means for a person. A certificate that does not
cover the host name asked for, seen through a proxy, is what a TLS-intercepting proxy
("inspection SSL") shows: it is reported as interception, and refused in the Sécurisé mode.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

#: Below this many days before expiry, the step is a warning.
EXPIRY_WARNING_DAYS = 21


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    names: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    self_signed: bool

    def days_left(self, now: datetime) -> int:
        return (self.not_after - now).days

    def to_dict(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "names": list(self.names),
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "self_signed": self.self_signed,
        }


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if values:
        return str(values[0].value)
    return name.rfc4514_string() or "(sans nom)"


def describe(der: bytes) -> CertificateInfo:
    cert = x509.load_der_x509_certificate(der)
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names += [str(n) for n in san.get_values_for_type(x509.DNSName)]
        names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    return CertificateInfo(
        subject=_common_name(cert.subject),
        issuer=_common_name(cert.issuer),
        names=tuple(names),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        self_signed=cert.issuer == cert.subject,
    )


def covers(info: CertificateInfo, host: str) -> bool:
    """Whether the certificate is issued for ``host`` (RFC 6125: SANs only, one wildcard label)."""
    host = host.lower().rstrip(".").strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for name in info.names:
        name = name.lower().rstrip(".")
        if address is not None:
            try:
                if ipaddress.ip_address(name) == address:
                    return True
            except ValueError:
                continue
            continue
        if name == host:
            return True
        if name.startswith("*.") and "." in host:
            label, rest = host.split(".", 1)
            if rest == name[2:] and label:
                return True
    return False


@dataclass(frozen=True)
class TlsVerdict:
    status: str  # "ok" | "warning" | "failure"
    detail: str
    remedy: str | None
    interception: bool = False


def judge(
    *,
    host: str,
    leaf: CertificateInfo | None,
    verified: bool,
    verify_message: str | None,
    via_proxy: bool,
    refuse_interception: bool,
    issued_by_local_ca: bool = False,
    now: datetime | None = None,
) -> TlsVerdict:
    """What the certificate seen for ``host`` means, in French."""
    now = now or datetime.now(UTC)
    if leaf is None:
        return TlsVerdict(
            "failure",
            f"Aucun certificat n'a pu être lu ({verify_message or 'poignée de main TLS refusée'}).",
            "Vérifiez que le serveur parle bien HTTPS sur ce port.",
        )
    names = ", ".join(leaf.names) or leaf.subject
    if not covers(leaf, host):
        if via_proxy:
            return TlsVerdict(
                "failure",
                f"Le certificat reçu n'est pas celui de {host} (émis pour {names} par "
                f"« {leaf.issuer} ») : le proxy intercepte le trafic chiffré.",
                "Demandez à votre service informatique d'exclure les adresses net-entreprises.fr "
                "de l'inspection TLS du proxy.",
                interception=True,
            )
        return TlsVerdict(
            "failure",
            f"Le certificat reçu est émis pour {names}, pas pour {host}.",
            "Vérifiez l'adresse du serveur dans les paramètres ; si elle est juste, un "
            "équipement du réseau détourne la connexion.",
        )
    if leaf.not_after < now:
        return TlsVerdict(
            "failure",
            f"Le certificat de {host} a expiré le {leaf.not_after:%d/%m/%Y}.",
            "Vérifiez la date et l'heure de cet ordinateur ; si elles sont justes, le serveur "
            "doit renouveler son certificat.",
        )
    if leaf.not_before > now:
        return TlsVerdict(
            "failure",
            f"Le certificat de {host} n'est valable qu'à partir du {leaf.not_before:%d/%m/%Y}.",
            "Vérifiez la date et l'heure de cet ordinateur.",
        )
    if not verified:
        if via_proxy:
            return TlsVerdict(
                "failure",
                f"Le certificat de {host} est émis par « {leaf.issuer} », une autorité que cet "
                f"ordinateur ne reconnaît pas ({verify_message}) : le proxy intercepte "
                "probablement le trafic chiffré.",
                "Demandez à votre service informatique d'exclure net-entreprises.fr de "
                "l'inspection TLS, ou indiquez son autorité de certification (mode Normal).",
                interception=True,
            )
        return TlsVerdict(
            "failure",
            f"Le certificat de {host} n'est pas reconnu ({verify_message}) ; émetteur : "
            f"« {leaf.issuer} ».",
            "Vérifiez la date de l'ordinateur ; pour un serveur de test, indiquez son autorité "
            "de certification (réglage ca_bundle).",
        )
    if via_proxy and issued_by_local_ca:
        # Verified, through a proxy, by an authority this computer trusts but that is not a
        # public one nor one configured for dsnlink: how a company's TLS inspection looks once
        # its CA is installed on the workstations. Sécurisé never gets here (it does not trust
        # the system's additions), Normal lets it through and says so.
        return TlsVerdict(
            "warning",
            f"Le certificat de {host} est émis par « {leaf.issuer} », une autorité installée sur "
            "cet ordinateur et non une autorité publique : le proxy intercepte probablement le "
            "trafic chiffré. Accepté en mode Normal.",
            "Le mode Sécurisé refuserait cette connexion ; demandez à votre service informatique "
            "d'exclure net-entreprises.fr de l'inspection TLS.",
            interception=True,
        )
    days = leaf.days_left(now)
    if days < EXPIRY_WARNING_DAYS:
        return TlsVerdict(
            "warning",
            f"Certificat valide pour {host}, mais il expire dans {days} jour(s).",
            "Rien à faire de votre côté s'il est renouvelé à temps ; sinon prévenez le support.",
        )
    return TlsVerdict(
        "ok",
        f"Certificat valide pour {host}, émis par « {leaf.issuer} », "
        f"jusqu'au {leaf.not_after:%d/%m/%Y}.",
        None,
    )
