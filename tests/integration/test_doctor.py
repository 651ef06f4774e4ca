"""``dsnlink doctor``: one screen, one exit code (0 healthy, 1 warnings, 2 failures)."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dsnlink.maintenance.backup import record_state
from dsnlink.maintenance.schedule import backup_state, parse_schedule, save_schedule
from dsnlink.settings import get_settings
from dsnlink.setup import open_app
from dsnlink.store import open_database
from tests.integration.cli_helpers import ADMIN_PW, invoke
from tests.support.ledger_fill import fill


def _doctor() -> tuple[int, dict[str, dict[str, Any]]]:
    r = invoke("doctor", "--json")
    data = r.json()
    assert data["status"] == {0: "ok", 1: "warning", 2: "failure"}[r.code]
    return r.code, {c["name"]: c for c in data["checks"]}


def _sql(data_dir: Path, statement: str) -> None:
    with contextlib.closing(sqlite3.connect(data_dir / "dsnlink.sqlite3")) as conn, conn:
        conn.execute(statement)


def test_doctor_reports_each_problem_and_exits_accordingly(
    hermetic_env: Path, tmp_path: Path
) -> None:
    code, checks = _doctor()
    assert code == 2 and checks["database"]["status"] == "failure"
    assert "dsnlink init" in checks["database"]["remedy"]

    assert invoke("init", DSNLINK_ADMIN_PASSWORD=ADMIN_PW).code == 0
    code, checks = _doctor()
    assert code == 1, checks
    assert set(checks) >= {
        "database", "schema", "master_key", "disk", "last_backup", "identities", "jobs",
        "deadlines",
    }  # fmt: skip
    assert checks["last_backup"]["status"] == "warning"
    assert invoke("backup").code == 0
    code, checks = _doctor()
    assert code == 0, checks
    # People output: one line per check, then the verdict.
    r = invoke("doctor")
    assert r.code == 0 and "Bilan : bonne santé." in r.stdout

    # An identity whose password Net-entreprises refused.
    r = invoke(
        "identity", "set", "--siret", "99900000300015", "--nom", "N", "--prenom", "P",
        "--password-stdin", input="secret-pw-1\n", DSNLINK_PASSWORD=ADMIN_PW,
    )  # fmt: skip
    assert r.code == 0, r.stderr
    _sql(hermetic_env, "UPDATE identities SET state = 'wrong_credentials'")
    code, checks = _doctor()
    assert code == 2 and checks["identities"]["status"] == "failure"
    _sql(hermetic_env, "UPDATE identities SET state = 'ok'")

    # A deposit stuck in "sending" for hours (nothing picks it up: no runner).
    db = open_database(f"sqlite:///{hermetic_env / 'dsnlink.sqlite3'}")
    fill(db, 1)
    db.dispose()
    _sql(hermetic_env, "UPDATE envois SET state = 'sending', updated_at = '2020-01-01 00:00:00'")
    code, checks = _doctor()
    assert code == 2 and checks["jobs"]["status"] == "failure"
    assert checks["jobs"]["facts"]["stuck"] == 1
    _sql(hermetic_env, "UPDATE envois SET state = 'attention_needed'")
    code, checks = _doctor()
    assert code == 1 and checks["jobs"]["status"] == "warning"
    _sql(hermetic_env, "UPDATE envois SET state = 'complete'")

    # A schedule whose folder was moved, and whose backup is overdue.
    target = tmp_path / "sauvegardes"
    target.mkdir()
    with open_app(get_settings()) as app:
        save_schedule(
            app.store,
            parse_schedule(frequency="daily", at="01:00", target=target),
            now=datetime.now(UTC) - timedelta(days=3),
        )
        # The last good backup is from before the last two slots.
        state = backup_state(app.db)
        state["last_good"]["at"] = (datetime.now(UTC) - timedelta(days=2)).isoformat()
        record_state(app.db, state)
    target.rmdir()
    code, checks = _doctor()
    assert code == 2
    assert checks["backup_target"]["status"] == "failure"
    assert "n'existe pas" in checks["backup_target"]["message"]
    assert checks["last_backup"]["status"] == "failure"

    # No master key at all: failure, with what to do.
    (hermetic_env / "master.key").unlink()
    code, checks = _doctor()
    assert checks["master_key"]["status"] == "failure"


def test_doctor_deadlines_at_risk_and_overdue(hermetic_env: Path) -> None:
    from dsnlink.maintenance.doctor import diagnose

    assert invoke("init", DSNLINK_ADMIN_PASSWORD=ADMIN_PW).code == 0
    r = invoke("employers", "add", "99900000300015", "Association", DSNLINK_PASSWORD=ADMIN_PW)
    assert r.code == 0, r.stderr
    checks = {
        c.name: c for c in diagnose(get_settings(), now=datetime(2026, 11, 1, tzinfo=UTC)).checks
    }
    assert checks["deadlines"].status == "ok"  # October's DSN is due on 15/11
    checks = {
        c.name: c for c in diagnose(get_settings(), now=datetime(2026, 11, 13, tzinfo=UTC)).checks
    }
    assert checks["deadlines"].status == "warning"
    assert checks["deadlines"].facts["at_risk"] == ["99900000300015"]
    health = diagnose(get_settings(), now=datetime(2026, 11, 16, tzinfo=UTC))
    checks = {c.name: c for c in health.checks}
    assert checks["deadlines"].status == "failure" and health.exit_code == 2
    assert "échéance est passée" in checks["deadlines"].message
