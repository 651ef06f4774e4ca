"""Every portal call honours the stored connection settings (installation, then user)."""

from __future__ import annotations

from pathlib import Path

from dsnlink.connectivity.service import (
    connection_settings,
    portal_client_for,
    transport_options_for,
)
from dsnlink.portal.transport import options_from_settings
from dsnlink.settings import Settings
from dsnlink.setup import init_installation

ADMIN_PASSWORD = "Admin-pass-123!"
CANARY = "CANARY-s3cr3t-proxy-8802"


def test_transport_options_follow_stored_settings(hermetic_env: Path) -> None:
    with init_installation(Settings(), name="Asso", admin_password=ADMIN_PASSWORD) as app:
        # Nothing stored: the process settings (DSNLINK_PORTAL_*) apply unchanged.
        assert transport_options_for(app) == options_from_settings(app.settings)
        admin = app.accounts.users.authenticate("Administrateur", ADMIN_PASSWORD)
        service = connection_settings(app, admin)
        service.update(
            "installation",
            {"type": "proxy", "proxy": {"host": "proxy.asso.local", "port": 3128, "login": "paie"}},
            proxy_password=CANARY,
        )
        service.update(f"user:{admin.id}", {"mode": "etendu"})
        options = transport_options_for(app)
        assert options.proxy_url == f"http://paie:{CANARY}@proxy.asso.local:3128"
        assert options.connect_timeout == 10
        assert CANARY not in repr(options)
        mine = transport_options_for(app, admin.id)
        assert mine.connect_timeout == 30 and mine.proxy_url == options.proxy_url
        client = portal_client_for(app, admin.id)
        try:
            assert client.options == mine
        finally:
            client.close()
    # The proxy password is sealed: not in clear anywhere in the data folder.
    for path in hermetic_env.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
