"""``dsnlink serve`` as a real process: the pages, the runner and the watched folder share the
SQLite database under a concurrent load, without "database is locked" and without a 5xx."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from dsnlink.accounts import IdentityInput
from dsnlink.setup import App
from dsnlink.store.records import Environment, User
from tests.integration.pipeline_world import DECLARANT, dsn_for, siret
from tests.support.web import ADMIN_PASSWORD, USER_PASSWORD, portal_world, serving

FILES = 3


def _prepare(app: App, admin: User) -> None:
    """The Administrateur (the watched folder's account) declares for three employers with
    the simulator's default declarant account."""
    app.accounts.identities.set(
        admin,
        confirm=ADMIN_PASSWORD,
        owner_login="Administrateur",
        values=IdentityInput(*DECLARANT[:3], Environment.SIMULATOR, DECLARANT[3]),
    )
    for n in range(FILES):
        number = siret(n + 1)
        app.accounts.employers.add(admin, siret=number, name=f"Employeur {n + 1}", due_day=15)
        app.accounts.employers.link(admin, siret=number, user_login="Administrateur")


def _load(url: str, login: str, stop: threading.Event, statuses: list[int]) -> None:
    """One browser-like user: logs in, changes their name, reads pages, lints, again."""
    headers = {"Origin": url.rstrip("/")}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        n = 0
        while not stop.is_set():
            answers = [
                client.post("/api/v1/session", json={"login": login, "password": USER_PASSWORD}),
                client.patch(f"/api/v1/users/{login}", json={"display_name": f"{login} {n}"}),
                client.get("/comptes"),
                client.get(f"/comptes/{login}/connexion"),
                client.post("/api/v1/lint/identity", json={"siret": "1", "nom": f"x{n} "}),
            ]
            statuses.extend(a.status_code for a in answers)
            n += 1


def test_pages_runner_and_watched_folder_share_sqlite_under_load(tmp_path: Path) -> None:
    watch = tmp_path / "depot-paie"
    watch.mkdir()
    with (
        portal_world(tmp_path) as world,
        serving(
            tmp_path, world, extra_env={"DSNLINK_WATCH_DIR": str(watch)}, prepare=_prepare
        ) as served,
    ):
        stop = threading.Event()
        statuses: list[int] = []
        with ThreadPoolExecutor(4) as pool:
            loads = [
                pool.submit(_load, served.url, login, stop, statuses)
                for login in ("dupont", "martin", "dupont", "martin")
            ]
            for n in range(FILES):
                partial = watch / f"paie-{n}.dsn.part"
                partial.write_bytes(dsn_for(siret(n + 1), seed=n))
                partial.rename(watch / f"paie-{n}.dsn")
            deadline = time.monotonic() + 90
            done = watch / "deposes"
            while time.monotonic() < deadline:
                if len(world.sim.deposits()) >= FILES:
                    break
                time.sleep(0.5)
            stop.set()
            for load in loads:
                load.result()
        log = served.log()
        assert len(list(done.glob("*.dsn"))) == FILES, log[-3000:]
        assert len(world.sim.deposits()) == FILES
        assert len(statuses) > 50
        assert all(status < 500 for status in statuses), sorted(set(statuses))
        assert set(statuses) <= {200, 303}, sorted(set(statuses))
        assert "database is locked" not in log
        assert "Traceback" not in log


def test_connection_test_steps_arrive_as_they_end(tmp_path: Path) -> None:
    """Over a real socket, the test's steps come in several pieces, not one answer at the end."""
    from tests.support.web import DUPONT, DUPONT_PASSWORD

    with portal_world(tmp_path) as world, serving(tmp_path, world) as served:
        headers = {"Origin": served.url.rstrip("/")}
        with httpx.Client(base_url=served.url, headers=headers, timeout=60) as client:
            logged = client.post(
                "/api/v1/session", json={"login": "Administrateur", "password": ADMIN_PASSWORD}
            )
            assert logged.status_code == 200
            assert (
                client.post("/api/v1/session/confirm", json={"password": ADMIN_PASSWORD})
            ).status_code == 204
            body = {**DUPONT, "environment": "simulator", "password": DUPONT_PASSWORD}
            chunks: list[bytes] = []
            with client.stream(
                "POST", "/api/v1/users/dupont/connection-test/stream", json=body
            ) as answer:
                assert answer.status_code == 200
                chunks.extend(answer.iter_raw())
        text = b"".join(chunks).decode()
        assert len(chunks) > 1, "the steps were buffered until the end"
        assert text.rstrip().splitlines()[-1].startswith('{"type": "report"')
        assert '"all_green": true' in text
        assert DUPONT_PASSWORD not in text
        assert DUPONT_PASSWORD not in served.log()
