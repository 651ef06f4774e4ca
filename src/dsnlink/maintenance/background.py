"""One maintenance operation at a time, in a background thread: the Centre de maintenance's
"Sauvegarder maintenant" and "Vérifier".

A backup of a large installation takes seconds to minutes; the web server must keep answering
meanwhile, so the operation runs in its own thread and the pages read its state. One slot per
server: a second click while one runs is refused (:class:`BackupInProgress`) rather than
queued, because two backups of the same instant bring nothing and double the disk writes.
The outcome of the last operation stays readable until the next one starts.

``dsnlink serve --workers N`` answers from several processes, and the click that starts an
operation and the page refresh that follows it may reach different ones: given a ``shared``
path (in the data folder), the slot is a ``flock`` held by the process running the operation
(a second start in any process is refused) and its state a small JSON file every process
reads. An operation whose process died (no lock holder, still "running" in the file) is shown
as interrupted.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from dsnlink.errors import BackupInProgress, DsnlinkError
from dsnlink.logs import get_logger

log = get_logger("dsnlink.maintenance.background")

RUNNING, DONE, FAILED = "running", "done", "failed"


@dataclass
class TaskState:
    kind: str  # "backup" or "verify"
    actor: str
    started_at: datetime
    subject: str | None = None  # the archive verified
    state: str = RUNNING
    finished_at: datetime | None = None
    seconds: float | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    _started: float = field(default_factory=time.monotonic, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "state": self.state,
            "actor": self.actor,
            "subject": self.subject,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": self.seconds,
            "result": self.result,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskState:
        finished = data.get("finished_at")
        return cls(
            kind=data["kind"],
            actor=data["actor"],
            started_at=datetime.fromisoformat(data["started_at"]),
            subject=data.get("subject"),
            state=data["state"],
            finished_at=datetime.fromisoformat(finished) if finished else None,
            seconds=data.get("seconds"),
            result=data.get("result"),
            error=data.get("error"),
        )


INTERRUPTED = {
    "code": "maintenance.interrupted",
    "message": "L'opération s'est arrêtée avec le processus du serveur qui la menait.",
    "remedy": "Relancez-la ; une archive partielle éventuelle est retirée par la sauvegarde "
    "suivante.",
    "context": {},
}


class MaintenanceTasks:
    """The single slot of background maintenance work of one web application."""

    def __init__(self, shared: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._current: TaskState | None = None
        self._thread: threading.Thread | None = None
        #: ``<shared>.lock`` (held while an operation runs) and ``<shared>.json`` (its state).
        self._shared = shared
        self._held: IO[str] | None = None

    def current(self) -> TaskState | None:
        with self._lock:
            mine = self._current
        if self._shared is None or (mine is not None and mine.state == RUNNING):
            return mine
        found = self._read()
        if found is None or found.state != RUNNING:
            return found
        from dsnlink.jobs.activity import file_lock_holder

        known, holder = file_lock_holder(self._path(".lock"))
        if not known or holder is not None:
            return found
        # Read again: the state is written before the lock is released, so an operation that
        # ended between the two reads shows its outcome here rather than "interrupted".
        found = self._read()
        if found is not None and found.state == RUNNING:
            found.state, found.error = FAILED, INTERRUPTED
        return found

    def start(
        self,
        kind: str,
        work: Callable[[], dict[str, Any]],
        *,
        actor: str,
        subject: str | None = None,
    ) -> TaskState:
        """Run ``work`` in a thread; refused while another operation runs."""
        with self._lock:
            if self._current is not None and self._current.state == RUNNING:
                raise BackupInProgress(kind=self._current.kind)
            if self._shared is not None:
                self._held = self._claim()
            task = TaskState(kind, actor, datetime.now(UTC), subject)
            self._current = task
            self._publish(task)
            self._thread = threading.Thread(
                target=self._run, args=(task, work), name=f"maintenance-{kind}", daemon=True
            )
            self._thread.start()
            return task

    def wait(self, timeout: float | None = None) -> TaskState | None:
        """The current operation once finished (tests, and shutting down cleanly)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.current()

    def _run(self, task: TaskState, work: Callable[[], dict[str, Any]]) -> None:
        try:
            result = work()
        except DsnlinkError as exc:
            self._finish(task, FAILED, error=exc.to_dict())
            log.warning("maintenance_task_failed", kind=task.kind, error=exc.code)
        except Exception as exc:  # noqa: BLE001 - a thread must report, not die silently
            error = {
                "code": "maintenance",
                "message": "L'opération de maintenance a échoué de façon inattendue.",
                "remedy": "Consultez le journal du serveur, puis recommencez avec la commande "
                "équivalente (« dsnlink backup ») pour voir le détail.",
                "context": {"error": type(exc).__name__},
            }
            self._finish(task, FAILED, error=error)
            log.error("maintenance_task_crashed", kind=task.kind, error=type(exc).__name__)
        else:
            self._finish(task, DONE, result=result)
            log.info("maintenance_task_done", kind=task.kind)

    def _finish(
        self,
        task: TaskState,
        state: str,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            task.result = result
            task.error = error
            task.finished_at = datetime.now(UTC)
            task.seconds = round(time.monotonic() - task._started, 3)
            task.state = state
            self._publish(task)
            if self._held is not None:
                # Closing the file releases its flock: the next start may claim the slot.
                self._held.close()
                self._held = None

    # -- the slot shared by the processes of one server ----------------------------------------

    def _path(self, suffix: str) -> Path:
        assert self._shared is not None
        return self._shared.with_name(self._shared.name + suffix)

    def _claim(self) -> IO[str]:
        path = self._path(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            other = self._read()
            raise BackupInProgress(kind=other.kind if other else "backup") from None
        return handle

    def _publish(self, task: TaskState) -> None:
        if self._shared is None:
            return
        path = self._path(".json")
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(task.to_dict(), ensure_ascii=False), encoding="utf-8")
        partial.replace(path)  # atomic: a reader sees the old state or the new one

    def _read(self) -> TaskState | None:
        try:
            return TaskState.from_dict(json.loads(self._path(".json").read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None
