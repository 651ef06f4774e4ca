"""Connection settings: how this workstation reaches Net-entreprises and the update feed.

Three connection types, as in the sheet's window: **direct**, **through a proxy** (host, port,
TLS to the proxy or not, an optional proxy login whose password lives in the vault), or
**system** (the environment's ``HTTPS_PROXY`` / ``NO_PROXY`` variables and, on Windows, the OS
settings, read by the standard library). Three modes: **Normal** (default timeouts), **Étendu**
(long timeouts and a few retries, for slow networks), **Sécurisé** (TLS 1.2 minimum, strict
certificate checks, refuses a proxy that intercepts TLS).

Settings are stored per installation and may be overridden per user, key by key: a user who
sets only the mode keeps the installation's proxy. :func:`resolve` turns the effective settings
(plus the proxy password taken from the vault) into a :class:`ResolvedConnection`, which the
probes and the portal client both use, so a test and a real call go the same way.
"""

from __future__ import annotations

import functools
import ssl
import urllib.request
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import certifi
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from dsnlink.errors import InvalidInput
from dsnlink.portal.transport import PRESETS

DEFAULT_UPDATE_FEED_URL = "https://pypi.org/pypi/dsnlink/json"
SETTINGS_KEY = "connection"


class ConnectionType(StrEnum):
    DIRECT = "direct"
    PROXY = "proxy"
    SYSTEM = "system"


class ConnectionMode(StrEnum):
    NORMAL = "normal"
    ETENDU = "etendu"
    SECURISE = "securise"


TYPE_LABELS = {
    ConnectionType.DIRECT: "connexion directe",
    ConnectionType.PROXY: "par l'intermédiaire d'un serveur proxy",
    ConnectionType.SYSTEM: "paramètres du système",
}
MODE_LABELS = {
    ConnectionMode.NORMAL: "Normal",
    ConnectionMode.ETENDU: "Étendu",
    ConnectionMode.SECURISE: "Sécurisé",
}


@dataclass(frozen=True)
class ModeProfile:
    """What a connection mode means in numbers."""

    connect_timeout: float
    read_timeout: float
    #: Connection retries on network faults (nothing was sent yet; never on a credential
    #: failure).
    retries: int
    minimum_tls: ssl.TLSVersion | None
    #: OpenSSL's strict X.509 checks (VERIFY_X509_STRICT).
    strict: bool
    #: A certificate not issued for the host, seen through a proxy, is refused as interception.
    refuse_interception: bool


def _profile(mode: ConnectionMode) -> ModeProfile:
    # The portal client's presets are the one source of the numbers: the test measures what
    # real calls will do.
    preset = PRESETS[mode.value]
    return ModeProfile(
        connect_timeout=preset.connect_timeout,
        read_timeout=preset.read_timeout,
        retries=preset.connect_retries,
        minimum_tls=ssl.TLSVersion.TLSv1_3 if preset.min_tls == "1.3" else ssl.TLSVersion.TLSv1_2,
        strict=preset.strict_verification,
        refuse_interception=preset.forbid_extra_ca,
    )


MODE_PROFILES: dict[ConnectionMode, ModeProfile] = {mode: _profile(mode) for mode in ConnectionMode}


class ProxyConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    tls: bool = Field(default=False, description="TLS between this workstation and the proxy.")
    login: str | None = Field(default=None, max_length=256)

    @model_validator(mode="after")
    def _check_host(self) -> ProxyConfig:
        if any(ch.isspace() for ch in self.host) or "/" in self.host or "@" in self.host:
            raise ValueError("proxy host must be a bare host name or address")
        return self


class ConnectionSettings(BaseModel):
    """The stored, non-secret part of the connection settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ConnectionType = ConnectionType.SYSTEM
    mode: ConnectionMode = ConnectionMode.NORMAL
    proxy: ProxyConfig | None = None
    update_feed_url: str = DEFAULT_UPDATE_FEED_URL
    #: Extra CA bundle (PEM) trusted besides the system's, e.g. a local simulator's CA.
    ca_bundle: Path | None = None
    #: Override the mode's timeouts (seconds); None keeps the mode's.
    connect_timeout: float | None = Field(default=None, gt=0, le=600)
    read_timeout: float | None = Field(default=None, gt=0, le=3600)

    @model_validator(mode="after")
    def _check(self) -> ConnectionSettings:
        if self.type is ConnectionType.PROXY and self.proxy is None:
            raise ValueError("a proxy connection needs a proxy host and port")
        scheme = urlsplit(self.update_feed_url).scheme
        if scheme not in {"https", "http"}:
            raise ValueError("the update feed URL must be http(s)")
        return self


#: Keys a user may override (all of them: a laptop may need its own proxy).
OVERRIDABLE = tuple(ConnectionSettings.model_fields)


def parse_settings(data: dict[str, Any]) -> ConnectionSettings:
    """Validate a settings mapping; an error says which value is wrong, in French."""
    try:
        return ConnectionSettings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'réglage'} : {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidInput(
            f"Paramètres de connexion incorrects ({problems}).",
            remedy="Corrigez la valeur indiquée et recommencez.",
        ) from exc


def merge(installation: dict[str, Any] | None, user: dict[str, Any] | None) -> dict[str, Any]:
    """The user's stored keys over the installation's: the override is per key."""
    merged: dict[str, Any] = dict(installation or {})
    merged.update(user or {})
    return merged


# --- resolution -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProxyRoute:
    """The proxy one request goes through."""

    host: str
    port: int
    tls: bool
    login: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    #: Where it came from: "settings" or the environment variable's name.
    origin: str = "settings"

    @property
    def url(self) -> str:
        """The proxy's URL without credentials (for display and logs)."""
        return f"{'https' if self.tls else 'http'}://{_host_for_url(self.host)}:{self.port}"

    def url_with_credentials(self) -> str:
        """For the HTTP client only: never display or log it."""
        if not self.login:
            return self.url
        secret = self.password.get_secret_value() if self.password else ""
        scheme = "https" if self.tls else "http"
        user = quote(self.login, safe="")
        return f"{scheme}://{user}:{quote(secret, safe='')}@{_host_for_url(self.host)}:{self.port}"


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass(frozen=True)
class ResolvedConnection:
    """Everything a network call needs: the effective settings with their numbers."""

    settings: ConnectionSettings
    profile: ModeProfile
    proxy_password: SecretStr | None = field(default=None, repr=False)
    #: For ``system``: the environment's proxies (scheme -> URL) and exclusions.
    system_proxies: dict[str, str] = field(default_factory=dict)
    #: Where each key came from: "installation", "user" or "default".
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def type(self) -> ConnectionType:
        return self.settings.type

    @property
    def mode(self) -> ConnectionMode:
        return self.settings.mode

    @property
    def connect_timeout(self) -> float:
        return self.settings.connect_timeout or self.profile.connect_timeout

    @property
    def read_timeout(self) -> float:
        return self.settings.read_timeout or self.profile.read_timeout

    @property
    def deadline(self) -> float:
        """The longest one probe may take: the connection test is bound by it, not by a sum."""
        return self.connect_timeout

    def proxy_for(self, url: str) -> ProxyRoute | None:
        """The proxy a request to ``url`` goes through, or None for a direct connection."""
        if self.type is ConnectionType.DIRECT:
            return None
        if self.type is ConnectionType.PROXY:
            proxy = self.settings.proxy
            assert proxy is not None  # checked by the model
            return ProxyRoute(proxy.host, proxy.port, proxy.tls, proxy.login, self.proxy_password)
        parts = urlsplit(url)
        host = parts.hostname or ""
        if _bypassed(host, self.system_proxies.get("no", "")):
            return None
        chosen = self.system_proxies.get(parts.scheme) or self.system_proxies.get("all")
        if not chosen:
            return None
        return _route_from_url(chosen, origin=f"{parts.scheme}_proxy")

    def ssl_context(self) -> ssl.SSLContext:
        """One context per resolved settings (loading a trust store costs tens of ms)."""
        return self._ssl_context

    @functools.cached_property
    def _ssl_context(self) -> ssl.SSLContext:
        """The TLS context of every call: verification always on; stricter in Sécurisé.

        Normal and Étendu trust the system's store, where a company may have added the CA of
        its TLS-inspecting proxy. Sécurisé trusts only the public authorities (Mozilla's list,
        as shipped by certifi) plus an explicitly configured bundle, so such a proxy is refused.
        """
        if self.profile.refuse_interception:
            context = ssl.create_default_context(cafile=certifi.where())
        else:
            context = ssl.create_default_context()
        if self.settings.ca_bundle is not None:
            context.load_verify_locations(cafile=str(self.settings.ca_bundle))
        if self.profile.minimum_tls is not None:
            context.minimum_version = self.profile.minimum_tls
        if self.profile.strict:
            context.verify_flags |= ssl.VERIFY_X509_STRICT
        return context


def _route_from_url(url: str, *, origin: str) -> ProxyRoute | None:
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 8080 if parts.scheme == "http" else 1080)
    password = SecretStr(unquote(parts.password)) if parts.password else None
    login = unquote(parts.username) if parts.username else None
    return ProxyRoute(parts.hostname, port, tls, login, password, origin=origin)


def _bypassed(host: str, no_proxy: str) -> bool:
    """NO_PROXY semantics as curl and the standard library read them."""
    host = host.lower().strip("[]")
    for entry in (e.strip().lower() for e in no_proxy.replace(";", ",").split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        entry = entry.split(":", 1)[0] if entry.count(":") == 1 else entry
        entry = entry.lstrip("*").lstrip(".") if entry.startswith(("*", ".")) else entry
        if host == entry or host.endswith("." + entry):
            return True
    return False


def system_proxies() -> dict[str, str]:
    """The OS's proxy settings (environment variables; the registry on Windows)."""
    return dict(urllib.request.getproxies())


def resolve(
    installation: dict[str, Any] | None = None,
    user: dict[str, Any] | None = None,
    *,
    proxy_password: SecretStr | None = None,
    environ_proxies: dict[str, str] | None = None,
) -> ResolvedConnection:
    """Effective settings from what is stored for the installation and the user."""
    merged = merge(installation, user)
    settings = parse_settings(merged)
    sources = {
        key: "user"
        if user and key in user
        else "installation"
        if installation and key in installation
        else "default"
        for key in ConnectionSettings.model_fields
    }
    return ResolvedConnection(
        settings=settings,
        profile=MODE_PROFILES[settings.mode],
        proxy_password=proxy_password,
        system_proxies=(environ_proxies if environ_proxies is not None else system_proxies())
        if settings.type is ConnectionType.SYSTEM
        else {},
        sources=sources,
    )
