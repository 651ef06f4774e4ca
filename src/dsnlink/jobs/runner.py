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


class _RoundWork:
    """The due envois of one round, handed out one at a time: the oldest whose identity is
    under its bound (a thread waits while every identity with work left is at its bound)."""

    def __init__(self, envois: Sequence[Envoi], per_identity: int) -> None:
        self._per_identity = per_identity
        self._cond = threading.Condition()
        # Per identity, in due order, each with its rank in the whole round.
        self._queues: dict[str, deque[tuple[int, Envoi]]] = {}
        for rank, envoi in enumerate(envois):
            self._queues.setdefault(envoi.identity_id or "", deque()).append((rank, envoi))
        self._busy: Counter[str] = Counter()

    def take(self) -> Envoi | None:
        """The next envoi to run, or None when nothing is left to hand out."""
        with self._cond:
            while self._queues:
                best: deque[tuple[int, Envoi]] | None = None
                key = ""
                for identity, queue in self._queues.items():
                    if self._busy[identity] < self._per_identity and (
                        best is None or queue[0][0] < best[0][0]
                    ):
                        best, key = queue, identity
                if best is None:
                    self._cond.wait()  # every identity with work is at its bound
                    continue
                envoi = best.popleft()[1]
                self._busy[key] += 1
                if not best:
                    del self._queues[key]
                    if not self._queues:
                        self._cond.notify_all()  # the waiting threads have nothing left
                return envoi
            return None

    def done(self, envoi: Envoi) -> None:
        with self._cond:
            self._busy[envoi.identity_id or ""] -= 1
            self._cond.notify()

    def close(self) -> None:
        """Hand nothing more out (the steps running finish)."""
        with self._cond:
            self._queues.clear()
            self._cond.notify_all()


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
        due = self.due()
        if not due:
            return
        work = _RoundWork(due, self.per_identity)
        counts = threading.Lock()

        # Each thread takes its next envoi itself when it is done with one: a dispatcher
        # waiting on every future in flight after each completion cost as much CPU as the
        # steps' own Python code at concurrency 16.
        def worker() -> None:
            while (envoi := work.take()) is not None:
                failed = False
                try:
                    self._step(envoi)
                except Exception:  # noqa: BLE001 - logged by _step, counted here
                    failed = True
                finally:
                    work.done(envoi)
                with counts:
                    report.ran += 1
                    report.failed += failed

        threads = [
            threading.Thread(target=worker, name=f"dsnlink-step_{n}")
            for n in range(min(self.concurrency, len(due)))
        ]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            work.close()  # interrupted: the steps running finish, no other one starts
            for thread in threads:
                if thread.ident is not None:
                    thread.join()

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
