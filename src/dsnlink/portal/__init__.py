"""The Net-entreprises API-DSN client.

``PortalClient`` (sync) and ``AsyncPortalClient`` share one sans-I/O core: endpoints and
profiles (``endpoints``), the HTTP adapter (``transport``, the only module importing httpx),
logins and tokens (``core``, ``identity``), the deposit (``deposit``, ``report``), listings and
downloads (``calls``, ``listings``, ``files``). See ``docs/portal.md``.
"""

from dsnlink.portal.async_client import AsyncPortalClient
from dsnlink.portal.client import PortalClient
from dsnlink.portal.core import ClientConfig, config_from_settings
from dsnlink.portal.deposit import Anomaly, DepositResult
from dsnlink.portal.endpoints import Endpoints, endpoints_from_settings
from dsnlink.portal.files import DownloadedFile
from dsnlink.portal.identity import PortalIdentity, Token, credential_failures
from dsnlink.portal.listings import DepositRecord, ReturnRecord
from dsnlink.portal.options import (
    ETENDU,
    NORMAL,
    PRESETS,
    SECURISE,
    TransportOptions,
    options_from_settings,
)

__all__ = [
    "ETENDU",
    "NORMAL",
    "PRESETS",
    "SECURISE",
    "Anomaly",
    "AsyncPortalClient",
    "ClientConfig",
    "DepositRecord",
    "DepositResult",
    "DownloadedFile",
    "Endpoints",
    "PortalClient",
    "PortalIdentity",
    "ReturnRecord",
    "Token",
    "TransportOptions",
    "config_from_settings",
    "credential_failures",
    "endpoints_from_settings",
    "options_from_settings",
]
