"""Shared fixtures: hermetic environment, PostgreSQL, browser, CI strictness.

Under ``CI=true`` a test skipped for a missing PostgreSQL server or browser is a failure:
CI installs both, so a skip there would hide a broken install step.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support.mailservers import Mailbox, Webhook

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
# ``shared/`` sits beside the checkout (CI, /work/main) or one level up (a git worktree).
SHARED = next(
    (p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").is_dir()),
    ROOT.parent / "shared",
)
REFERENCE = SHARED / "reference"

#: kept from the machine: the PostgreSQL of the tests, and the choice of the norme validator's
#: path (the whole suite can run on the pure-Python path; CI requires the compiled one)
_KEPT_VARS = ("DSNLINK_TEST_PG_URL", "DSNLINK_NO_SPEEDUPS", "DSNLINK_REQUIRE_SPEEDUPS")
_PROXY_VARS = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
)

# Subprocesses started by tests (CLI, servers, workers) must import this tree's sources.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True)
def hermetic_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """No proxy, no DSNLINK_* from the machine, a fresh data folder, cheap password hashing."""
    for name in list(os.environ):
        if name.startswith("DSNLINK_") and name not in _KEPT_VARS:
            monkeypatch.delenv(name, raising=False)
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path_factory.mktemp("dsnlink-data")
    monkeypatch.setenv("DSNLINK_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DSNLINK_PASSWORD_HASH_PROFILE", "fast-insecure-tests")
    monkeypatch.setenv("DSNLINK_KEYRING", "false")
    from dsnlink.settings import get_settings

    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        pytest.fail(f"reference material not found at {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of the PostgreSQL server for tests; skipped (failed under CI) when absent."""
    url = os.environ.get("DSNLINK_TEST_PG_URL")
    if not url:
        if in_ci():
            pytest.fail("DSNLINK_TEST_PG_URL is not set under CI")
        pytest.skip("DSNLINK_TEST_PG_URL is not set: PostgreSQL tests skipped")
    return url


@pytest.fixture
def fresh_pg_url(pg_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server, dropped afterwards.

    Each test gets its own database so that parallel runs (xdist, several checkouts) never see
    each other's rows. Its commits do not wait for the disk (``synchronous_commit = off``).
    """
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    name = f"dsnlink_t_{uuid.uuid4().hex[:12]}"
    admin = make_url(pg_url).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        # A commit does not wait for the disk: what the tests prove (transactions, locks,
        # crashes of our processes) is the same, without an fsync per commit on a shared
        # machine. Losing the last commits only follows a crash of the server itself.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    try:
        yield (
            make_url(pg_url)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1; its mailbox keeps every mail it accepted."""
    from tests.support.mailservers import smtp_server

    with smtp_server() as box:
        yield box


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """An HTTP server on 127.0.0.1 keeping the JSON body of every POST to its ``url``."""
    from tests.support.mailservers import webhook_server

    with webhook_server() as hook:
        yield hook


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        if in_ci():
            pytest.fail("Debian's chromium is not installed under CI")
        pytest.skip("chromium not installed: browser tests skipped")
    return path


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI, any skipped test fails the run (a skip would hide a missing service)."""
    if not in_ci():
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and session.exitstatus == 0:
        sys.stderr.write(f"\nCI: {skipped} test(s) skipped; a skip is a failure under CI.\n")
        session.exitstatus = 1
