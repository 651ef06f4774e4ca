"""The single slot of background maintenance work, and the read-only lookup of the runner's
lock file in /proc/locks."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest

from dsnlink.errors import BackupInProgress, BackupTargetError
from dsnlink.jobs.activity import file_lock_holder, runner_report
from dsnlink.maintenance.background import MaintenanceTasks


def test_one_operation_at_a_time_and_its_outcome_kept() -> None:
    tasks = MaintenanceTasks()
    assert tasks.current() is None
    release = threading.Event()
    first = tasks.start("backup", lambda: {"file": "a"} if release.wait(10) else {}, actor="x")
    assert first.state == "running"
    with pytest.raises(BackupInProgress):
        tasks.start("verify", lambda: {}, actor="y", subject="a")
    release.set()
    done = tasks.wait(10)
    assert done is first and done.state == "done" and done.result == {"file": "a"}
    assert done.seconds is not None and done.finished_at is not None
    # Once finished, the next one may start; a failure keeps its French message and remedy.

    def fail() -> dict[str, object]:
        raise BackupTargetError("Le dossier n'existe pas.", remedy="Recréez-le.", problem="x")

    tasks.start("backup", fail, actor="x")
    failed = tasks.wait(10)
    assert failed is not None and failed.state == "failed"
    assert failed.error is not None
    assert failed.error["code"] == "maintenance.backup_target"
    assert failed.error["remedy"] == "Recréez-le."


def test_an_unexpected_crash_is_reported_without_its_text() -> None:
    tasks = MaintenanceTasks()

    def crash() -> dict[str, object]:
        raise RuntimeError("mot-de-passe-canari dans le message")

    tasks.start("verify", crash, actor="x", subject="f")
    failed = tasks.wait(10)
    assert failed is not None and failed.state == "failed" and failed.error is not None
    assert failed.error["context"] == {"error": "RuntimeError"}
    assert "canari" not in str(failed.to_dict())


def test_lock_holder_read_from_proc_locks(tmp_path: Path) -> None:
    lock = tmp_path / "runner.lock"
    assert file_lock_holder(lock) == (True, None)  # no file: nobody
    with lock.open("a") as handle:
        assert file_lock_holder(lock) == (True, None)
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert file_lock_holder(lock) == (True, os.getpid())
        assert runner_report(tmp_path, None) == {"state": "here", "pid": os.getpid()}
        fcntl.flock(handle, fcntl.LOCK_UN)
    assert runner_report(tmp_path, None)["state"] == "stopped"


def test_lock_lines_matched_by_inode_and_device(tmp_path: Path) -> None:
    lock = tmp_path / "runner.lock"
    lock.touch()
    st = lock.stat()
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
    other = "ff:ff" if dev != "ff:ff" else "fe:fe"
    fake = tmp_path / "locks"
    lines = [
        f"1: POSIX  ADVISORY  WRITE 11 {dev}:{st.st_ino} 0 EOF",  # not a flock
        f"3: FLOCK  ADVISORY  WRITE 33 {dev}:{st.st_ino + 1} 0 EOF",  # another file
        f"3: -> FLOCK  ADVISORY  WRITE 44 {dev}:{st.st_ino} 0 EOF",  # a waiter
    ]
    if not dev.startswith("00:"):  # an anonymous device matches any by inode
        lines.append(f"2: FLOCK  ADVISORY  WRITE 22 {other}:{st.st_ino} 0 EOF")
    fake.write_text("\n".join(lines) + "\n")
    assert file_lock_holder(lock, fake) == (True, None)
    fake.write_text(fake.read_text() + f"4: FLOCK  ADVISORY  WRITE 55 {dev}:{st.st_ino} 0 EOF\n")
    assert file_lock_holder(lock, fake) == (True, 55)
    # An overlay's anonymous device on the lock's side still matches by inode.
    fake.write_text(f"1: FLOCK  ADVISORY  WRITE 66 00:2a:{st.st_ino} 0 EOF\n")
    assert file_lock_holder(lock, fake) == (True, 66)
    assert file_lock_holder(lock, tmp_path / "absent") == (False, None)


def test_the_slot_is_shared_by_the_processes_of_one_server(tmp_path: Path) -> None:
    """Two slots over one data folder (two web processes of « dsnlink serve --workers »): a
    start on one is refused by the other, which shows the operation and then its outcome."""
    shared = tmp_path / "maintenance-task"
    here, there = MaintenanceTasks(shared), MaintenanceTasks(shared)
    assert there.current() is None
    release = threading.Event()
    here.start("backup", lambda: {"file": "a"} if release.wait(10) else {}, actor="x")
    seen = there.current()
    assert seen is not None and seen.state == "running" and seen.actor == "x"
    with pytest.raises(BackupInProgress):
        there.start("verify", lambda: {}, actor="y", subject="a")
    release.set()
    here.wait(10)
    seen = there.current()
    assert seen is not None and seen.state == "done" and seen.result == {"file": "a"}
    # Free again: the other process may start the next one.
    there.start("verify", lambda: {"ok": True}, actor="y", subject="a")
    assert there.wait(10) is not None
    latest = here.current()
    assert latest is not None and latest.kind == "verify" and latest.state == "done"


def test_an_operation_whose_process_died_shows_as_interrupted(tmp_path: Path) -> None:
    shared = tmp_path / "maintenance-task"
    release = threading.Event()
    dying = MaintenanceTasks(shared)
    dying.start("backup", lambda: {"waited": release.wait(10)}, actor="x")
    state = (tmp_path / "maintenance-task.json").read_text()
    release.set()
    dying.wait(10)
    # What a process killed mid-backup leaves: "running" in the file, nobody holding the lock.
    (tmp_path / "maintenance-task.json").write_text(state)
    seen = MaintenanceTasks(shared).current()
    assert seen is not None and seen.state == "failed" and seen.error is not None
    assert seen.error["code"] == "maintenance.interrupted"
    MaintenanceTasks(shared).start("backup", lambda: {}, actor="y")  # the slot is free
