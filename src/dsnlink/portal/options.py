"""How to reach the portal: connection options, the three connection-mode presets, TLS.

No HTTP library here: :mod:`dsnlink.portal.transport` turns these options into clients.
TLS verification is never turned off. The only way to trust another certificate is to add a CA
(``ca_bundle``): a company's TLS-inspecting proxy, or the simulator's own local CA.
"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import certifi

from dsnlink.errors import ConfigurationError
from dsnlink.settings import Settings, get_settings

ConnectionMode = Literal["normal", "etendu", "securise"]


@dataclass(frozen=True, slots=True)
class TransportOptions:
    """How to reach the portal. ``proxy_url`` may hold credentials: it is never shown."""

    proxy_url: str | None = field(default=None, repr=False)
    trust_env: bool = False
    ca_bundle: Path | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    write_timeout: float = 60.0
    pool_timeout: float = 30.0
    #: Connection attempts retried by the transport itself: safe, nothing was sent yet.
    connect_retries: int = 1
    #: Attempts of an idempotent GET on 5xx or network errors (stamina, backoff and jitter).
    get_attempts: int = 3
    #: Total time budget of those attempts, in seconds.
    retry_budget: float = 60.0
    min_tls: Literal["1.2", "1.3"] = "1.2"
    #: X.509 strict checks (RFC 5280) on top of the usual verification.
    strict_verification: bool = False
    #: Refuse an extra CA bundle (no TLS-inspecting proxy), unless it is the simulator's CA.
    forbid_extra_ca: bool = False
    ca_is_simulator: bool = False
    max_connections: int = 64

    @property
    def proxied(self) -> bool:
        return bool(self.proxy_url)


#: Default timeouts, one connection retry, three attempts on GETs.
NORMAL = TransportOptions()
#: Slow or unreliable networks: long timeouts, more retries.
ETENDU = TransportOptions(
    connect_timeout=30.0,
    read_timeout=180.0,
    write_timeout=180.0,
    pool_timeout=60.0,
    connect_retries=3,
    get_attempts=6,
    retry_budget=300.0,
)
#: TLS 1.2 or later, strict certificate checks, no TLS-inspecting proxy.
SECURISE = TransportOptions(strict_verification=True, forbid_extra_ca=True)

PRESETS: dict[ConnectionMode, TransportOptions] = {
    "normal": NORMAL,
    "etendu": ETENDU,
    "securise": SECURISE,
}


def options_from_settings(settings: Settings | None = None) -> TransportOptions:
    s = settings or get_settings()
    preset = PRESETS[s.portal_connection_mode]
    proxy = s.portal_proxy_url.get_secret_value() if s.portal_proxy_url else None
    return replace(
        preset,
        proxy_url=proxy or None,
        trust_env=s.portal_trust_env,
        ca_bundle=s.portal_ca_bundle,
        ca_is_simulator=s.portal_profile == "simulator",
    )


def ssl_context(options: TransportOptions) -> ssl.SSLContext:
    """Verification always on; certifi's CAs, the system's (except in « Sécurisé » mode, where
    no extra CA is allowed: a CA an administrator or a proxy installed in the system store would
    be exactly that), plus the extra bundle if any.

    Contexts are shared between clients with the same TLS settings: loading the CA stores costs
    a few hundred milliseconds of CPU. A CA bundle edited on disk gives a new context.
    """
    bundle: tuple[str, int] | None = None
    if options.ca_bundle is not None:
        if options.forbid_extra_ca and not options.ca_is_simulator:
            raise ConfigurationError(
                "Le mode de connexion « Sécurisé » refuse une autorité de certification "
                "supplémentaire (proxy qui intercepte le trafic chiffré).",
                remedy="Retirez DSNLINK_PORTAL_CA_BUNDLE ou choisissez le mode « Normal ».",
            )
        try:
            bundle = (str(options.ca_bundle), options.ca_bundle.stat().st_mtime_ns)
        except OSError as exc:
            raise _unreadable_bundle(options.ca_bundle) from exc
    return _shared_context(
        options.min_tls, options.strict_verification, bundle, not options.forbid_extra_ca
    )


def _unreadable_bundle(path: Path) -> ConfigurationError:
    return ConfigurationError(
        f"Le fichier d'autorités de certification « {path} » est illisible.",
        remedy="Indiquez un fichier PEM valide dans DSNLINK_PORTAL_CA_BUNDLE.",
    )


@functools.lru_cache(maxsize=16)
def _shared_context(
    min_tls: str, strict: bool, bundle: tuple[str, int] | None, system_store: bool
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=certifi.where())
    if system_store:
        ctx.load_default_certs()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3 if min_tls == "1.3" else ssl.TLSVersion.TLSv1_2
    if strict:
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    if bundle is not None:
        try:
            ctx.load_verify_locations(cafile=bundle[0])
        except (OSError, ssl.SSLError) as exc:
            raise _unreadable_bundle(Path(bundle[0])) from exc
    return ctx
