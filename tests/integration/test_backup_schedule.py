"""Scheduled backups run by the runner: retention, and alerts by real SMTP when the target
folder was moved or is not writable, or the backup is overdue."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dsnlink.jobs.runner import Runner
from dsnlink.maintenance import archive
from dsnlink.maintenance.retention import list_backups
from dsnlink.maintenance.schedule import (
    BackupStep,
    backup_state,
    load_schedule,
    parse_schedule,
    run_due,
    save_schedule,
)
from dsnlink.pipeline.alerts import SmtpAlertSink
from dsnlink.pipeline.setup import SystemClock, open_pipeline
from dsnlink.settings import get_settings
from dsnlink.setup import App, open_app
from tests.integration.cli_helpers import ADMIN_PW, invoke
from tests.support.mailservers import Mailbox


@pytest.fixture
def app(hermetic_env: Path) -> Iterator[App]:
    assert invoke("init", DSNLINK_ADMIN_PASSWORD=ADMIN_PW).code == 0
    with open_app(get_settings()) as opened:
        yield opened


def _pipeline(app: App, port: int) -> Any:
    sink = SmtpAlertSink("127.0.0.1", port, "dsnlink@localhost", ["admin@example.org"])
    return open_pipeline(app, clock=SystemClock(), alerts=sink)


T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def test_retention_keeps_exactly_n_and_ignores_partial_files(
    app: App, smtp: Mailbox, tmp_path: Path
) -> None:
    target = tmp_path / "sauvegardes"
    target.mkdir()
    schedule = parse_schedule(frequency="daily", at="02:00", target=target, keep=3)
    save_schedule(app.store, schedule, now=T0)
    with _pipeline(app, smtp.port) as pipeline:
        # Same day, after the slot but before the schedule existed: nothing due.
        assert run_due(app.settings, app.db, pipeline, now=T0).status == "none"
        for day in range(1, 7):
            now = T0 + timedelta(days=day, hours=-9)  # 03:00 UTC, after 02:00 Paris
            outcome = run_due(app.settings, app.db, pipeline, now=now)
            assert outcome.status == "backed_up", outcome
            assert run_due(app.settings, app.db, pipeline, now=now).status == "done"
            good = list_backups(target)
            assert len(good) == min(day, 3)
            # A partial file of a dead backup, newer than all: never counted, never kept
            # in place of a good one.
            (
                target / f".{archive.PREFIX}29991231T000000000000Z{archive.SUFFIX}.partial"
            ).write_bytes(b"partial")
        names = [b.path.name for b in list_backups(target)]
        assert len(names) == 3 and all(b.good for b in list_backups(target))
        assert names[-1].startswith(f"{archive.PREFIX}20261108T030000")  # the newest kept
    assert smtp.messages == []


def test_moved_or_unwritable_target_alerts_once_per_slot_then_overdue(
    app: App, smtp: Mailbox, tmp_path: Path
) -> None:
    target = tmp_path / "sauvegardes"
    target.mkdir()
    save_schedule(app.store, parse_schedule(frequency="daily", at="02:00", target=target), now=T0)
    with _pipeline(app, smtp.port) as pipeline:
        day1 = T0 + timedelta(days=1, hours=-10, minutes=-30)  # 01:30 UTC: 30 min after the slot
        assert run_due(app.settings, app.db, pipeline, now=day1).status == "backed_up"
        target.rename(tmp_path / "renommé")  # the folder was moved
        day2 = day1 + timedelta(days=1)
        outcome = run_due(app.settings, app.db, pipeline, now=day2)
        assert outcome.status == "failed" and "n'existe pas" in (outcome.error or "")
        _wait_for(lambda: len(smtp.messages) == 1)
        mail = smtp.messages[0]
        assert mail.subject == "[dsnlink] La sauvegarde programmée a échoué"
        body = mail.text()
        assert "n'existe pas" in body and "dsnlink backup schedule set" in body
        assert str(target) in body
        state = backup_state(app.db)
        assert "n'existe pas" in state["last_failure"]["message"]
        # Retried later, the same slot never mails twice; once overdue, one more alert.
        later = day2 + timedelta(minutes=5)
        assert run_due(app.settings, app.db, pipeline, now=later).status == "waiting"
        overdue = day2 + timedelta(hours=3)
        assert run_due(app.settings, app.db, pipeline, now=overdue).status == "failed"
        _wait_for(lambda: len(smtp.messages) == 2)
        assert smtp.subjects()[1] == "[dsnlink] Sauvegarde en retard"
        assert (
            run_due(app.settings, app.db, pipeline, now=overdue + timedelta(hours=1)).status
            == "failed"
        )
        time.sleep(0.2)
        assert len(smtp.messages) == 2

        # The folder is back but read-only: its own message, next slot, a new alert.
        target.mkdir()
        _make_unwritable(target)
        try:
            day3 = day2 + timedelta(days=1)
            outcome = run_due(app.settings, app.db, pipeline, now=day3)
            assert outcome.status == "failed" and "ne peut pas écrire" in (outcome.error or "")
            _wait_for(lambda: len(smtp.messages) == 3)
            assert "ne peut pas écrire" in smtp.messages[2].text()
        finally:
            _make_writable(target)
        # Fixed: the next run succeeds, and the doctor is happy again.
        day3b = day3 + timedelta(minutes=20)
        assert run_due(app.settings, app.db, pipeline, now=day3b).status == "backed_up"


def _make_unwritable(folder: Path) -> None:
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], check=False).returncode != 0:
            pytest.skip("chattr +i unavailable")
    else:
        folder.chmod(0o555)


def _make_writable(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], check=False)
    else:
        folder.chmod(0o755)


def _wait_for(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_schedule_set_checks_the_folder_at_once(app: App, tmp_path: Path) -> None:
    env = {"DSNLINK_PASSWORD": ADMIN_PW, "DSNLINK_USER": "Administrateur"}
    missing = tmp_path / "nulle-part"
    r = invoke(
        "backup", "schedule", "set", "--frequency", "weekly", "--weekday", "vendredi",
        "--at", "23:30", "--to", str(missing), "--json", **env,
    )  # fmt: skip
    assert r.code == 14 and "n'existe pas" in r.json()["error"]["message"]
    assert load_schedule(app.db) is None
    r = invoke(
        "backup", "schedule", "set", "--frequency", "monthly", "--day", "31",
        "--to", str(tmp_path), "--json", **env,
    )  # fmt: skip
    assert r.code == 2 and "28" in r.json()["error"]["message"]
    r = invoke(
        "backup", "schedule", "set", "--frequency", "weekly", "--weekday", "vendredi",
        "--at", "23:30", "--to", str(tmp_path), "--keep", "7", "--json", **env,
    )  # fmt: skip
    assert r.code == 0, r.stdout + r.stderr
    assert r.json()["keep"] == 7 and r.json()["weekday"] == "vendredi"
    r = invoke("backup", "schedule", "show", "--json", **env)
    shown = r.json()["schedule"]
    assert shown["frequency"] == "weekly" and shown["at"] == "23:30"
    nxt = datetime.fromisoformat(shown["next"])
    assert nxt.astimezone(ZoneInfo("Europe/Paris")).weekday() == 4
    # Administration alone may set it too (as on the Sauvegardes page); it is in the journal.
    assert invoke(
        "users", "create", "exploit", "--right", "administration", "--password-stdin",
        input="exploit-password-1\n", **env,
    ).code == 0  # fmt: skip
    r = invoke(
        "backup", "schedule", "set", "--frequency", "daily", "--to", str(tmp_path),
        "--as", "exploit", "--json", DSNLINK_PASSWORD="exploit-password-1",
    )  # fmt: skip
    assert r.code == 0, r.stdout + r.stderr
    journal = invoke("audit", "--json", **env).json()
    assert [e["actor"] for e in journal if e["action"] == "backup.schedule"][:1] == ["exploit"]
    # Without administration or configuration: refused.
    assert invoke(
        "users", "create", "paie", "--right", "payslips", "--password-stdin",
        input="paie-password-1\n", **env,
    ).code == 0  # fmt: skip
    r = invoke(
        "backup", "schedule", "set", "--frequency", "daily", "--to", str(tmp_path),
        "--as", "paie", "--json", DSNLINK_PASSWORD="paie-password-1",
    )  # fmt: skip
    assert r.code == 4


def test_the_runner_takes_the_scheduled_backup(app: App, smtp: Mailbox, tmp_path: Path) -> None:
    target = tmp_path / "sauvegardes"
    target.mkdir()
    # Set yesterday: today's slot is due as soon as the runner looks.
    save_schedule(
        app.store,
        parse_schedule(frequency="daily", at="00:00", target=target),
        now=datetime.now(UTC) - timedelta(days=2),
    )
    with _pipeline(app, smtp.port) as pipeline:
        runner = Runner(pipeline, periodic=[BackupStep(app.settings, app.db, pipeline)])
        thread = threading.Thread(
            target=runner.run_forever, kwargs={"interval": 0.05, "sync_every": 1}, daemon=True
        )
        thread.start()
        try:
            _wait_for(lambda: len(list_backups(target)) == 1, timeout=30)
        finally:
            runner.stop()
            thread.join(timeout=30)
    assert backup_state(app.db)["last_good"]["file"] == str(list_backups(target)[0].path)
