"""Comptes utilisateurs through pages and API: list, create, edit, rights, disable, delete,
passwords, and the last administrator protected."""

from __future__ import annotations

import httpx
import pytest

from dsnlink.setup import App
from tests.integration.web.conftest import ADMIN_PASSWORD, USER_PASSWORD, Login

pytestmark = pytest.mark.anyio


async def test_list_shows_rights_state_and_identity_state(admin: httpx.AsyncClient) -> None:
    page = await admin.get("/comptes")
    assert page.status_code == 200
    for text in ("Administrateur", "dupont", "Marie Dupont", "Déclarations", "Aucune", "Actif"):
        assert text in page.text
    api = (await admin.get("/api/v1/users")).json()
    assert {u["login"] for u in api} == {"Administrateur", "dupont", "martin"}
    dupont = next(u for u in api if u["login"] == "dupont")
    assert dupont["rights"] == ["declarations"]
    assert dupont["identities"] == []


async def test_create_edit_rights_disable_enable_delete_through_pages(
    admin: httpx.AsyncClient, login_as: Login
) -> None:
    created = await admin.post(
        "/comptes/nouveau",
        data={
            "login": "durand",
            "display_name": "Jeanne Durand",
            "password": "Durand-mdp-123!",
            "password_confirm": "Durand-mdp-123!",
            "rights": ["payslips", "declarations"],
        },
    )
    assert created.status_code == 303
    assert created.headers["location"] == "/comptes/durand/compte?fait=cree"
    tab = await admin.get("/comptes/durand/compte?fait=cree")
    assert "Le compte a été créé." in tab.text
    assert "Jeanne Durand" in tab.text
    assert (
        await admin.post("/comptes/durand/compte", data={"display_name": "J. Durand"})
    ).status_code == 303
    assert (await admin.get("/api/v1/users/durand")).json()["display_name"] == "J. Durand"
    rights = await admin.post("/comptes/durand/droits", data={"rights": ["configuration"]})
    assert rights.status_code == 303
    assert (await admin.get("/api/v1/users/durand")).json()["rights"] == ["configuration"]

    durand = await login_as("durand", "Durand-mdp-123!")
    assert (await durand.get("/api/v1/session")).status_code == 200
    assert (await admin.post("/comptes/durand/desactiver")).status_code == 303
    # Disabled: the open session ends at once, and logging in again is refused.
    assert (await durand.get("/api/v1/session")).status_code == 401
    again = await durand.post(
        "/api/v1/session", json={"login": "durand", "password": "Durand-mdp-123!"}
    )
    assert again.status_code == 403
    assert again.json()["error"]["code"] == "access.disabled"
    assert (await admin.post("/comptes/durand/activer")).status_code == 303
    assert (await admin.post("/comptes/durand/supprimer")).status_code == 303
    assert (await admin.get("/api/v1/users/durand")).status_code == 404


async def test_create_refuses_mismatched_passwords_and_duplicates(admin: httpx.AsyncClient) -> None:
    mismatch = await admin.post(
        "/comptes/nouveau",
        data={
            "login": "leroy",
            "display_name": "Leroy",
            "password": "Leroy-mdp-123!",
            "password_confirm": "Leroy-mdp-124!",
        },
    )
    assert mismatch.status_code == 422
    assert "différents" in mismatch.text
    assert "Leroy-mdp-123!" not in mismatch.text
    duplicate = await admin.post(
        "/api/v1/users",
        json={"login": "DUPONT", "display_name": "Autre", "password": "Autre-mdp-123!"},
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["message"]


async def test_the_last_administrator_is_protected(admin: httpx.AsyncClient) -> None:
    disable = await admin.post("/api/v1/users/Administrateur/disable")
    assert disable.status_code == 409
    assert "administrateur" in disable.json()["error"]["message"]
    page = await admin.post("/comptes/Administrateur/droits", data={"rights": ["declarations"]})
    assert page.status_code == 409
    assert "au moins un administrateur" in page.text
    delete = await admin.delete("/api/v1/users/Administrateur")
    assert delete.status_code == 409
    users = (await admin.get("/api/v1/users")).json()
    administrator = next(u for u in users if u["login"] == "Administrateur")
    assert administrator["rights"] == [
        "administration",
        "configuration",
        "declarations",
        "payslips",
    ]
    assert not administrator["disabled"]


async def test_own_account_password_and_rights_boundaries(login_as: Login) -> None:
    dupont = await login_as("dupont", USER_PASSWORD)
    # Without configuration, "Comptes utilisateurs" is one's own page.
    listing = await dupont.get("/comptes")
    assert listing.status_code == 303
    assert listing.headers["location"] == "/comptes/dupont/compte"
    own = await dupont.get("/comptes/dupont/compte")
    assert own.status_code == 200
    assert "Droits d'accès" not in own.text  # no rights check boxes without configuration
    other = await dupont.get("/comptes/martin/compte")
    assert other.status_code == 403
    wrong = await dupont.put(
        "/api/v1/users/dupont/password",
        json={"new_password": "Nouveau-mdp-123!", "current_password": "pas-le-bon"},
    )
    assert wrong.status_code == 401
    changed = await dupont.put(
        "/api/v1/users/dupont/password",
        json={"new_password": "Nouveau-mdp-123!", "current_password": USER_PASSWORD},
    )
    assert changed.status_code == 204
    assert (await dupont.get("/api/v1/session")).status_code == 200


async def test_password_reset_by_an_administrator_logs_the_user_out(
    admin: httpx.AsyncClient, login_as: Login
) -> None:
    martin = await login_as("martin", USER_PASSWORD)
    reset = await admin.post(
        "/comptes/martin/mot-de-passe",
        data={"new_password": "Reinit-mdp-123!", "new_password_confirm": "Reinit-mdp-123!"},
    )
    assert reset.status_code == 303
    assert (await martin.get("/api/v1/session")).status_code == 401
    assert (await admin.get("/api/v1/session")).json()["login"] == "Administrateur"


async def test_an_account_disabled_elsewhere_is_shown_out_not_crashed(
    web_ctx: App, login_as: Login
) -> None:
    dupont = await login_as("dupont", USER_PASSWORD)
    admin = web_ctx.accounts.users.authenticate("Administrateur", ADMIN_PASSWORD)
    web_ctx.accounts.users.set_disabled(admin, "dupont", True)  # as the CLI would
    page = await dupont.get("/comptes/dupont/compte")
    assert page.status_code == 403
    assert "désactivé" in page.text
    api = await dupont.get("/api/v1/session")
    assert api.status_code == 401
