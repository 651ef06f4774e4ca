"""The sheet's whole procedure in a real browser, for Dupont and Martin: administer → user
accounts → pick the user → confirm one's own password → the Net-entreprises tab → retype the
credentials → test the connection (check marks) → save."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, Served, login
from tests.support.web import DUPONT, DUPONT_PASSWORD, MARTIN, MARTIN_PASSWORD

pytestmark = pytest.mark.browser

Shot = Callable[[Any, str], Path]


def _open_identity_tab(page: Any, user: str) -> None:
    page.click("nav.navigation >> text=Comptes utilisateurs")
    page.click(f"#comptes a:text-is('{user}')")
    page.click("nav.onglets >> text=Net-entreprises")


def _confirm(page: Any) -> None:
    page.fill("#confirm-password", ADMIN_PASSWORD)
    page.click("text=Confirmer")
    page.wait_for_selector("#form-identite")


def _type_identity(page: Any, account: dict[str, str], password: str) -> None:
    page.fill("#siret", account["siret"])
    page.fill("#nom", account["nom"])
    page.fill("#prenom", account["prenom"])
    page.fill("#ne-password", password)


def _test(page: Any) -> dict[str, str]:
    page.click("#tester")
    page.wait_for_selector("#test-bilan[data-all-green]", timeout=60_000)
    marks = page.locator("#coches li")
    return {
        marks.nth(i).get_attribute("data-mark"): marks.nth(i).get_attribute("data-status")
        for i in range(marks.count())
    }


def test_the_sheet_procedure_for_dupont_and_martin(served: Served, page: Any, shot: Shot) -> None:
    sim = served.world.sim
    page.goto(served.url + "connexion")
    shot(page, "connexion")
    login(page, served, "Administrateur", ADMIN_PASSWORD)
    assert page.locator("#etat-identifiants tr[data-login=dupont]").count() == 1
    shot(page, "accueil")
    assert "Association Les Amis" in page.inner_text("header")
    assert "GUICHET ASSOCIATIONS URSSAF" in page.inner_text("header")
    page.click("nav.navigation >> text=Comptes utilisateurs")
    shot(page, "comptes-utilisateurs")

    # --- Dupont: a wrong password first, then a pasted one with a trailing space ---
    _open_identity_tab(page, "dupont")
    shot(page, "net-entreprises-confirmer")
    _confirm(page)
    _type_identity(page, DUPONT, "Mauvais-mot-de-passe-1")
    marks = _test(page)
    assert "failure" in marks.values(), marks
    login_step = page.locator("#etapes li[data-step=login]")
    assert login_step.get_attribute("data-status") == "failure"
    assert "À faire" in login_step.inner_text()
    assert page.locator("#test-bilan").get_attribute("data-all-green") == "false"
    assert len(sim.attempts(DUPONT["siret"])) == 1
    shot(page, "net-entreprises-coche-rouge")

    # Clicking again with the same refused values makes no second attempt.
    page.click("#tester")
    page.wait_for_selector("#test-bilan [data-code='portal.wrong_credentials']")
    assert len(sim.attempts(DUPONT["siret"])) == 1

    # Copied from the portal with a trailing space: the linter shows it before any test.
    page.fill("#ne-password", DUPONT_PASSWORD + " ")
    lint = page.locator('.lint[data-for="motdepasse"]')
    lint.locator("text=se termine par").wait_for()
    assert "␣»" in lint.inner_text()
    assert DUPONT_PASSWORD not in lint.inner_text()
    shot(page, "net-entreprises-espace-final")
    page.fill("#ne-password", DUPONT_PASSWORD)
    lint.locator("li").first.wait_for(state="detached")

    marks = _test(page)
    assert list(marks.values()) == ["ok", "ok", "ok"], marks
    assert page.locator("#etapes li").count() >= 5
    assert page.locator("#etapes li[data-step=login] .duree").inner_text().endswith("ms")
    assert len(sim.attempts(DUPONT["siret"])) == 2
    shot(page, "net-entreprises-coches-vertes")
    page.click("#enregistrer")
    page.wait_for_selector("text=L'identité Net-entreprises a été enregistrée.")
    assert page.locator("#etat-identite").inner_text() == "Vérifiée"
    # Write-only: the password field comes back empty, the page source holds no password.
    assert page.input_value("#ne-password") == ""
    assert DUPONT_PASSWORD not in page.content()

    # --- Martin: the same procedure, right the first time (confirmation still valid) ---
    _open_identity_tab(page, "martin")
    _type_identity(page, MARTIN, MARTIN_PASSWORD)
    marks = _test(page)
    assert list(marks.values()) == ["ok", "ok", "ok"], marks
    page.click("#enregistrer")
    page.wait_for_selector("text=L'identité Net-entreprises a été enregistrée.")
    assert len(sim.attempts(MARTIN["siret"])) == 1

    page.click("nav.navigation >> text=Comptes utilisateurs")
    for user in ("dupont", "martin"):
        row = page.locator(f"#comptes tr[data-login={user}]")
        assert "Vérifiée" in row.locator(".etat-identite").inner_text()
    shot(page, "comptes-utilisateurs-verifies")

    page.click("#comptes a:text-is('dupont')")
    shot(page, "compte")
    page.click("nav.onglets >> text=Connexion")
    page.check("input[name=mode][value=etendu]")
    page.click("#form-connexion button[type=submit]")
    page.wait_for_selector("text=Les paramètres de connexion ont été enregistrés.")
    assert page.is_checked("input[name=mode][value=etendu]")
    shot(page, "connexion")

    # The canary passwords: in no page seen, and not in the server's log.
    log = served.log()
    assert "identity_set" in log or "login_ok" in log or log  # the log was written
    for secret in (DUPONT_PASSWORD, MARTIN_PASSWORD):
        assert secret not in log
        assert secret not in page.content()


def test_security_headers_and_logout(served: Served, page: Any) -> None:
    answer = httpx.get(served.url + "connexion")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    login(page, served, "Administrateur", ADMIN_PASSWORD)
    cookies = page.context.cookies()
    (session,) = [c for c in cookies if c["name"] == "dsnlink_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    page.click("text=Se déconnecter")
    page.wait_for_url(lambda url: url.endswith("/connexion"))
    page.goto(served.url + "comptes")
    assert "/connexion" in page.url


def test_keyboard_only_login_and_navigation(served: Served, page: Any) -> None:
    page.goto(served.url + "connexion")
    # The login field has the focus; Tab reaches the password, Enter submits.
    page.keyboard.type("Administrateur")
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/connexion" not in page.url
    # The first Tab stop is the skip link, which leads to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    assert page.locator("a.skip").is_visible()
