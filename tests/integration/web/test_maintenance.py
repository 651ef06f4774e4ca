"""The Centre de maintenance's Maintenance area on a monoposte installation: health (the
doctor's checks), backups taken and verified in the background, the restore commands, the
in-process runner's state; rights, the error shape and no secret in any answer."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from markupsafe import escape

from dsnlink.jobs.locks import file_lock
from dsnlink.maintenance.background import MaintenanceTasks
from dsnlink.maintenance.doctor import diagnose
from dsnlink.maintenance.schedule import parse_schedule, save_schedule
from dsnlink.setup import App
from tests.integration.web.conftest import ADMIN_PASSWORD, USER_PASSWORD, Login

pytestmark = pytest.mark.anyio

API = "/api/v1/maintenance"


def _tasks(web_app: FastAPI) -> MaintenanceTasks:
    tasks = web_app.state.maintenance_tasks
    assert isinstance(tasks, MaintenanceTasks)
    return tasks


def _finished(web_app: FastAPI) -> dict[str, Any]:
    task = _tasks(web_app).wait(120)
    assert task is not None and task.state != "running"
    return task.to_dict()


async def test_health_is_the_doctors_with_its_remedies(
    admin: httpx.AsyncClient, web_ctx: App
) -> None:
    answer = await admin.get(f"{API}/health")
    assert answer.status_code == 200, answer.text
    health = answer.json()
    doctor = json.loads(json.dumps(diagnose(web_ctx.settings).to_dict(), default=str))
    assert [(c["name"], c["status"], c["message"], c["remedy"]) for c in health["checks"]] == [
        (c["name"], c["status"], c["message"], c["remedy"]) for c in doctor["checks"]
    ]
    assert health["status"] == doctor["status"]
    # No backup yet and none scheduled: a warning, with what to do.
    last = next(c for c in health["checks"] if c["name"] == "last_backup")
    assert last["status"] == "warning" and "dsnlink backup" in last["remedy"]
    page = await admin.get("/maintenance/sante")
    assert page.status_code == 200
    for check in health["checks"]:
        assert f'data-check="{check["name"]}" data-status="{check["status"]}"' in page.text
        assert str(escape(check["message"])) in page.text
        if check["status"] != "ok" and check["remedy"]:
            assert f"Que faire : {escape(check['remedy'])}" in page.text
    assert f'data-status="{health["status"]}"' in page.text
    # The navigation leads there; /maintenance opens the health tab.
    assert 'href="/maintenance"' in page.text
    home = await admin.get("/maintenance")
    assert home.status_code == 303 and home.headers["location"] == "/maintenance/sante"


async def test_backup_now_runs_in_the_background_then_verify(
    admin: httpx.AsyncClient, web_app: FastAPI, web_ctx: App
) -> None:
    # Nothing scheduled, no backup yet: the default folder will be created by the first one.
    before = (await admin.get(f"{API}/backups")).json()
    assert before["target"] == {
        "ok": True,
        "message": "Il sera créé à la première sauvegarde.",
        "remedy": None,
        "problem": None,
    }
    assert before["backups"] == [] and before["last_good"] is None
    started = await admin.post(f"{API}/backups")
    assert started.status_code == 202, started.text
    assert started.json()["task"]["kind"] == "backup"
    assert started.json()["task"]["actor"] == "Administrateur"
    done = _finished(web_app)
    assert done["state"] == "done", done
    name = done["result"]["file"]
    assert "/" not in name and name.startswith("dsnlink-backup-")
    listing = (await admin.get(f"{API}/backups")).json()
    assert listing["folder"] == str(web_ctx.settings.data_dir / "backups")
    assert listing["target"]["ok"] is True
    assert listing["scheduled"] is False and listing["schedule"] is None
    [item] = listing["backups"]
    assert item["file"] == name and item["good"] is True
    assert item["size"] == (web_ctx.settings.data_dir / "backups" / name).stat().st_size
    assert listing["last_good"]["file"].endswith(name)
    assert any(name in c and "dsnlink restore" in c for c in listing["restore_commands"])
    # The health check now sees a good backup.
    checks = (await admin.get(f"{API}/health")).json()["checks"]
    assert next(c for c in checks if c["name"] == "last_backup")["status"] == "ok"
    # Vérifier: the archive is restored apart and checked.
    verify = await admin.post(f"{API}/backups/verify", json={"file": name})
    assert verify.status_code == 202, verify.text
    checked = _finished(web_app)
    assert checked["kind"] == "verify" and checked["state"] == "done", checked
    assert checked["subject"] == name and checked["result"]["ok"] is True
    assert checked["result"]["checks"]
    assert (await admin.get(f"{API}/task")).json()["task"]["kind"] == "verify"
    # A damaged archive (truncated, under a good backup's name) is caught by the verify.
    folder = web_ctx.settings.data_dir / "backups"
    data = (folder / name).read_bytes()
    damaged = folder / "dsnlink-backup-20200101T000000000000Z.tar.gz"
    damaged.write_bytes(data[: len(data) * 2 // 3])
    # A backup killed half-way left its hidden partial file: shown apart, never a backup.
    partial = folder / ".dsnlink-backup-20200102T000000000000Z.tar.gz.partial"
    partial.write_bytes(data[:100])
    listing = (await admin.get(f"{API}/backups")).json()
    assert [p["file"] for p in listing["partial"]] == [partial.name]
    assert listing["partial"][0]["size"] == 100
    assert partial.name not in [b["file"] for b in listing["backups"]]
    assert f'data-partial="{partial.name}"' in (await admin.get("/maintenance/sauvegardes")).text
    not_a_backup = await admin.post(f"{API}/backups/verify", json={"file": partial.name})
    assert not_a_backup.status_code == 404
    await admin.post(f"{API}/backups/verify", json={"file": damaged.name})
    failed = _finished(web_app)
    assert failed["state"] == "failed"
    assert failed["error"]["code"] == "maintenance.backup_corrupt"
    page = await admin.get("/maintenance/sauvegardes")
    assert 'data-state="failed"' in page.text and "endommagée" in page.text
    # Who did it is in the journal.
    actions = {e.action for e in web_ctx.accounts.audit.search(_admin(web_ctx))}
    assert {"backup.take", "backup.verify"} <= actions


def _admin(app: App) -> Any:
    return app.accounts.users.authenticate("Administrateur", ADMIN_PASSWORD)


async def test_only_listed_archives_are_verified(admin: httpx.AsyncClient) -> None:
    for name in ("../../etc/passwd", "/etc/passwd", "dsnlink-backup-20260101T000000000000Z.tar.gz"):
        answer = await admin.post(f"{API}/backups/verify", json={"file": name})
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["code"] == "not_found"
    page = await admin.post("/maintenance/sauvegardes/verifier", data={"fichier": "x.tar.gz"})
    assert page.status_code == 404 and 'data-code="not_found"' in page.text


async def test_one_operation_at_a_time_and_the_page_follows_it(
    admin: httpx.AsyncClient, web_app: FastAPI
) -> None:
    import threading

    from dsnlink.web.routes.maintenance import tasks

    release = threading.Event()

    class _Request:
        app = web_app

    # A backup still running (held here), as a long one would be.
    tasks(_Request()).start(  # type: ignore[arg-type]
        "backup",
        lambda: {"file": "x", "size": 0, "returns": 0} if release.wait(60) else {},
        actor="Administrateur",
    )
    try:
        refused = await admin.post(f"{API}/backups")
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "maintenance.backup_in_progress"
        assert refused.json()["error"]["message"]
        page = await admin.get("/maintenance/sauvegardes")
        # Refreshes itself (no script: a meta refresh), buttons disabled while it runs.
        assert '<meta http-equiv="refresh" content="3">' in page.text
        assert 'data-state="running"' in page.text
        assert 'id="sauvegarder" disabled' in page.text
        clicked = await admin.post("/maintenance/sauvegardes")
        assert clicked.status_code == 409
        assert 'data-code="maintenance.backup_in_progress"' in clicked.text
    finally:
        release.set()
    _finished(web_app)
    page = await admin.get("/maintenance/sauvegardes")
    assert "http-equiv" not in page.text and 'data-state="done"' in page.text
    # The page's button starts a real backup and comes back to the page.
    clicked = await admin.post("/maintenance/sauvegardes")
    assert clicked.status_code == 303
    assert clicked.headers["location"] == "/maintenance/sauvegardes"
    assert _finished(web_app)["state"] == "done"
    page = await admin.get("/maintenance/sauvegardes")
    assert "Sauvegarde écrite" in page.text and "bonne" in page.text


async def test_a_moved_backup_folder_is_shown_with_what_to_do(
    admin: httpx.AsyncClient, web_app: FastAPI, web_ctx: App, tmp_path: Path
) -> None:
    folder = tmp_path / "sauvegardes"
    folder.mkdir()
    save_schedule(
        web_ctx.store, parse_schedule(frequency="daily", at="02:00", target=folder, keep=3)
    )
    listing = (await admin.get(f"{API}/backups")).json()
    assert listing["target"]["ok"] is True
    assert listing["schedule"]["keep"] == 3 and listing["schedule"]["next"]
    # Times are shown as Paris wall-clock time, as the schedule is set.
    shown = await admin.get("/maintenance/sauvegardes")
    assert "à 02:00." in shown.text and "les 3 plus récentes gardées" in shown.text
    folder.rename(tmp_path / "renomme")
    listing = (await admin.get(f"{API}/backups")).json()
    assert listing["target"]["ok"] is False
    assert listing["target"]["problem"] == "missing"
    assert "n'existe pas" in listing["target"]["message"]
    page = await admin.get("/maintenance/sauvegardes")
    assert 'data-ok="non"' in page.text and "Que faire" in page.text
    # "Sauvegarder maintenant" then fails with the same clear message, seen on the page.
    assert (await admin.post(f"{API}/backups")).status_code == 202
    failed = _finished(web_app)
    assert failed["state"] == "failed"
    assert failed["error"]["code"] == "maintenance.backup_target"
    health = (await admin.get(f"{API}/health")).json()
    target = next(c for c in health["checks"] if c["name"] == "backup_target")
    assert target["status"] == "failure"


async def test_the_schedule_is_set_on_the_page_by_administration_checked_and_audited(
    login_as: Login, web_ctx: App, tmp_path: Path
) -> None:
    from dsnlink.maintenance.schedule import load_schedule
    from dsnlink.store.records import Module

    web_ctx.accounts.users.create(
        _admin(web_ctx),
        login="exploitation",
        display_name="Exploitation",
        password=USER_PASSWORD,
        rights=[Module.ADMINISTRATION],
    )
    operator = await login_as("exploitation", USER_PASSWORD)
    folder = tmp_path / "sauvegardes"
    folder.mkdir()
    page = await operator.get("/maintenance/sauvegardes")
    assert 'id="programmation-form"' in page.text
    form = {
        "frequency": "weekly",
        "at": "03:30",
        "weekday": "mardi",
        "day": "1",
        "target": str(folder),
        "keep": "4",
        "enabled": "oui",
    }
    saved = await operator.post("/maintenance/sauvegardes/programmation", data=form)
    assert saved.status_code == 303
    shown = await operator.get(saved.headers["location"])
    assert "Programmation des sauvegardes enregistrée." in shown.text
    assert "chaque mardi à 03:30" in shown.text and "les 4 plus récentes gardées" in shown.text
    schedule = load_schedule(web_ctx.db)
    assert schedule is not None and (schedule.weekday, schedule.keep) == (1, 4)
    # French messages for what cannot be a schedule; the one saved stays.
    for change, message in (
        ({"at": "25:99"}, "Heure incorrecte"),
        ({"target": str(tmp_path / "absent")}, "n'existe pas"),
        ({"day": "premier"}, "n'est pas un nombre"),
        ({"frequency": "monthly", "day": "31"}, "entre 1 et 28"),
        ({"keep": "0"}, "au moins une sauvegarde"),
    ):
        wrong = await operator.post("/maintenance/sauvegardes/programmation", data=form | change)
        assert wrong.status_code in (409, 422), (change, wrong.status_code)
        assert str(escape(message)) in wrong.text, change
    assert load_schedule(web_ctx.db) == schedule
    # The API: suspended.
    api = await operator.put(
        f"{API}/backups/schedule",
        json={"frequency": "daily", "target": str(folder), "enabled": False},
    )
    assert api.status_code == 200 and api.json()["schedule"]["enabled"] is False
    assert "(suspendues)" in (await operator.get("/maintenance/sauvegardes")).text
    # Refused server-side to a declarant, before the folder is even looked at.
    dupont = await login_as("dupont", USER_PASSWORD)
    refused = await dupont.post("/maintenance/sauvegardes/programmation", data=form)
    assert refused.status_code == 403
    entries = [
        e for e in web_ctx.accounts.audit.search(_admin(web_ctx)) if e.action == "backup.schedule"
    ]
    assert [e.actor_login for e in entries] == ["exploitation", "exploitation"]


async def test_monoposte_runner_state(
    admin: httpx.AsyncClient, web_app: FastAPI, web_ctx: App
) -> None:
    answer = (await admin.get(f"{API}/workers")).json()
    assert answer["mode"] == "monoposte" and answer["queue"] is None
    assert answer["runner"]["state"] == "stopped"
    page = await admin.get("/maintenance/workers")
    assert 'data-state="stopped"' in page.text and "dsnlink run" in page.text
    lock = web_ctx.settings.data_dir / "runner.lock"
    # A runner in this process (as « dsnlink serve » runs it), with its figures.
    from dsnlink.jobs.runner import Runner
    from dsnlink.pipeline.setup import open_pipeline

    with open_pipeline(web_ctx) as pipeline, file_lock(lock):
        runner = Runner(pipeline, concurrency=3)
        runner.run_round()
        web_app.state.runner = runner
        here = (await admin.get(f"{API}/workers")).json()["runner"]
        assert here["state"] == "here"
        assert here["stats"]["rounds"] == 1 and here["stats"]["concurrency"] == 3
        page = await admin.get("/maintenance/workers")
        assert 'data-state="here"' in page.text and "1 tour(s)" in page.text
    # A « dsnlink run » of another process holding the lock.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            f"f = open({str(lock)!r}, 'a'); fcntl.flock(f, fcntl.LOCK_EX)\n"
            "print('pris', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "pris"
        elsewhere = (await admin.get(f"{API}/workers")).json()["runner"]
        assert elsewhere == {"state": "elsewhere", "pid": holder.pid, "stats": None}
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    deadline = time.monotonic() + 10
    while (await admin.get(f"{API}/workers")).json()["runner"]["state"] != "stopped":
        assert time.monotonic() < deadline
        time.sleep(0.1)


async def test_rights_and_navigation(login_as: Login, admin: httpx.AsyncClient) -> None:
    dupont = await login_as("dupont", USER_PASSWORD)  # declarations only
    page = await dupont.get("/")
    assert 'href="/maintenance"' not in page.text
    refused = await dupont.get(f"{API}/health")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "access.permission_denied"
    assert (await dupont.post(f"{API}/backups")).status_code == 403
    assert (await dupont.get("/maintenance/sauvegardes")).status_code == 403


async def test_no_secret_in_any_maintenance_answer(
    admin: httpx.AsyncClient, web_app: FastAPI, web_ctx: App
) -> None:
    await admin.post(f"{API}/backups")
    _finished(web_app)
    ring = json.loads((web_ctx.settings.data_dir / "master.key").read_text())
    keys = [base64.b64decode(v) for v in ring["keys"].values()]
    needles = [ADMIN_PASSWORD, *(base64.b64encode(k).decode() for k in keys)]
    needles += [k.hex() for k in keys]
    for path in (
        "/maintenance/sante",
        "/maintenance/sauvegardes",
        "/maintenance/workers",
        f"{API}/health",
        f"{API}/backups",
        f"{API}/task",
        f"{API}/workers",
    ):
        answer = await admin.get(path)
        assert answer.status_code == 200, (path, answer.text)
        for needle in needles:
            assert needle not in answer.text, path
