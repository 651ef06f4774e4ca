"""The connection settings as the portal client's options, and the test's one login.

:func:`transport_options` is how every portal call honours the stored connection settings
(type, proxy and its password, mode, CA bundle, timeouts): build the client with it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from dsnlink.connectivity.host_steps import TargetHost
from dsnlink.connectivity.settings import ConnectionType, ResolvedConnection
from dsnlink.connectivity.test import Authenticator, IdentityUnderTest
from dsnlink.errors import InvalidInput
from dsnlink.portal.client import PortalClient
from dsnlink.portal.core import ClientConfig
from dsnlink.portal.endpoints import Endpoints
from dsnlink.portal.identity import PortalIdentity
from dsnlink.portal.transport import PRESETS, TransportOptions

#: Which identity environment goes with which portal profile.
PROFILE_ENVIRONMENTS = {
    "production": "production",
    "test": "editors-test",
    "msa": "msa",
    "msa-test": "msa",
    "simulator": "simulator",
    "custom": "custom",
}


def transport_options(
    connection: ResolvedConnection, *, ca_is_simulator: bool = False
) -> TransportOptions:
    """The portal client's options for these settings (the mode's preset, then the rest)."""
    preset = PRESETS[connection.mode.value]
    proxy_url = None
    if connection.type is ConnectionType.PROXY:
        route = connection.proxy_for(connection.settings.update_feed_url)
        proxy_url = route.url_with_credentials() if route is not None else None
    return dataclasses.replace(
        preset,
        proxy_url=proxy_url,
        trust_env=connection.type is ConnectionType.SYSTEM,
        ca_bundle=connection.settings.ca_bundle,
        ca_is_simulator=ca_is_simulator,
        connect_timeout=connection.connect_timeout,
        read_timeout=connection.read_timeout,
    )


def portal_hosts(endpoints: Endpoints) -> list[TargetHost]:
    """The three portal hosts the test checks, at the URLs real calls use."""
    return [
        TargetHost("auth", "Serveur d'authentification", endpoints.auth_url),
        TargetHost("deposit", "Serveur de dépôt", endpoints.deposit_url()),
        TargetHost(
            "listings", "Serveur de consultation", endpoints.consultation_url("lister-depots")
        ),
    ]


def portal_authenticator(
    connection: ResolvedConnection, config: ClientConfig, *, ca_is_simulator: bool = False
) -> Authenticator:
    """One login with the portal client, in a worker thread.

    The client never sends credentials the portal already refused in this process, and never
    retries a credential failure; the test adds: one call per test, none for an identity known
    to be refused.
    """
    options = transport_options(connection, ca_is_simulator=ca_is_simulator)

    async def authenticate(who: IdentityUnderTest) -> None:
        if who.password is None:
            raise InvalidInput("Aucun mot de passe Net-entreprises n'est enregistré.")
        identity = PortalIdentity(who.siret, who.nom, who.prenom, who.password.get_secret_value())

        def once() -> None:
            with PortalClient(config, options) as client:
                token = client.authenticate(identity)
                # The portal accepts the login of an account not registered for DSN and says
                # so on the first business call: one read-only listing of the last minutes
                # (not a login) tells it.
                client.list_deposits(token, datetime.now(UTC) - timedelta(minutes=5))

        await asyncio.to_thread(once)

    return authenticate
