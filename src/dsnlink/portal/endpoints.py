"""Where the API-DSN lives: base URLs and service codes by environment (profile).

Every value comes from settings (``DSNLINK_PORTAL_*``); a profile only fills in what is not set.
The paths of each call are fixed by the protocol and appended to these bases, so a custom
environment (or the simulator, which serves everything on one port) only needs base URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from dsnlink.errors import ConfigurationError
from dsnlink.settings import Settings, get_settings

Profile = Literal["production", "test", "msa", "msa-test", "simulator", "custom"]
ApiVersion = Literal["1.0", "2.0"]


@dataclass(frozen=True, slots=True)
class Endpoints:
    profile: str
    auth_base: str
    deposit_base: str
    consultation_base: str
    service_code: str
    #: Hosts a download URL given by a listing may point to (the token is sent there).
    download_hosts: frozenset[str]
    api_version: ApiVersion = "1.0"

    @classmethod
    def single_base(
        cls, base_url: str, *, service_code: str = "97", api_version: ApiVersion = "1.0"
    ) -> Endpoints:
        """Every service on one base URL, as the simulator serves them."""
        base = _clean_base(base_url, "base_url")
        return cls(
            profile="simulator",
            auth_base=base,
            deposit_base=base,
            consultation_base=base,
            service_code=service_code,
            download_hosts=frozenset({_host(base)}),
            api_version=api_version,
        )

    @property
    def auth_url(self) -> str:
        return f"{self.auth_base}/authentifier/1.0/"

    def deposit_url(self, version: ApiVersion | None = None) -> str:
        return f"{self.deposit_base}/deposer-dsn/{version or self.api_version}/"

    def consultation_url(self, service: str, *parts: str) -> str:
        tail = "/".join(parts)
        return f"{self.consultation_base}/{service}/{self.api_version}/{tail}"


# Hosts per profile: (authentication, deposit, consultation, service code, download hosts).
_PROFILES: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    "production": (
        "https://services.net-entreprises.fr",
        "https://depot.dsnrg.net-entreprises.fr",
        "https://consultation.dsnrg.net-entreprises.fr",
        "25",
        ("telechargement.dsnrg.net-entreprises.fr",),
    ),
    "test": (
        "https://test-services.net-entreprises.fr",
        "https://depot-edit.dsnrg.net-entreprises.fr",
        "https://consultation-edit.dsnrg.net-entreprises.fr",
        "97",
        ("telechargement-edit.dsnrg.net-entreprises.fr",),
    ),
    "msa": (
        "https://services.net-entreprises.fr",
        "https://depot.dsnra.net-entreprises.fr",
        "https://consultation.dsnra.net-entreprises.fr",
        "26",
        ("telechargement.dsnra.net-entreprises.fr",),
    ),
    "msa-test": (
        "https://test-services.net-entreprises.fr",
        "https://depot-edit.dsnra.net-entreprises.fr",
        "https://consultation-edit.dsnra.net-entreprises.fr",
        "94",
        ("telechargement-edit.dsnra.net-entreprises.fr",),
    ),
}

# The simulator's default accounts (those of GIP-MDS's mock) are enrolled in the test codes.
_SIMULATOR_SERVICE = "97"


def _clean_base(url: str, name: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigurationError(
            f"L'adresse {name} « {url} » n'est pas une adresse http(s) valide.",
            remedy="Corrigez le paramètre DSNLINK_PORTAL_* correspondant.",
            setting=name,
        )
    return url.rstrip("/")


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def endpoints_from_settings(settings: Settings | None = None) -> Endpoints:
    """The endpoints of the configured profile, with every per-URL override applied."""
    s = settings or get_settings()
    profile = s.portal_profile
    defaults: tuple[str, str, str, str, tuple[str, ...]]
    if profile == "simulator":
        base = s.portal_simulator_url
        defaults = (base, base, base, _SIMULATOR_SERVICE, ("localhost", "127.0.0.1"))
    elif profile == "custom":
        missing = [
            name
            for name, value in (
                ("DSNLINK_PORTAL_AUTH_URL", s.portal_auth_url),
                ("DSNLINK_PORTAL_DEPOSIT_URL", s.portal_deposit_url),
                ("DSNLINK_PORTAL_CONSULTATION_URL", s.portal_consultation_url),
                ("DSNLINK_PORTAL_SERVICE_CODE", s.portal_service_code),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                "Le profil « custom » demande toutes les adresses et le code service.",
                remedy="Définissez " + ", ".join(missing) + ".",
                missing=missing,
            )
        defaults = ("", "", "", "", ())
    else:
        defaults = _PROFILES[profile]
    auth = _clean_base(s.portal_auth_url or defaults[0], "DSNLINK_PORTAL_AUTH_URL")
    deposit = _clean_base(s.portal_deposit_url or defaults[1], "DSNLINK_PORTAL_DEPOSIT_URL")
    consultation = _clean_base(
        s.portal_consultation_url or defaults[2], "DSNLINK_PORTAL_CONSULTATION_URL"
    )
    service = s.portal_service_code or defaults[3]
    if not (service.isdigit() and 1 <= len(service) <= 2):
        raise ConfigurationError(
            f"Le code service « {service} » est invalide (un ou deux chiffres).",
            remedy="Corrigez DSNLINK_PORTAL_SERVICE_CODE (25, 26, 97, 94 ou 98).",
        )
    extra = {h.strip().lower() for h in (s.portal_download_hosts or "").split(",") if h.strip()}
    hosts = frozenset({*defaults[4], _host(deposit), _host(consultation), *extra})
    return Endpoints(
        profile=profile,
        auth_base=auth,
        deposit_base=deposit,
        consultation_base=consultation,
        service_code=service,
        download_hosts=hosts,
        api_version=s.portal_api_version,
    )
