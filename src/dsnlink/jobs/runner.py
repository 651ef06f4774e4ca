"""The in-process runner: picks due work from the ledger and runs the pipeline's steps on a
thread pool, with bounded concurrency overall and per Net-entreprises identity.

Every step is an idempotent function over the ledger, so the runner keeps no state of its own
that matters: kill it at any point, start it again, and ``recover()`` picks up where the
ledger says things are. Only one runner may work on one database at a time in monoposte (a
lock file next to the database, a PostgreSQL advisory lock on a shared database:
``dsnlink.jobs.locks``); réseau runs the same steps as procrastinate tasks
(``dsnlink.jobs.queue``).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime

from dsnlink.errors import DsnlinkError
from dsnlink.jobs.steps import STEPS, due_envois, identities_to_sync, recover_all
from dsnlink.logs import get_logger
from dsnlink.pipeline.collecting import sync_identity
from dsnlink.pipeline.context import Pipeline
from dsnlink.pipeline.deadlines import alert_deadlines
from dsnlink.pipeline.model import Envoi

log = get_logger("dsnlink.jobs.runner")


@dataclass
class RoundReport:
    ran: int = 0
    failed: int = 0


class Runner:
    def __init__(
        self,
        pipeline: Pipeline,
        *,
        concurrency: int = 16,
        per_identity: int = 4,
        on_step: Callable[[Envoi], None] | None = None,
        periodic: Sequence[Callable[[], object]] = (),
    ) -> None:
        if concurrency < 1 or per_identity < 1:
            raise ValueError("concurrency must be at least 1")
        self.pipeline = pipeline
        self.concurrency = concurrency
        self.per_identity = per_identity
        self.on_step = on_step
        #: Other periodic work (the scheduled backup), run with the returns sync.
        self.periodic = list(periodic)
        self._failures: Counter[str] = Counter()
        self._stop = threading.Event()
        # What the Centre de maintenance shows of a runner working in its process.
        self._started_at: datetime | None = None
        self._last_round_at: datetime | None = None
        self._last_sync_at: datetime | None = None
        self._rounds = 0
        self._steps_ran = 0
        self._steps_failed = 0

    # -- recovery ---------------------------------------------------------------------------

    def recover(self) -> int:
        """Bring envois left between two steps by a crash back to a state a step handles.

        Safe only because this runner is the single one on its database (``runner_lock``):
        no one else can be in the middle of sending."""
        return recover_all(self.pipeline)

    # -- one round --------------------------------------------------------------------------

    def due(self) -> list[Envoi]:
        return [e for e in due_envois(self.pipeline) if self._failures[e.id] < 3]

    def run_round(self) -> RoundReport:
        """Run every due step once, respecting the concurrency bounds."""
        report = RoundReport()
        try:
            self._run_round(report)
        finally:
            self._rounds += 1
            self._last_round_at = datetime.now(UTC)
            self._steps_ran += report.ran
            self._steps_failed += report.failed
        return report

    def _run_round(self, report: RoundReport) -> None:
        pending = deque(self.due())
        if not pending:
            return
        running: dict[Future[Envoi], Envoi] = {}
        per_identity: Counter[str] = Counter()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="dsnlink-step") as pool:
            while pending or running:
                skipped: deque[Envoi] = deque()
                while pending and len(running) < self.concurrency:
                    envoi = pending.popleft()
                    key = envoi.identity_id or ""
                    if per_identity[key] >= self.per_identity:
                        skipped.append(envoi)
                        continue
                    per_identity[key] += 1
                    running[pool.submit(self._step, envoi)] = envoi
                pending.extendleft(reversed(skipped))
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    envoi = running.pop(future)
                    per_identity[envoi.identity_id or ""] -= 1
                    report.ran += 1
                    if future.exception() is not None:
                        report.failed += 1

    def _step(self, envoi: Envoi) -> Envoi:
        step = STEPS[envoi.state]
        try:
            result = step(self.pipeline, envoi.id)
        except DsnlinkError as exc:
            self._failures[envoi.id] += 1
            log.error("step_failed", envoi_id=envoi.id, state=envoi.state.value, error=exc.code)
            raise
        except Exception as exc:
            self._failures[envoi.id] += 1
            log.error("step_crashed", envoi_id=envoi.id, error=type(exc).__name__)
            raise
        if self.on_step is not None:
            self.on_step(result)
        return result

    # -- loops ------------------------------------------------------------------------------

    def run_until_idle(self, *, max_rounds: int = 1000) -> int:
        """Rounds until nothing is due now (returns polled later are left for later)."""
        self.recover()
        total = 0
        for _ in range(max_rounds):
            report = self.run_round()
            total += report.ran
            if report.ran == 0 or report.ran == report.failed:
                break
        return total

    def sync_returns(self) -> int:
        """The declarant-wide returns listing, for each identity that has deposited."""
        identities = identities_to_sync(self.pipeline)
        count = 0
        for identity_id, login in sorted(identities.items()):
            try:
                count += sync_identity(self.pipeline, identity_id, login)
            except DsnlinkError as exc:
                log.warning("sync_failed", identity_id=identity_id, error=exc.code)
        return count

    def run_forever(self, *, interval: float = 5.0, sync_every: int = 60) -> None:
        """``dsnlink run``: rounds, a returns sync and deadline alerts now and then."""
        self.recover()
        self._started_at = datetime.now(UTC)
        rounds = 0
        while not self._stop.is_set():
            report = self.run_round()
            if rounds % sync_every == 0:
                self.sync_returns()
                alert_deadlines(self.pipeline)
                self.run_periodic()
                self._last_sync_at = datetime.now(UTC)
            rounds += 1
            if report.ran == 0:
                self._stop.wait(interval)

    def run_periodic(self) -> None:
        """Each periodic task once; one failing never stops the runner or the others."""
        for task in self.periodic:
            try:
                task()
            except Exception as exc:  # noqa: BLE001 - the task reports its own failures
                log.error("periodic_failed", task=type(task).__name__, error=type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()

    def stats(self) -> dict[str, object]:
        """Since this runner started: rounds, steps run and failed, when it last worked."""

        def iso(at: datetime | None) -> str | None:
            return at.isoformat() if at else None

        return {
            "started_at": iso(self._started_at),
            "last_round_at": iso(self._last_round_at),
            "last_sync_at": iso(self._last_sync_at),
            "rounds": self._rounds,
            "steps_ran": self._steps_ran,
            "steps_failed": self._steps_failed,
            "stopping": self._stop.is_set(),
            "concurrency": self.concurrency,
        }
