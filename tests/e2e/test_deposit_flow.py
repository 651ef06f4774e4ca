"""The business pages in a real browser against ``dsnlink serve`` and the simulator: upload a
DSN, read the check report, deposit it, see its AEE, move the simulator's clock, see the CRM 94
rates; a screenshot of each main page."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dsnlink.accounts import IdentityInput
from dsnlink.norme import generate_monthly_dsn
from dsnlink.setup import App
from dsnlink.store.records import Environment, User
from tests.e2e.conftest import ADMIN_PASSWORD, USER_PASSWORD, Served, login
from tests.support.web import DUPONT, DUPONT_PASSWORD, portal_world, serving

pytestmark = pytest.mark.browser

Shot = Callable[[Any, str], Path]
#: The employer Dupont declares for (a valid SIRET the simulator accepts deposits for).
EMPLOYER = ("35600000000048", "Boulangerie Martin")


def _prepare(app: App, admin: User) -> None:
    """What the sheet's procedure leaves behind for Dupont, and one employer of his."""
    app.accounts.identities.set(
        admin,
        confirm=ADMIN_PASSWORD,
        owner_login="dupont",
        values=IdentityInput(
            DUPONT["siret"], DUPONT["nom"], DUPONT["prenom"], Environment.SIMULATOR, DUPONT_PASSWORD
        ),
    )
    siret, name = EMPLOYER
    app.accounts.employers.add(admin, siret=siret, name=name, due_day=15)
    app.accounts.employers.link(admin, siret=siret, user_login="dupont")


@pytest.fixture
def served_with_employer(tmp_path: Path) -> Iterator[Served]:
    with (
        portal_world(tmp_path) as world,
        serving(tmp_path, world, prepare=_prepare) as running,
    ):
        yield running


def _reload_until(page: Any, selector: str, text: str, timeout: float = 60.0) -> str:
    """Reload until ``selector`` holds ``text`` (the runner of ``dsnlink serve`` works in the
    background, every second in these tests)."""
    deadline = time.monotonic() + timeout
    while True:
        content = page.inner_text(selector) if page.locator(selector).count() else ""
        if text in content:
            return content
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never appeared in {selector}: {content!r}")
        time.sleep(1)
        page.reload()


def test_upload_deposit_aee_then_crm94_rates(
    served_with_employer: Served, page: Any, shot: Shot, tmp_path: Path
) -> None:
    served = served_with_employer
    sim = served.world.sim
    dsn = tmp_path / "paie-2026-10.dsn"
    dsn.write_bytes(generate_monthly_dsn(4, siret=EMPLOYER[0], month="2026-10", test=False, seed=7))

    login(page, served, "dupont", USER_PASSWORD)
    page.click("nav.navigation >> text=Dépôts")
    page.click("text=Déposer un fichier DSN")
    shot(page, "depot-envoi")
    page.set_input_files("#fichier", str(dsn))
    # Keyboard only from here: the submit button is reached with Tab and pressed with Enter.
    page.focus("#fichier")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Contrôler le fichier":
            break
    else:
        raise AssertionError("the check button cannot be reached with the keyboard")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Aucune anomalie bloquante" in page.inner_text("main")
    assert EMPLOYER[0] in page.inner_text("#declarations")
    shot(page, "depot-rapport-controle")
    assert sim.deposits() == []  # checked only: nothing sent before the confirmation

    page.check("#deposit input[value=no]")
    with page.expect_navigation():
        page.click("text=Déposer sur Net-entreprises")
    assert "/depots/" in page.url
    _reload_until(page, "#accuse", "AEE")
    idflux = page.inner_text("#idflux").strip()
    assert idflux and idflux != "—"
    assert [d["idflux"] for d in sim.deposits()] == [idflux]
    shot(page, "depot-detail-aee")

    page.click("nav.navigation >> text=Dépôts")
    assert idflux in page.inner_text("#depots")
    shot(page, "depots")

    # The platform's time passes: the CCO, then the DGFiP's CRM 94 with the rates.
    sim.advance("10m")
    sim.advance("4d")
    page.click("nav.navigation >> text=Taux PAS")
    rates = _reload_until(page, "main", "Taux PAS de 10/2026")
    assert "Exporter pour la paie" in rates
    shot(page, "taux-pas")

    page.click("nav.navigation >> text=Retours")
    assert "CRM 94" in page.inner_text("#retours")
    shot(page, "retours")
    page.click("#retours >> text=CRM 94 : taux PAS de la DGFiP")
    assert "taux PAS par salarié" in page.inner_text("main")
    shot(page, "retour-crm94")

    page.click("nav.navigation >> text=Échéances")
    assert EMPLOYER[1] in page.inner_text("#echeances")
    shot(page, "echeances")
    page.click("nav.navigation >> text=Employeurs")
    assert EMPLOYER[1] in page.inner_text("#employeurs")
    shot(page, "employeurs")

    page.click("text=Se déconnecter")
    login(page, served, "Administrateur", ADMIN_PASSWORD)
    page.click("nav.navigation >> text=Journal")
    assert "employer.add" in page.inner_text("#journal")
    shot(page, "journal")
    log = served.log()
    assert DUPONT_PASSWORD not in log
