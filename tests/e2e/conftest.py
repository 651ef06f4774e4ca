"""Browser tests: ``dsnlink serve`` as a real subprocess on a free loopback port, the simulator
(HTTPS, its own CA) as Net-entreprises, and Debian's chromium driven by playwright.

Fixtures for every browser test:

- ``served``: the installation (Administrateur, Dupont, Martin; connection settings pointing
  at the simulator and a local update feed) and the running server (``served.url``,
  ``served.world.sim``, ``served.log()`` for its stderr);
- ``page``: a fresh chromium page (``--no-sandbox``; never ``playwright install``);
- ``shot(page, name)``: a full-page screenshot into ``tests/e2e/artifacts/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.web import ADMIN_PASSWORD, USER_PASSWORD, Served, portal_world, serving

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
__all__ = ["ADMIN_PASSWORD", "USER_PASSWORD", "Served", "login"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with portal_world(tmp_path) as world, serving(tmp_path, world) as running:
        yield running


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    # Module scope, not session: playwright's sync API keeps an event loop running in this
    # thread while it lives, and the asyncio tests that xdist hands this worker afterwards
    # could not start theirs.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="fr-FR")
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Refused requests (a 409 the page explains) are logged as console errors too: keep
    # only what points at a broken page, a script error or a Content-Security-Policy block.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    try:
        yield page
    finally:
        context.close()
    # A CSP violation or a script error would show here.
    assert not errors, errors


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def login(page: Any, served: Served, user: str, password: str) -> None:
    page.goto(served.url + "connexion")
    page.fill("#login", user)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/connexion" not in page.url, page.inner_text("main")
