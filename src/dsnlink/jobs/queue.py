"""Réseau: the pipeline's steps as procrastinate tasks, run by ``dsnlink worker`` processes on
any number of workstations sharing the installation's PostgreSQL database.

The tasks call the same step catalogue as the in-process runner (``dsnlink.jobs.steps``).
What the job queue adds:

- **one identity at a time**: every job that talks to Net-entreprises for an identity carries
  the procrastinate lock ``identity:<id>``; procrastinate never starts a job while another
  job with the same lock is running, on any worker, so two workers never authenticate or
  deposit for the same identity at once. A held lock also makes it safe to recover an envoi
  left in ``sending``: no one else can be sending it.
- **never queued twice**: the job of an envoi carries the queueing lock ``envoi:<id>``; a
  second one is refused while the first waits.
- **periodic tasks**, deferred once per tick whatever the number of workers: ``dispatch``
  (due deposits, checks of uncertain deposits, returns polls), ``recover_stalled`` (the jobs
  of a worker whose heartbeat stopped are run again), ``sync_returns`` (the declarant-wide
  returns listing of each identity, from its cursor), ``deadline_alerts`` and
  ``scheduled_backup`` (the step of ``dsnlink backup schedule``, the runner's own
  ``BackupStep``: once a minute it takes the backup of a slot that is due; its installation
  lock makes one worker, on one workstation, take a given slot).

Jobs with a lock are never scheduled in the future: procrastinate makes a waiting job with a
lock block the later jobs of that lock, so a poll due tomorrow would stall an identity's
deposits today. The dispatcher defers work only once it is due.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from dsnlink.jobs.steps import (
    RECOVERY,
    STEPS,
    due_envois,
    identities_to_sync,
    run_step,
)
from dsnlink.logs import get_logger
from dsnlink.pipeline.collecting import sync_identity
from dsnlink.pipeline.deadlines import alert_deadlines
from dsnlink.pipeline.model import Envoi
from dsnlink.pipeline.sending import is_due

if TYPE_CHECKING:
    import procrastinate

    from dsnlink.maintenance.schedule import BackupStep
    from dsnlink.pipeline.context import Pipeline
    from dsnlink.settings import Settings
    from dsnlink.store.database import Database

log = get_logger("dsnlink.jobs.queue")

STEP_TASK = "dsnlink.step"
SYNC_TASK = "dsnlink.sync_identity"
DISPATCH_TASK = "dsnlink.dispatch"
STALLED_TASK = "dsnlink.recover_stalled"
SYNC_ALL_TASK = "dsnlink.sync_returns"
DEADLINES_TASK = "dsnlink.deadline_alerts"
BACKUP_TASK = "dsnlink.scheduled_backup"
#: Failed step jobs of one envoi within this many hours before the dispatcher leaves it alone
#: (the failures are in the log and in ``dsnlink worker --status``).
FAILURE_WINDOW_HOURS = 1
MAX_STEP_FAILURES = 3


@dataclass(frozen=True)
class QueueTuning:
    dispatch_seconds: int = 5
    backup_seconds: int = 60
    heartbeat_seconds: float = 10
    stalled_seconds: float = 60
    sync_minutes: int = 15

    @classmethod
    def from_settings(cls, settings: Settings) -> QueueTuning:
        return cls(
            dispatch_seconds=settings.worker_dispatch_seconds,
            backup_seconds=settings.worker_backup_seconds,
            heartbeat_seconds=settings.worker_heartbeat_seconds,
            stalled_seconds=settings.worker_stalled_seconds,
            sync_minutes=settings.worker_sync_minutes,
        )


def conninfo(database_url: str) -> str:
    """The libpq address of a SQLAlchemy PostgreSQL URL (``postgresql+psycopg://`` → ``postgresql://``)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def identity_lock(identity_id: str | None) -> str | None:
    return f"identity:{identity_id}" if identity_id else None


def build_queue(database_url: str, tuning: QueueTuning | None = None) -> procrastinate.App:
    """The procrastinate App of an installation, with dsnlink's tasks registered.

    The tasks find the pipeline in the job context (``additional_context["pipeline"]``) and
    the scheduled backup step (``additional_context["backup"]``, a ``BackupStep``), which
    ``dsnlink worker`` provides."""
    import procrastinate

    tuning = tuning or QueueTuning()
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(database_url)),
        periodic_defaults={"max_delay": 60},
    )

    def pipeline_of(context: procrastinate.JobContext) -> Pipeline:
        pipeline: Pipeline = context.additional_context["pipeline"]
        return pipeline

    @app.task(name=STEP_TASK, pass_context=True)
    async def step(context: procrastinate.JobContext, envoi_id: str) -> str:
        pipeline = pipeline_of(context)
        envoi = await asyncio.to_thread(run_step, pipeline, envoi_id)
        # The next step of a deposit (its first returns poll) is due at once: queue it now
        # rather than at the next dispatch tick.
        if envoi.state in STEPS and is_due(envoi, pipeline.clock.now()):
            await defer_step(app, envoi)
        return envoi.state.value

    @app.task(name=SYNC_TASK, pass_context=True)
    async def sync_one(context: procrastinate.JobContext, identity_id: str, login: str) -> int:
        return await asyncio.to_thread(sync_identity, pipeline_of(context), identity_id, login)

    every = f"* * * * * */{tuning.dispatch_seconds}"

    @app.periodic(cron=every)
    @app.task(
        name=DISPATCH_TASK, pass_context=True, lock=DISPATCH_TASK, queueing_lock=DISPATCH_TASK
    )
    async def dispatch(context: procrastinate.JobContext, timestamp: int) -> int:
        pipeline = pipeline_of(context)
        envois = await asyncio.to_thread(_dispatchable, pipeline)
        skip = await _busy_or_failing(app, [e.id for e in envois])
        return await defer_steps(app, [e for e in envois if e.id not in skip])

    @app.periodic(cron=every)
    @app.task(name=STALLED_TASK, lock=STALLED_TASK, queueing_lock=STALLED_TASK)
    async def recover_stalled(timestamp: int) -> int:
        return await recover_stalled_jobs(app, tuning.stalled_seconds)

    @app.periodic(cron=f"*/{tuning.sync_minutes} * * * *")
    @app.task(name=SYNC_ALL_TASK, pass_context=True, queueing_lock=SYNC_ALL_TASK)
    async def sync_returns(context: procrastinate.JobContext, timestamp: int) -> int:
        identities = await asyncio.to_thread(identities_to_sync, pipeline_of(context))
        count = 0
        for identity_id, login in sorted(identities.items()):
            count += await _defer(
                app,
                SYNC_TASK,
                lock=identity_lock(identity_id),
                queueing_lock=f"sync:{identity_id}",
                identity_id=identity_id,
                login=login,
            )
        return count

    @app.periodic(cron="7 * * * *")
    @app.task(name=DEADLINES_TASK, pass_context=True, queueing_lock=DEADLINES_TASK)
    async def deadline_alerts(context: procrastinate.JobContext, timestamp: int) -> int:
        return await asyncio.to_thread(alert_deadlines, pipeline_of(context))

    backup_every = (
        "* * * * *" if tuning.backup_seconds >= 60 else f"* * * * * */{tuning.backup_seconds}"
    )

    @app.periodic(cron=backup_every)
    @app.task(name=BACKUP_TASK, pass_context=True, lock=BACKUP_TASK, queueing_lock=BACKUP_TASK)
    async def scheduled_backup(context: procrastinate.JobContext, timestamp: int) -> str:
        # The job only says "look now": the step knows the schedule, its slots and what was
        # already taken, and holds the installation-wide backup lock while it works.
        step: BackupStep | None = context.additional_context.get("backup")
        if step is None:
            return "none"
        outcome = await asyncio.to_thread(step.run)
        return outcome.status

    return app


def _dispatchable(pipeline: Pipeline) -> list[Envoi]:
    """Due work, and envois a crash left between two transitions (their step recovers them
    under the identity's lock)."""
    stranded = pipeline.ledger.envois(states=list(RECOVERY))
    return due_envois(pipeline) + stranded


async def _defer(
    app: procrastinate.App,
    task_name: str,
    *,
    lock: str | None,
    queueing_lock: str,
    **kwargs: Any,
) -> int:
    import procrastinate.exceptions

    try:
        await (
            app.tasks[task_name]
            .configure(lock=lock, queueing_lock=queueing_lock)
            .defer_async(**kwargs)
        )
    except procrastinate.exceptions.AlreadyEnqueued:
        return 0
    return 1


async def defer_step(app: procrastinate.App, envoi: Envoi) -> int:
    """Queue the next step of ``envoi`` (1), unless one already waits (0)."""
    return await _defer(
        app,
        STEP_TASK,
        lock=identity_lock(envoi.identity_id),
        queueing_lock=f"envoi:{envoi.id}",
        envoi_id=envoi.id,
    )


def _round_robin(envois: list[Envoi]) -> list[Envoi]:
    """One envoi per identity in turn: a worker fetching the queue in order finds a job whose
    identity is free at once, instead of walking past the waiting jobs of a busy one."""
    by_identity: dict[str | None, list[Envoi]] = {}
    for envoi in envois:
        by_identity.setdefault(envoi.identity_id, []).append(envoi)
    queues = list(by_identity.values())
    out: list[Envoi] = []
    for rank in range(max((len(q) for q in queues), default=0)):
        out.extend(q[rank] for q in queues if rank < len(q))
    return out


async def defer_steps(app: procrastinate.App, envois: list[Envoi], *, chunk: int = 200) -> int:
    """Queue the next step of many envois: one insert per ``chunk`` jobs (one per job would
    cost a round trip each, which dominated a busy dispatcher). A chunk refused because one of
    its envois got a job meanwhile is deferred one by one."""
    import procrastinate.exceptions

    template = app.tasks[STEP_TASK].configure().job
    ordered = _round_robin(envois)
    deferred = 0
    for start in range(0, len(ordered), chunk):
        batch = ordered[start : start + chunk]
        jobs = [
            template.evolve(
                lock=identity_lock(e.identity_id),
                queueing_lock=f"envoi:{e.id}",
                task_kwargs={"envoi_id": e.id},
            )
            for e in batch
        ]
        try:
            await app.job_manager.batch_defer_jobs_async(jobs)
            deferred += len(jobs)
        except procrastinate.exceptions.AlreadyEnqueued:
            for envoi in batch:
                deferred += await defer_step(app, envoi)
    return deferred


async def _busy_or_failing(app: procrastinate.App, envoi_ids: list[str]) -> set[str]:
    """Envois whose step job already waits or runs (deferring again would be refused: one
    query instead of one refused insert each), or whose steps failed again and again."""
    if not envoi_ids:
        return set()
    rows = await app.connector.execute_query_all_async(
        query="SELECT j.args->>'envoi_id' AS envoi_id FROM procrastinate_jobs j "
        "WHERE j.task_name = %(task)s AND j.status IN ('todo', 'doing') "
        "AND j.args->>'envoi_id' = ANY(%(ids)s) "
        "UNION "
        "SELECT j.args->>'envoi_id' FROM procrastinate_jobs j "
        "JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'failed' "
        "WHERE j.task_name = %(task)s AND j.status = 'failed' "
        "AND e.at > now() - make_interval(hours => %(hours)s) "
        "AND j.args->>'envoi_id' = ANY(%(ids)s) "
        "GROUP BY 1 HAVING count(*) >= %(most)s",
        task=STEP_TASK,
        hours=FAILURE_WINDOW_HOURS,
        ids=envoi_ids,
        most=MAX_STEP_FAILURES,
    )
    return {row["envoi_id"] for row in rows}


async def recover_stalled_jobs(app: procrastinate.App, stalled_seconds: float) -> int:
    """Run again the jobs of workers whose heartbeat stopped (killed, machine down)."""
    import procrastinate.exceptions
    from procrastinate.jobs import Status

    manager = app.job_manager
    recovered = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds):
        assert job.id is not None
        try:
            await manager.retry_job(job)
            recovered += 1
            log.warning("stalled_job_retried", job_id=job.id, task=job.task_name)
        except procrastinate.exceptions.ConnectorException:
            # Another job for the same envoi already waits (queueing lock): it does the work.
            await manager.finish_job_by_id_async(job.id, Status.ABORTED, delete_job=False)
            log.warning("stalled_job_dropped", job_id=job.id, task=job.task_name)
    await manager.prune_stalled_workers(stalled_seconds)
    return recovered


# -- status -------------------------------------------------------------------------------------


def live_workers(db: Database, within_seconds: float = 60) -> list[dict[str, Any]]:
    """Workers whose heartbeat is recent (none if the queue's schema is absent)."""
    from dsnlink.jobs.queue_schema import has_queue_schema

    if db.is_sqlite or not has_queue_schema(db):
        return []
    with db.read() as conn:
        rows = conn.execute(
            text(
                "SELECT w.id, w.last_heartbeat, count(j.id) AS running "
                "FROM procrastinate_workers w "
                "LEFT JOIN procrastinate_jobs j ON j.worker_id = w.id AND j.status = 'doing' "
                "WHERE w.last_heartbeat > now() - make_interval(secs => :s) "
                "GROUP BY w.id, w.last_heartbeat ORDER BY w.id"
            ),
            {"s": within_seconds},
        ).all()
    return [
        {"id": r.id, "last_heartbeat": r.last_heartbeat.isoformat(), "running": int(r.running)}
        for r in rows
    ]


def queue_status(db: Database, *, stalled_seconds: float = 60) -> dict[str, Any]:
    """Workers and jobs per task and status (``dsnlink worker --status``; meant for the
    Centre de maintenance too)."""
    from dsnlink.jobs.queue_schema import has_queue_schema

    if db.is_sqlite or not has_queue_schema(db):
        return {"queue": False, "workers": [], "jobs": {}}
    with db.read() as conn:
        rows = conn.execute(
            text(
                "SELECT task_name, status::text AS status, count(*) AS n "
                "FROM procrastinate_jobs GROUP BY 1, 2 ORDER BY 1, 2"
            )
        ).all()
    jobs: dict[str, dict[str, int]] = {}
    for r in rows:
        jobs.setdefault(r.task_name, {})[r.status] = int(r.n)
    return {"queue": True, "workers": live_workers(db, stalled_seconds), "jobs": jobs}
