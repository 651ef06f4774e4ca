"""The Maintenance area in a real browser, against ``dsnlink serve``: the Santé page (the
doctor's checks), a backup taken with the button while the server keeps answering, then
verified; the runner of the server shown on Workers et file. No script error, no CSP block."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, Served, login

pytestmark = pytest.mark.browser

Shot = Callable[[Any, str], Path]


def test_health_backup_and_runner_pages(served: Served, page: Any, shot: Shot) -> None:
    login(page, served, "Administrateur", ADMIN_PASSWORD)
    page.click("nav.navigation >> text=Maintenance")
    page.wait_for_selector("#controles")
    assert page.url.endswith("/maintenance/sante")
    checks = page.locator("#controles li")
    names = {checks.nth(i).get_attribute("data-check") for i in range(checks.count())}
    assert {"database", "schema", "master_key", "disk", "last_backup"} <= names
    # No backup yet: the check says what to do.
    last = page.locator("li[data-check=last_backup]")
    assert last.get_attribute("data-status") == "warning"
    assert "Que faire" in last.inner_text()
    shot(page, "maintenance-sante")

    page.click("nav.onglets >> text=Sauvegardes")
    assert "Aucune sauvegarde dans ce dossier." in page.inner_text("#sauvegardes")
    page.click("#sauvegarder")
    # The page follows the backup (it refreshes itself while it runs) until it is written.
    page.wait_for_selector("#tache[data-state=done]", timeout=60_000)
    assert "Sauvegarde écrite" in page.inner_text("#tache")
    row = page.locator("#sauvegardes tbody tr").first
    assert "bonne" in row.inner_text()
    row.locator("text=Vérifier").click()
    page.wait_for_selector("#tache[data-kind=verify][data-state=done]", timeout=60_000)
    assert "Sauvegarde valide" in page.inner_text("#tache")
    assert "dsnlink restore" in page.inner_text("#restauration")
    shot(page, "maintenance-sauvegardes")

    page.click("nav.onglets >> text=Santé")
    assert page.locator("li[data-check=last_backup]").get_attribute("data-status") == "ok"

    page.click("nav.onglets >> text=Workers et file")
    assert page.locator("#executeur").get_attribute("data-state") == "here"
    assert "Il tourne dans ce serveur" in page.inner_text("#executeur")
    shot(page, "maintenance-workers")


def test_employer_settings_and_backup_schedule_forms(
    served: Served, page: Any, shot: Shot, tmp_path: Path
) -> None:
    login(page, served, "Administrateur", ADMIN_PASSWORD)
    # Employeurs: add one, then set its due day and "test d'abord" on its row.
    page.goto(served.url + "employeurs")
    page.fill("#siret", "356 000 000 00048")
    page.fill("#name", "Boulangerie Martin")
    with page.expect_navigation():
        page.click("#ajout-employeur button[type=submit]")
    row = page.locator("form.reglages[data-siret='35600000000048']")
    assert row.locator("select[name=due_day]").input_value() == "15"
    row.locator("select[name=due_day]").select_option("5")
    row.locator("input[name=test_first]").check()
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    row = page.locator("form.reglages[data-siret='35600000000048']")
    assert row.locator("select[name=due_day]").input_value() == "5"
    assert row.locator("input[name=test_first]").is_checked()
    shot(page, "employeurs-reglages")

    # Sauvegardes: no schedule yet, so the form is open; a missing folder is refused in French.
    page.goto(served.url + "maintenance/sauvegardes")
    form = page.locator("#programmation-form")
    assert form.is_visible()
    form.locator("#frequency").select_option("weekly")
    form.locator("#weekday").select_option("mardi")
    form.locator("#at").fill("03:30")
    form.locator("#target").fill(str(tmp_path / "absent"))
    form.locator("#keep").fill("4")
    with page.expect_navigation():
        form.locator("#programmer-bouton").click()
    assert "n'existe pas" in page.inner_text("[role=alert]")
    folder = tmp_path / "programmees"
    folder.mkdir()
    form = page.locator("#programmation-form")
    form.locator("#target").fill(str(folder))
    with page.expect_navigation():
        form.locator("#programmer-bouton").click()
    assert "Programmation des sauvegardes enregistrée." in page.inner_text("[role=status]")
    planned = page.inner_text("#programmation")
    assert "chaque mardi à 03:30" in planned and "les 4 plus récentes gardées" in planned
    assert str(folder) in page.inner_text("#dossier")
    shot(page, "maintenance-programmation")

    # Both changes are in the journal, with who made them.
    page.goto(served.url + "journal")
    journal = page.inner_text("main")
    assert "employer.policy" in journal and "backup.schedule" in journal
