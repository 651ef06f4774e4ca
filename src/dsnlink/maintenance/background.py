"""One maintenance operation at a time, in a background thread: the Centre de maintenance's
"Sauvegarder maintenant" and "Vérifier".

A backup of a large installation takes seconds to minutes; the web server must keep answering
meanwhile, so the operation runs in its own thread and the pages read its state. One slot per
server: a second click while one runs is refused (:class:`BackupInProgress`) rather than
queued, because two backups of the same instant bring nothing and double the disk writes.
The outcome of the last operation stays readable until the next one starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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


class MaintenanceTasks:
    """The single slot of background maintenance work of one web application."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: TaskState | None = None
        self._thread: threading.Thread | None = None

    def current(self) -> TaskState | None:
        with self._lock:
            return self._current

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
            task = TaskState(kind, actor, datetime.now(UTC), subject)
            self._current = task
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
