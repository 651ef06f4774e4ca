"""Commands that move deposits on now (``dsnlink deposit``, ``dsnlink returns sync``): in this
process, or handed over to whoever already works on the database.

A command must not run the pipeline's steps beside a ``dsnlink run`` or workers: at its start
the in-process runner recovers ``sending`` envois as if no one else could be sending them,
and it does not share the workers' lock per identity. So:

- réseau with live workers: the envois' steps (or the identities' returns syncs) are put in
  the job queue, and the command waits for the workers to do them;
- otherwise, if it gets the single-runner lock, the command runs the steps itself;
- if a ``dsnlink run`` holds that lock, the command waits for it to do them.

The web's "run now" uses the same in-process path (:func:`run_due_here`) but never waits: a
page answers at once, and says when someone else does the work.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from dsnlink.errors import RunnerBusy
from dsnlink.jobs.locks import runner_lock
from dsnlink.jobs.queue import (
    SYNC_TASK,
    QueueTuning,
    build_queue,
    identity_lock,
    live_workers,
)
from dsnlink.jobs.runner import Runner
from dsnlink.jobs.steps import STEPS, identities_to_sync
from dsnlink.logs import get_logger
from dsnlink.pipeline.model import Envoi

if TYPE_CHECKING:
    from dsnlink.pipeline.context import Pipeline
    from dsnlink.setup import App

log = get_logger("dsnlink.jobs.handoff")
#: How long a command waits for the workers or the running runner before giving the hand back
#: (they go on without it; ``dsnlink status`` tells what became of the deposits).
WAIT_SECONDS = 600.0


def _wait(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


_T = TypeVar("_T")


@dataclass(frozen=True)
class DueRun:
    """What a run of the due steps in this process did."""

    steps: int
    #: Returns found by the declarant-wide listing (0 when it was not asked for).
    listed: int = 0


def _run_due(runner: Runner, *, sync: bool) -> DueRun:
    steps = runner.run_until_idle()
    listed = 0
    if sync:
        listed = runner.sync_returns()
        steps += runner.run_until_idle()  # the polls the listing made due
    return DueRun(steps, listed)


def _in_process(app: App, pipeline: Pipeline, work: Callable[[Runner], _T]) -> _T | None:
    """``work`` on a runner of this process if the single-runner lock is free; else None."""
    settings = app.settings
    runner = Runner(
        pipeline,
        concurrency=settings.pipeline_concurrency,
        per_identity=settings.pipeline_identity_concurrency,
    )
    try:
        with runner_lock(app.db, settings.data_dir / "runner.lock"):
            return work(runner)
    except RunnerBusy:
        return None


def advance_envois(
    app: App,
    pipeline: Pipeline,
    ids: Sequence[str],
    *,
    settled: Callable[[], bool],
    on_step: Callable[[Envoi], None] | None = None,
    timeout: float = WAIT_SECONDS,
) -> str:
    """Move the envois ``ids`` on until ``settled()``; who did it: "here", "workers" or
    "runner" ("…-timeout" when the wait ended first)."""
    if live_workers(app.db):
        _defer_steps(app, pipeline, ids)
        return "workers" if _wait(settled, timeout) else "workers-timeout"

    def work(runner: Runner) -> DueRun:
        runner.on_step = on_step
        return _run_due(runner, sync=False)

    if _in_process(app, pipeline, work) is not None:
        return "here"
    return "runner" if _wait(settled, timeout) else "runner-timeout"


def _defer_steps(app: App, pipeline: Pipeline, ids: Sequence[str]) -> None:
    import procrastinate.exceptions

    from dsnlink.jobs.queue import STEP_TASK
    from dsnlink.setup import database_url

    queue = build_queue(database_url(app.settings), QueueTuning.from_settings(app.settings))
    with queue.open():
        for envoi_id in ids:
            envoi = pipeline.ledger.get_envoi(envoi_id)
            if envoi.state not in STEPS:
                continue
            # One already waiting does the same.
            with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):
                queue.tasks[STEP_TASK].configure(
                    lock=identity_lock(envoi.identity_id), queueing_lock=f"envoi:{envoi.id}"
                ).defer(envoi_id=envoi.id)


def sync_returns(app: App, pipeline: Pipeline, *, timeout: float = WAIT_SECONDS) -> int | None:
    """The declarant-wide returns listing of every identity now, and the due polls. The
    number of returns listed when done here; None when handed over (workers, runner)."""
    if live_workers(app.db):
        _defer_syncs(app, pipeline, timeout)
        return None

    done = _in_process(app, pipeline, lambda runner: _run_due(runner, sync=True))
    return None if done is None else done.listed


def run_due_here(app: App, pipeline: Pipeline, *, sync: bool = False) -> DueRun | None:
    """The due steps now in this process, then with ``sync`` the declarant-wide returns
    listing and the polls it made due. None at once, without waiting, when a ``dsnlink run``
    or workers hold the database: they do the work."""
    done = _in_process(app, pipeline, lambda runner: _run_due(runner, sync=sync))
    if done is None:
        log.info("handoff_runner_busy")
    return done


def _defer_syncs(app: App, pipeline: Pipeline, timeout: float) -> None:
    import procrastinate.exceptions
    from procrastinate.jobs import Status

    from dsnlink.setup import database_url

    queue = build_queue(database_url(app.settings), QueueTuning.from_settings(app.settings))
    with queue.open():
        job_ids: list[int] = []
        for identity_id, login in sorted(identities_to_sync(pipeline).items()):
            try:
                job_ids.append(
                    queue.tasks[SYNC_TASK]
                    .configure(lock=identity_lock(identity_id), queueing_lock=f"sync:{identity_id}")
                    .defer(identity_id=identity_id, login=login)
                )
            except procrastinate.exceptions.AlreadyEnqueued:
                continue  # one already waits: it will list up to its own start
        manager = queue.job_manager
        _wait(
            lambda: all(
                manager.get_job_status(job_id) not in (Status.TODO, Status.DOING)
                for job_id in job_ids
            ),
            timeout,
        )
