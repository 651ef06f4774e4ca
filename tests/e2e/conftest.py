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

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dsnlink.settings import Settings
from dsnlink.setup import init_installation
from dsnlink.store.records import Module
from tests.support.web import PortalWorld, portal_world

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ADMIN_PASSWORD = "Administrateur-e2e-1!"
USER_PASSWORD = "Utilisateur-e2e-1!"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    url: str
    world: PortalWorld
    data_dir: Path
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("dsnlink serve exited:\n" + log_path.read_text())
        try:
            if httpx.get(url + "connexion", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("dsnlink serve did not start:\n" + log_path.read_text())


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    with portal_world(tmp_path) as world:
        data_dir = tmp_path / "installation"
        env = dict(os.environ)
        env.update(
            DSNLINK_DATA_DIR=str(data_dir),
            DSNLINK_KEYRING="false",
            DSNLINK_PASSWORD_HASH_PROFILE="fast-insecure-tests",
            DSNLINK_LOG_LEVEL="INFO",
            **world.env(),
        )
        settings = Settings(
            data_dir=data_dir,
            keyring=False,
            password_hash_profile="fast-insecure-tests",
            portal_profile="simulator",
            portal_simulator_url=world.sim.base_url,
            portal_ca_bundle=world.ca_file,
        )
        app = init_installation(
            settings,
            name="Association Les Amis",
            admin_password=ADMIN_PASSWORD,
            tiers_de_confiance="GUICHET ASSOCIATIONS URSSAF",
        )
        admin = app.accounts.users.authenticate("Administrateur", ADMIN_PASSWORD)
        world.configure(app, admin)
        for login, name in (("dupont", "Marie Dupont"), ("martin", "Paul Martin")):
            app.accounts.users.create(
                admin,
                login=login,
                display_name=name,
                password=USER_PASSWORD,
                rights=[Module.DECLARATIONS, Module.PAYSLIPS],
            )
        app.close()
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        log_path = tmp_path / "serve.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "dsnlink", "serve", "--port", str(port), "--interval", "1"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_ready(url, process, log_path)
            yield Served(url, world, data_dir, env, log_path, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
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
