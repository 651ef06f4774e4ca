"""``dsnlink serve`` as a real process: the pages, the runner and the watched folder share the
SQLite database under a concurrent load, without "database is locked" and without a 5xx; with
``--workers 2``, both web processes answer, one runner works, and SIGTERM stops them all."""

from __future__ import annotations

import subprocess
import sys
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


def _load(
    url: str, login: str, stop: threading.Event, statuses: list[int], *, fresh: bool = False
) -> None:
    """One browser-like user: logs in, changes their name, reads pages, lints, again (with
    ``fresh``, over a new connection each time: several web processes each get their share)."""
    headers = {"Origin": url.rstrip("/")}
    n = 0
    while not stop.is_set():
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            while not stop.is_set():
                answers = [
                    client.post(
                        "/api/v1/session", json={"login": login, "password": USER_PASSWORD}
                    ),
                    client.patch(f"/api/v1/users/{login}", json={"display_name": f"{login} {n}"}),
                    client.get("/comptes"),
                    client.get(f"/comptes/{login}/connexion"),
                    client.post("/api/v1/lint/identity", json={"siret": "1", "nom": f"x{n} "}),
                ]
                statuses.extend(a.status_code for a in answers)
                n += 1
                if fresh:
                    break


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


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _cpu_ticks(pid: int) -> int:
    # utime + stime: fields 14 and 15 of /proc/PID/stat, after the parenthesised name.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # exited, not yet reaped by its new parent


def _web_processes(serve_pid: int, count: int) -> list[int]:
    """The web processes of ``dsnlink serve``: its children running the application (uvicorn's
    spawn also starts a resource tracker, which is not one)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        web = [
            pid
            for pid in _children(serve_pid)
            if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        if len(web) == count:
            return web
        time.sleep(0.2)
    raise AssertionError(f"expected {count} web processes, found {web}")


def test_several_web_processes_answer_with_one_runner_and_stop_gracefully(
    tmp_path: Path,
) -> None:
    from dsnlink.jobs.activity import file_lock_holder

    watch = tmp_path / "depot-paie"
    watch.mkdir()
    with (
        portal_world(tmp_path) as world,
        serving(
            tmp_path,
            world,
            extra_env={"DSNLINK_WATCH_DIR": str(watch)},
            prepare=_prepare,
            workers=2,
        ) as served,
    ):
        serve_pid = served.process.pid
        web = _web_processes(serve_pid, 2)
        # One runner, in the parent: it holds the runner's lock; no web process does.
        assert file_lock_holder(served.data_dir / "runner.lock") == (True, serve_pid)
        before = {pid: _cpu_ticks(pid) for pid in web}
        statuses: list[int] = []
        stop = threading.Event()
        with ThreadPoolExecutor(4) as pool:
            loads = [
                pool.submit(_load, served.url, login, stop, statuses, fresh=True)
                for login in ("dupont", "martin", "dupont", "martin")
            ]
            # Meanwhile the watched folder, read by the parent alone, deposits each file once.
            for n in range(FILES):
                partial = watch / f"paie-{n}.dsn.part"
                partial.write_bytes(dsn_for(siret(n + 1), seed=n))
                partial.rename(watch / f"paie-{n}.dsn")
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and len(world.sim.deposits()) < FILES:
                time.sleep(0.5)
            time.sleep(2)  # a second runner would have sent some file again by now
            stop.set()
            for load in loads:
                load.result()
        # Each process answered its share (the load's connections are spread over both).
        assert all(_cpu_ticks(pid) > before[pid] + 10 for pid in web), (before, web)
        assert len(world.sim.deposits()) == FILES
        assert len(list((watch / "deposes").glob("*.dsn"))) == FILES
        assert set(statuses) <= {200, 303}, sorted(set(statuses))
        # Any web process says the runner works in this server (its parent).
        headers = {"Origin": served.url.rstrip("/")}
        with httpx.Client(base_url=served.url, headers=headers, timeout=30) as client:
            client.post(
                "/api/v1/session", json={"login": "Administrateur", "password": ADMIN_PASSWORD}
            )
            for _ in range(4):
                answer = client.get("/api/v1/maintenance/workers")
                assert answer.status_code == 200, answer.text
                assert answer.json()["runner"]["state"] == "here"
        # The port is this server's: a second one on it is refused, not given a share.
        second = subprocess.run(
            [sys.executable, "-m", "dsnlink", "serve", "--port", served.url.split(":")[2][:-1]],
            env=served.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode != 0, second.stderr[-2000:]
        assert "address already in use" in second.stderr.lower(), second.stderr[-2000:]
        # SIGTERM: the web processes finish and exit, then the parent, without an error.
        served.process.terminate()
        assert served.process.wait(timeout=60) == 0, served.log()[-3000:]
        assert all(_gone(pid) for pid in web)
        log = served.log()
        assert "database is locked" not in log
        assert "Traceback" not in log
