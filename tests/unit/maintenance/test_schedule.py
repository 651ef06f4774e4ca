"""Schedule slots (Paris wall-clock times, across daylight saving), validation, target checks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dsnlink.errors import BackupTargetError, BackupToolMissing, InvalidInput
from dsnlink.maintenance.pgtools import find_tool
from dsnlink.maintenance.schedule import Schedule, overdue, parse_schedule
from dsnlink.maintenance.target import check_target


def _s(**kw: object) -> Schedule:
    base: dict[str, object] = {"frequency": "daily", "at": "02:00", "target": Path("/x")}
    return parse_schedule(**(base | kw))  # type: ignore[arg-type]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_slot_is_paris_time_across_daylight_saving() -> None:
    daily = _s()
    # Winter: 02:00 Paris = 01:00 UTC; summer: 00:00 UTC.
    assert daily.last_slot(utc(2026, 1, 10, 1, 30)) == utc(2026, 1, 10, 1, 0)
    assert daily.last_slot(utc(2026, 1, 10, 0, 30)) == utc(2026, 1, 9, 1, 0)
    assert daily.last_slot(utc(2026, 7, 10, 0, 30)) == utc(2026, 7, 10, 0, 0)
    assert daily.next_slot(utc(2026, 7, 10, 0, 30)) == utc(2026, 7, 11, 0, 0)


def test_weekly_and_monthly_slots() -> None:
    friday = _s(frequency="weekly", weekday="vendredi", at="23:30")
    # Friday 2026-11-27 23:30 Paris = 22:30 UTC.
    assert friday.last_slot(utc(2026, 11, 30, 12, 0)) == utc(2026, 11, 27, 22, 30)
    assert friday.next_slot(utc(2026, 11, 27, 22, 0)) == utc(2026, 11, 27, 22, 30)
    monthly = _s(frequency="monthly", day=28, at="03:00")
    assert monthly.last_slot(utc(2026, 3, 1, 12, 0)) == utc(2026, 2, 28, 2, 0)
    assert monthly.next_slot(utc(2026, 3, 1, 12, 0)) == utc(2026, 3, 28, 2, 0)


def test_round_trip_and_description() -> None:
    s = _s(frequency="weekly", weekday="Mardi", keep=7)
    again = Schedule.from_dict(s.to_dict())
    assert again == s and again.weekday == 1
    assert "chaque mardi à 02:00" in s.describe() and "7 gardée(s)" in s.describe()


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"frequency": "hourly"}, "frequency"),
        ({"at": "25:00"}, "at"),
        ({"at": "deux heures"}, "at"),
        ({"weekday": "sunday"}, "weekday"),
        ({"day": 31}, "day"),
    ],
)
def test_invalid_schedules_are_refused_in_french(kw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _s(**kw)
    assert caught.value.context.get("field") == field or field == "day"
    with pytest.raises(InvalidInput):
        _s(keep=0)


def test_overdue_only_after_the_grace_delay_and_never_before_the_schedule_existed() -> None:
    s = Schedule(**{**_s().__dict__, "since": utc(2026, 1, 1)})
    good = {"last_good": {"at": utc(2026, 1, 9, 1, 5).isoformat()}}
    assert overdue(s, good, utc(2026, 1, 10, 2, 0)) is None  # slot 01:00, 1 h ago
    assert overdue(s, good, utc(2026, 1, 10, 3, 0)) == utc(2026, 1, 10, 1, 0)
    fresh = Schedule(**{**_s().__dict__, "since": utc(2026, 1, 10, 12, 0)})
    assert overdue(fresh, {}, utc(2026, 1, 10, 20, 0)) is None


def test_target_checks(tmp_path: Path) -> None:
    check_target(tmp_path, needed=1)
    with pytest.raises(BackupTargetError) as caught:
        check_target(tmp_path / "absent")
    assert caught.value.context["problem"] == "missing"
    (tmp_path / "f").write_text("x")
    with pytest.raises(BackupTargetError) as caught:
        check_target(tmp_path / "f")
    assert caught.value.context["problem"] == "not_a_folder"
    with pytest.raises(BackupTargetError) as caught:
        check_target(tmp_path, needed=10**18)
    assert caught.value.context["problem"] == "no_space"
    assert "Mo libres" in caught.value.message
    assert list(tmp_path.iterdir()) == [tmp_path / "f"]  # the write probe left nothing


def test_missing_pg_tool_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupToolMissing) as caught:
        find_tool("pg_dump", root=tmp_path)
    assert "pg_dump" in caught.value.message and "postgresql-client" in (caught.value.remedy or "")
    fake = tmp_path / "16" / "bin" / "pg_dump"
    fake.parent.mkdir(parents=True)
    fake.write_text("")
    older = tmp_path / "9" / "bin" / "pg_dump"
    older.parent.mkdir(parents=True)
    older.write_text("")
    assert find_tool("pg_dump", root=tmp_path) == str(fake)
