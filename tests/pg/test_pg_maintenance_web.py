"""The Centre de maintenance's Workers et file page on a réseau installation, against the real
PostgreSQL server and a real procrastinate queue: live workers, jobs by task and state, a
job left running by a worker that died (stalled), the runner's advisory lock; and the health
and backups of a réseau installation, the database password never shown."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from dsnlink.jobs.locks import runner_lock
from dsnlink.jobs.queue import DISPATCH_TASK, STEP_TASK, build_queue, conninfo
from dsnlink.settings import get_settings
from dsnlink.setup import App, init_installation
from dsnlink.web.app import create_app

pytestmark = [pytest.mark.pg, pytest.mark.anyio]

BASE_URL = "http://dsnlink.test"
ADMIN_PASSWORD = "Administrateur-reseau-1!"
#: Trust authentication ignores it; it must still never be shown.
DB_PASSWORD = "Canary-PG-mot-de-passe-42"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def reseau(
    hermetic_env: Path, fresh_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[App, str]]:
    url = make_url(fresh_pg_url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    monkeypatch.setenv("DSNLINK_DATABASE_URL", url)
    get_settings.cache_clear()
    app = init_installation(get_settings(), name="Cabinet Durand", admin_password=ADMIN_PASSWORD)
    try:
        yield app, url
    finally:
        app.close()
        get_settings.cache_clear()


@pytest.fixture
async def client(reseau: tuple[App, str]) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    web = create_app(reseau[0])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url=BASE_URL, headers={"Origin": BASE_URL}
    ) as c:
        answer = await c.post(
            "/api/v1/session", json={"login": "Administrateur", "password": ADMIN_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        yield c, web


async def test_workers_and_queue_of_a_reseau_installation(
    reseau: tuple[App, str], client: tuple[httpx.AsyncClient, FastAPI]
) -> None:
    app, url = reseau
    c, _web = client
    empty = (await c.get("/api/v1/maintenance/workers")).json()
    assert empty["mode"] == "reseau" and empty["runner"] is None
    assert empty["queue"]["installed"] is True
    assert empty["queue"]["workers"] == [] and empty["queue"]["stalled"] == []
    page = await c.get("/maintenance/workers")
    assert "Aucun worker ne tourne" in page.text and "dsnlink worker" in page.text
    assert empty["queue"]["runner_elsewhere"] is False
    # A « dsnlink run » holding the database (its advisory lock) is seen, without the page
    # ever trying the lock itself.
    with runner_lock(app.db, app.settings.data_dir / "runner.lock"):
        held = (await c.get("/api/v1/maintenance/workers")).json()
        assert held["queue"]["runner_elsewhere"] is True
        assert "Un « dsnlink run » tient la base" in (await c.get("/maintenance/workers")).text
    # Real jobs in the real queue: three envois' steps (two identities) and a dispatch.
    queue = build_queue(url)
    with queue.open():
        for n, identity in ((1, "1"), (2, "1"), (3, "2")):
            queue.tasks[STEP_TASK].configure(
                lock=f"identity:{identity}", queueing_lock=f"envoi:e{n}"
            ).defer(envoi_id=f"e{n}")
        queue.tasks[DISPATCH_TASK].defer(timestamp=0)
    # Two workers: one alive, one whose heartbeat stopped an hour ago and which had
    # fetched a job (as procrastinate fetches: the job is "doing", attached to it).
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        alive = conn.execute("SELECT procrastinate_register_worker_v1()").fetchone()
        dead = conn.execute("SELECT procrastinate_register_worker_v1()").fetchone()
        assert alive is not None and dead is not None
        alive_id, dead_id = int(alive[0]), int(dead[0])
        conn.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' "
            "WHERE id = %s",
            (dead_id,),
        )
        fetched = conn.execute(
            "SELECT id, task_name FROM procrastinate_fetch_job_v2(NULL, %s)", (dead_id,)
        ).fetchone()
        running = conn.execute(
            "SELECT id FROM procrastinate_fetch_job_v2(NULL, %s)", (alive_id,)
        ).fetchone()
        assert fetched is not None and running is not None
        stalled_id = int(fetched[0])
    data = (await c.get("/api/v1/maintenance/workers")).json()
    q = data["queue"]
    assert [w["id"] for w in q["workers"]] == [alive_id]
    assert q["workers"][0]["running"] == 1
    assert q["totals"]["todo"] == 2 and q["totals"]["doing"] == 2
    assert sum(q["jobs"][STEP_TASK].values()) == 3
    assert q["jobs"][DISPATCH_TASK] in ({"todo": 1}, {"doing": 1})
    assert [j["id"] for j in q["stalled"]] == [stalled_id]
    stalled = q["stalled"][0]
    assert stalled["worker_id"] == dead_id and stalled["task"] == fetched[1]
    assert stalled["started_at"] is not None
    assert q["runner_elsewhere"] is False
    page = await c.get("/maintenance/workers")
    assert page.status_code == 200
    assert f'data-worker="{alive_id}"' in page.text
    assert f'data-job="{stalled_id}"' in page.text
    assert f'data-task="{STEP_TASK}"' in page.text
    assert '<li data-state="todo"><strong>2</strong> en attente</li>' in page.text
    for path in ("/maintenance/workers", "/api/v1/maintenance/workers"):
        assert DB_PASSWORD not in (await c.get(path)).text


async def test_health_and_backup_of_a_reseau_installation(
    reseau: tuple[App, str], client: tuple[httpx.AsyncClient, FastAPI]
) -> None:
    from dsnlink.maintenance.background import MaintenanceTasks

    c, web = client
    health = (await c.get("/api/v1/maintenance/health")).json()
    database = next(ch for ch in health["checks"] if ch["name"] == "database")
    assert database["status"] == "ok"
    started = await c.post("/api/v1/maintenance/backups")
    assert started.status_code == 202, started.text
    tasks = web.state.maintenance_tasks
    assert isinstance(tasks, MaintenanceTasks)
    done = tasks.wait(120)
    assert done is not None and done.state == "done", done
    assert done.result is not None
    name = done.result["file"]
    await c.post("/api/v1/maintenance/backups/verify", json={"file": name})
    checked = tasks.wait(180)
    # The dump is restored into a scratch database of the same server and counted.
    assert checked is not None and checked.state == "done", checked
    listing = (await c.get("/api/v1/maintenance/backups")).json()
    assert [b["file"] for b in listing["backups"]] == [name]
    for path in (
        "/maintenance/sante",
        "/maintenance/sauvegardes",
        "/api/v1/maintenance/health",
        "/api/v1/maintenance/backups",
        "/api/v1/maintenance/task",
    ):
        answer = await c.get(path)
        assert answer.status_code == 200, (path, answer.text)
        assert DB_PASSWORD not in answer.text, path
