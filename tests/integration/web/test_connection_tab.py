"""The Connexion tab: type and mode per account or for the installation, the proxy password
write-only, wrong values refused in French."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.web.conftest import USER_PASSWORD, Login

pytestmark = pytest.mark.anyio

PROXY_CANARY = "CANARY-Proxy-Pw-5521"


async def test_proxy_and_mode_for_one_account(admin: httpx.AsyncClient) -> None:
    saved = await admin.post(
        "/comptes/dupont/connexion",
        data={
            "type": "proxy",
            "mode": "securise",
            "proxy_host": "proxy.example.lan",
            "proxy_port": "3128",
            "proxy_tls": "true",
            "proxy_login": "dupont",
            "proxy_password": PROXY_CANARY,
        },
    )
    assert saved.status_code == 303
    page = await admin.get("/comptes/dupont/connexion?fait=connexion")
    assert "Les paramètres de connexion ont été enregistrés." in page.text
    assert 'value="proxy.example.lan"' in page.text
    assert 'value="securise" checked' in page.text
    assert "enregistré — laisser vide pour le garder" in page.text
    api = (await admin.get("/api/v1/users/dupont/connection")).json()
    assert api["type"] == "proxy" and api["mode"] == "securise"
    assert api["proxy"] == {
        "host": "proxy.example.lan",
        "port": 3128,
        "tls": True,
        "login": "dupont",
    }
    assert api["proxy_password_stored"] is True
    assert api["sources"]["mode"] == "user"
    # Martin keeps the installation's settings.
    martin = (await admin.get("/api/v1/users/martin/connection")).json()
    assert martin["type"] == "system" and martin["sources"]["mode"] == "default"
    for text in (page.text, str(api)):
        assert PROXY_CANARY not in text
    forget = await admin.put(
        "/api/v1/users/dupont/connection",
        json={"type": "direct", "mode": "normal", "proxy_password": ""},
    )
    assert forget.json()["proxy_password_stored"] is False


async def test_wrong_values_are_refused_in_french(admin: httpx.AsyncClient) -> None:
    port = await admin.post(
        "/comptes/dupont/connexion",
        data={"type": "proxy", "mode": "normal", "proxy_host": "proxy", "proxy_port": "abc"},
    )
    assert port.status_code == 422
    assert "port du proxy doit être un nombre" in port.text
    no_proxy = await admin.put(
        "/api/v1/users/dupont/connection", json={"type": "proxy", "mode": "normal"}
    )
    assert no_proxy.status_code == 422
    assert no_proxy.json()["error"]["message"]


async def test_installation_scope_needs_configuration(login_as: Login) -> None:
    dupont = await login_as("dupont", USER_PASSWORD)
    own = await dupont.put(
        "/api/v1/users/dupont/connection", json={"type": "direct", "mode": "etendu"}
    )
    assert own.status_code == 200
    assert own.json()["mode"] == "etendu"
    everyone = await dupont.put(
        "/api/v1/users/dupont/connection",
        json={"type": "direct", "mode": "etendu", "scope": "installation"},
    )
    assert everyone.status_code == 403
