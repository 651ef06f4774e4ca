"""Maintenance: the installation's health (``dsnlink doctor``), its backups (list, schedule and
folder check, "Sauvegarder maintenant", "Vérifier") and who moves the deposits on (réseau
workers and job queue, or the monoposte runner).

Pages ``/maintenance/sante``, ``/maintenance/sauvegardes``, ``/maintenance/workers``; JSON
under ``/api/v1/maintenance``. Reading needs ``maintenance.read``, taking or verifying a backup
``backup.run``, setting the schedule ``backup.schedule`` (rights RULES: administration or
configuration). A backup or a verify runs in a
background thread (:mod:`dsnlink.maintenance.background`), one at a time: the server keeps
answering meanwhile. Restoring replaces the installation under the server's feet, so it stays
a command run on the machine; the page shows it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from dsnlink.accounts.rights import Operation
from dsnlink.errors import DsnlinkError, InvalidInput, NotFound
from dsnlink.maintenance.background import MaintenanceTasks, TaskState
from dsnlink.maintenance.schedule import WEEKDAYS
from dsnlink.pipeline.states import LABELS as ENVOI_LABELS
from dsnlink.setup import App
from dsnlink.store.records import User
from dsnlink.web.deps import render, require, services, services_dependency
from dsnlink.web.routes._ledger import error_responses, status_of

pages = APIRouter(tags=["Maintenance (pages)"], include_in_schema=False)
api = APIRouter(
    prefix="/maintenance", tags=["Maintenance"], responses=error_responses(401, 403, 422)
)

Reader = Annotated[User, Depends(require(Operation.MAINTENANCE_READ))]
Operator = Annotated[User, Depends(require(Operation.BACKUP_RUN))]
Scheduler = Annotated[User, Depends(require(Operation.BACKUP_SCHEDULE))]
AppDep = Annotated[App, Depends(services_dependency)]
_TASKS_LOCK = threading.Lock()

STATUS_LABELS = {"ok": "bon", "warning": "à surveiller", "failure": "problème"}
CHECK_LABELS = {
    "database": "Base de données",
    "schema": "Version du schéma",
    "master_key": "Clé maîtresse",
    "disk": "Place sur le disque",
    "backup_target": "Dossier de sauvegarde",
    "last_backup": "Dernière sauvegarde",
    "identities": "Identifiants Net-entreprises",
    "jobs": "Dépôts en cours",
    "deadlines": "Échéances",
}
TASK_KINDS = {"backup": "Sauvegarde", "verify": "Vérification"}
FREQUENCY_LABELS = {"daily": "chaque jour", "weekly": "chaque semaine", "monthly": "chaque mois"}
JOB_STATE_LABELS = {
    "todo": "en attente",
    "doing": "en cours",
    "succeeded": "réussies",
    "failed": "en échec",
    "cancelled": "annulées",
    "aborting": "en cours d'arrêt",
    "aborted": "arrêtées",
}
RUNNER_LABELS = {
    "here": "Il tourne dans ce serveur (« dsnlink serve »).",
    "elsewhere": "Il tourne dans un autre processus de ce poste (« dsnlink run »).",
    "stopped": "Aucun n'est lancé : les dépôts n'avancent pas tout seuls.",
    "unknown": "Son état ne peut pas être lu sur ce système.",
}


# -- API models -------------------------------------------------------------------------------


class CheckOut(BaseModel):
    name: str
    status: str = Field(description="ok, warning ou failure.")
    message: str
    remedy: str
    facts: dict[str, Any]


class HealthOut(BaseModel):
    status: str = Field(description="Le pire des états : ok, warning ou failure.")
    checks: list[CheckOut]


class ErrorInfo(BaseModel):
    code: str
    message: str
    remedy: str | None = None
    context: dict[str, Any] = {}


class TaskOut(BaseModel):
    kind: str = Field(description="backup ou verify.")
    state: str = Field(description="running, done ou failed.")
    actor: str
    subject: str | None = Field(None, description="L'archive vérifiée.")
    started_at: str
    finished_at: str | None
    seconds: float | None
    result: dict[str, Any] | None
    error: ErrorInfo | None


class TaskEnvelope(BaseModel):
    task: TaskOut | None


class BackupOut(BaseModel):
    file: str = Field(description="Nom de l'archive, dans le dossier des sauvegardes.")
    at: str
    size: int
    good: bool = Field(description="Archive complète dont le manifeste se lit.")
    schema_revision: str | None
    program_version: str | None


class TargetOut(BaseModel):
    ok: bool
    message: str
    remedy: str | None = None
    problem: str | None = None


class ScheduleOut(BaseModel):
    description: str
    frequency: str
    at: str
    target: str
    weekday: str
    day: int
    keep: int
    enabled: bool
    next: str | None


class ScheduleIn(BaseModel):
    frequency: str = Field(max_length=16, description="daily, weekly ou monthly.")
    at: str = Field(default="02:00", max_length=8, description="Heure (HH:MM, Paris).")
    weekday: str = Field(default="lundi", max_length=16, description="Jour (weekly).")
    day: int = Field(default=1, description="Jour du mois, 1 à 28 (monthly).")
    target: str = Field(min_length=1, max_length=4096, description="Dossier des sauvegardes.")
    keep: int = Field(default=5, description="Sauvegardes gardées.")
    enabled: bool = True


class PartialOut(BaseModel):
    file: str
    at: str = Field(description="Dernière écriture.")
    size: int


class BackupsOut(BaseModel):
    folder: str
    scheduled: bool
    schedule: ScheduleOut | None
    target: TargetOut
    last_good: dict[str, Any] | None
    last_failure: dict[str, Any] | None
    backups: list[BackupOut]
    partial: list[PartialOut] = Field(
        description="Restes cachés de sauvegardes interrompues (ou en cours) : jamais comptés, "
        "supprimés 6 heures après leur dernière écriture."
    )
    restore_commands: list[str]
    task: TaskOut | None


class VerifyIn(BaseModel):
    file: str = Field(max_length=255, description="Nom d'une archive de la liste (pas un chemin).")


class WorkerOut(BaseModel):
    id: int
    last_heartbeat: str
    running: int


class StalledJobOut(BaseModel):
    id: int
    task: str
    lock: str | None
    worker_id: int | None
    attempts: int
    last_heartbeat: str | None
    started_at: str | None


class QueueOut(BaseModel):
    installed: bool = Field(description="La file des tâches existe dans la base.")
    workers: list[WorkerOut]
    jobs: dict[str, dict[str, int]] = Field(description="Par tâche, puis par état.")
    totals: dict[str, int] = Field(description="Par état, toutes tâches confondues.")
    stalled: list[StalledJobOut]
    stalled_seconds: float
    runner_elsewhere: bool = Field(description="Un « dsnlink run » tient la base.")


class RunnerOut(BaseModel):
    state: str = Field(description="here, elsewhere, stopped ou unknown.")
    pid: int | None
    stats: dict[str, Any] | None = None


class WorkersOut(BaseModel):
    mode: str = Field(description="reseau (PostgreSQL) ou monoposte (SQLite).")
    queue: QueueOut | None
    runner: RunnerOut | None
    envois: dict[str, int] = Field(description="Dépôts du registre, par état.")


# -- what the pages and the API share -----------------------------------------------------------


def tasks(request: Request) -> MaintenanceTasks:
    """The application's single slot of background maintenance work."""
    # Routes run in a thread pool: two first requests must not create two slots.
    with _TASKS_LOCK:
        found = getattr(request.app.state, "maintenance_tasks", None)
        if not isinstance(found, MaintenanceTasks):
            # Shared through the data folder by every process of « dsnlink serve --workers ».
            data_dir = services(request).settings.data_dir
            found = MaintenanceTasks(shared=data_dir / "maintenance-task")
            request.app.state.maintenance_tasks = found
        return found


def _task(request: Request) -> dict[str, Any] | None:
    task = tasks(request).current()
    return task.to_dict() if task else None


def health(app: App) -> dict[str, Any]:
    from dsnlink.maintenance.doctor import diagnose

    return diagnose(app.settings).to_dict()


def _folder(app: App) -> tuple[Path, Any]:
    from dsnlink.maintenance.backup import default_target
    from dsnlink.maintenance.schedule import load_schedule

    schedule = load_schedule(app.db)
    return (schedule.target if schedule else default_target(app.settings)), schedule


def backups_view(request: Request, app: App) -> dict[str, Any]:
    from dsnlink.maintenance.retention import list_backups
    from dsnlink.maintenance.schedule import backup_state
    from dsnlink.maintenance.target import check_target

    folder, schedule = _folder(app)
    target: dict[str, Any]
    try:
        if schedule is None and not folder.exists():
            # The default folder is created by the first backup (as « dsnlink backup » does).
            target = {"ok": True, "message": "Il sera créé à la première sauvegarde."}
        else:
            check_target(folder)
            target = {"ok": True, "message": "Il existe et dsnlink peut y écrire."}
    except DsnlinkError as exc:
        target = {
            "ok": False,
            "message": exc.message,
            "remedy": exc.remedy,
            "problem": exc.context.get("problem"),
        }
    state = backup_state(app.db)
    items: list[dict[str, Any]] = []
    try:
        found = list_backups(folder)
        partial = _partial(folder)
    except OSError:
        # A folder that cannot be read (rights, disk gone): the check above says why.
        found, partial = [], []
    for b in reversed(found):
        item = b.to_dict()
        item["file"] = b.path.name
        items.append(item)
    planned = None
    if schedule is not None:
        planned = {
            "description": schedule.describe(),
            "frequency": schedule.frequency,
            "at": schedule.at.strftime("%H:%M"),
            "target": str(schedule.target),
            "weekday": WEEKDAYS[schedule.weekday],
            "day": schedule.day,
            "keep": schedule.keep,
            "enabled": schedule.enabled,
            "next": schedule.next_slot(datetime.now(UTC)).isoformat() if schedule.enabled else None,
        }
    example = str(folder / str(items[0]["file"] if items else "dsnlink-backup-….tar.gz"))
    return {
        "folder": str(folder),
        "scheduled": schedule is not None,
        "schedule": planned,
        "target": target,
        "last_good": state.get("last_good"),
        "last_failure": state.get("last_failure"),
        "backups": items,
        "partial": partial,
        "restore_commands": [
            f'dsnlink backup verify "{example}"',
            f'dsnlink restore "{example}" --data-dir NOUVEAU_DOSSIER',
            f'dsnlink restore "{example}" --yes',
        ],
        "task": _task(request),
    }


def _partial(folder: Path) -> list[dict[str, Any]]:
    """Hidden leftovers of interrupted backups (a partial archive, a staging folder)."""
    from dsnlink.maintenance import archive
    from dsnlink.maintenance.backup import STAGING_PREFIX

    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir()):
        if not (path.name.endswith(archive.PARTIAL) or path.name.startswith(STAGING_PREFIX)):
            continue
        try:
            st = path.stat()
            size = (
                st.st_size
                if path.is_file()
                else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            )
        except FileNotFoundError:  # finished or removed meanwhile
            continue
        at = datetime.fromtimestamp(st.st_mtime, UTC).isoformat()
        out.append({"file": path.name, "at": at, "size": size})
    return out


def start_backup(request: Request, app: App, user: User) -> TaskState:
    from dsnlink.maintenance.backup import take_backup

    settings = app.settings

    def work() -> dict[str, Any]:
        result = take_backup(settings)
        data = result.to_dict()
        data["file"] = result.path.name
        return data

    task = tasks(request).start("backup", work, actor=user.login)
    _audit(app, user, "backup.take", None)
    return task


def start_verify(request: Request, app: App, user: User, name: str) -> TaskState:
    """Verify an archive of the backup folder, named as listed (never a path from outside)."""
    from dsnlink.maintenance.restore import verify_backup
    from dsnlink.maintenance.retention import list_backups

    folder, _schedule = _folder(app)
    found = [b.path for b in list_backups(folder) if b.path.name == name]
    if not found:
        raise NotFound(
            f"Aucune sauvegarde « {name} » dans {folder}.",
            remedy="Choisissez une archive de la liste des sauvegardes.",
            file=name,
        )
    path = found[0]
    pg_server = None if app.db.is_sqlite else _pg_server(app)

    def work() -> dict[str, Any]:
        data = verify_backup(path, pg_server_url=pg_server).to_dict()
        data["file"] = path.name
        return data

    task = tasks(request).start("verify", work, actor=user.login, subject=name)
    _audit(app, user, "backup.verify", name)
    return task


def set_schedule(app: App, user: User, wanted: ScheduleIn) -> None:
    """Check and save the backup schedule, as ``user`` (right and audit: the schedule's)."""
    from dsnlink.maintenance.schedule import parse_schedule, save_schedule

    schedule = parse_schedule(
        frequency=wanted.frequency,
        at=wanted.at,
        target=Path(wanted.target.strip()),
        keep=wanted.keep,
        weekday=wanted.weekday,
        day=wanted.day,
        enabled=wanted.enabled,
    )
    save_schedule(app.store, schedule, actor=user)


def _pg_server(app: App) -> str | None:
    from dsnlink.setup import database_url

    try:
        return database_url(app.settings)
    except DsnlinkError:
        return None


def _audit(app: App, user: User, action: str, object_id: str | None) -> None:
    from dsnlink.accounts.base import record_audit

    with app.store.write() as r:
        record_audit(r, user, action, "backup", object_id, at=datetime.now(UTC))


def workers_view(request: Request, app: App) -> dict[str, Any]:
    from dsnlink.jobs.activity import queue_report, runner_report

    reseau = not app.db.is_sqlite
    queue = None
    runner = None
    if reseau:
        report = queue_report(app.db, stalled_seconds=app.settings.worker_stalled_seconds)
        queue = {
            "installed": report["queue"],
            "workers": report["workers"],
            "jobs": report["jobs"],
            "totals": report["totals"],
            "stalled": report["stalled"],
            "stalled_seconds": report["stalled_seconds"],
            "runner_elsewhere": report["runner_elsewhere"],
        }
    else:
        runner = runner_report(
            app.settings.data_dir,
            getattr(request.app.state, "runner", None),
            server_pid=getattr(request.app.state, "runner_pid", None),
        )
    return {
        "mode": "reseau" if reseau else "monoposte",
        "queue": queue,
        "runner": runner,
        "envois": _envois_by_state(app),
    }


def _envois_by_state(app: App) -> dict[str, int]:
    from sqlalchemy import func, select

    from dsnlink.pipeline.tables import envois

    with app.db.read() as conn:
        rows = conn.execute(select(envois.c.state, func.count()).group_by(envois.c.state)).all()
    return {str(state): int(n) for state, n in rows}


# -- API ------------------------------------------------------------------------------------------


@api.get("/health", response_model=HealthOut, summary="L'état de santé (comme dsnlink doctor)")
def get_health(user: Reader, app: AppDep) -> dict[str, Any]:
    return health(app)


@api.get("/backups", response_model=BackupsOut, summary="Les sauvegardes et leur programmation")
def get_backups(request: Request, user: Reader, app: AppDep) -> dict[str, Any]:
    return backups_view(request, app)


@api.post(
    "/backups",
    response_model=TaskEnvelope,
    status_code=202,
    summary="Sauvegarder maintenant (en arrière-plan)",
    responses=error_responses(409),
)
def post_backup(request: Request, user: Operator, app: AppDep) -> dict[str, Any]:
    return {"task": start_backup(request, app, user).to_dict()}


@api.post(
    "/backups/verify",
    response_model=TaskEnvelope,
    status_code=202,
    summary="Vérifier une sauvegarde (en arrière-plan)",
    responses=error_responses(404, 409),
)
def post_verify(request: Request, body: VerifyIn, user: Operator, app: AppDep) -> dict[str, Any]:
    return {"task": start_verify(request, app, user, body.file).to_dict()}


@api.put(
    "/backups/schedule",
    response_model=BackupsOut,
    summary="Programmer les sauvegardes (quand, où, combien gardées)",
)
def put_schedule(
    request: Request, body: ScheduleIn, user: Scheduler, app: AppDep
) -> dict[str, Any]:
    set_schedule(app, user, body)
    return backups_view(request, app)


@api.get("/task", response_model=TaskEnvelope, summary="La sauvegarde ou vérification en cours")
def get_task(request: Request, user: Reader) -> dict[str, Any]:
    return {"task": _task(request)}


@api.get("/workers", response_model=WorkersOut, summary="Workers, file des tâches, exécuteur")
def get_workers(request: Request, user: Reader, app: AppDep) -> dict[str, Any]:
    return workers_view(request, app)


# -- pages ----------------------------------------------------------------------------------------


def paris(value: str | datetime | None) -> str:
    """An instant as people in France read it: Paris wall-clock time, to the minute (every
    time of the Maintenance pages is Paris time, as the schedule's)."""
    from dsnlink.pipeline.deadlines import PARIS

    if not value:
        return "—"
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return f"{at.astimezone(PARIS):%d/%m/%Y à %H:%M}"


def _render(request: Request, template: str, user: User, **context: Any) -> HTMLResponse:
    return render(
        request,
        template,
        user=user,
        paris=paris,
        status_labels=STATUS_LABELS,
        task_kinds=TASK_KINDS,
        can_run=_may(user, Operation.BACKUP_RUN),
        can_schedule=_may(user, Operation.BACKUP_SCHEDULE),
        **context,
    )


def _may(user: User, operation: Operation) -> bool:
    from dsnlink.accounts.rights import allowed

    return allowed(user, operation, own=True)


@pages.get("/maintenance")
def maintenance_home(user: Reader) -> Response:
    return RedirectResponse("/maintenance/sante", status_code=303)


@pages.get("/maintenance/sante", response_class=HTMLResponse)
def health_page(request: Request, user: Reader, app: AppDep) -> Response:
    return _render(
        request,
        "maintenance/sante.html",
        user,
        tab="sante",
        health=health(app),
        check_labels=CHECK_LABELS,
        checked_at=datetime.now(UTC),
    )


def _backups_page(
    request: Request,
    app: App,
    user: User,
    *,
    done: str | None = None,
    error: DsnlinkError | None = None,
    status: int = 200,
    submitted: dict[str, Any] | None = None,
) -> HTMLResponse:
    return _render(
        request,
        "maintenance/sauvegardes.html",
        user,
        tab="sauvegardes",
        submitted=submitted,
        view=backups_view(request, app),
        frequencies=FREQUENCY_LABELS,
        weekdays=WEEKDAYS,
        done=done,
        error=error,
        status_code=status,
    )


@pages.get("/maintenance/sauvegardes", response_class=HTMLResponse)
def backups_page(
    request: Request, user: Reader, app: AppDep, programmation: str | None = None
) -> Response:
    done = "Programmation des sauvegardes enregistrée." if programmation else None
    return _backups_page(request, app, user, done=done)


@pages.post("/maintenance/sauvegardes", response_class=HTMLResponse)
def backup_now(request: Request, user: Operator, app: AppDep) -> Response:
    try:
        start_backup(request, app, user)
    except DsnlinkError as exc:
        return _backups_page(request, app, user, error=exc, status=status_of(exc))
    return RedirectResponse("/maintenance/sauvegardes", status_code=303)


@pages.post("/maintenance/sauvegardes/verifier", response_class=HTMLResponse)
def verify_now(
    request: Request,
    user: Operator,
    app: AppDep,
    fichier: Annotated[str, Form(max_length=255)],
) -> Response:
    try:
        start_verify(request, app, user, fichier)
    except DsnlinkError as exc:
        return _backups_page(request, app, user, error=exc, status=status_of(exc))
    return RedirectResponse("/maintenance/sauvegardes", status_code=303)


def _number(value: str, label: str, field: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidInput(f"{label} : « {value} » n'est pas un nombre.", field=field) from None


@pages.post("/maintenance/sauvegardes/programmation", response_class=HTMLResponse)
def schedule_page(
    request: Request,
    user: Scheduler,
    app: AppDep,
    frequency: Annotated[str, Form(max_length=16)],
    target: Annotated[str, Form(max_length=4096)],
    at: Annotated[str, Form(max_length=8)] = "02:00",
    weekday: Annotated[str, Form(max_length=16)] = "lundi",
    day: Annotated[str, Form(max_length=8)] = "1",
    keep: Annotated[str, Form(max_length=8)] = "5",
    enabled: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        if not target.strip():
            raise InvalidInput("Indiquez le dossier des sauvegardes.", field="target")
        wanted = ScheduleIn(
            frequency=frequency,
            at=at,
            weekday=weekday,
            day=_number(day, "Jour du mois", "day"),
            target=target,
            keep=_number(keep, "Sauvegardes gardées", "keep"),
            enabled=bool(enabled),
        )
        set_schedule(app, user, wanted)
    except DsnlinkError as exc:
        # The form shows again what was typed, with the message: nothing to type twice.
        typed: dict[str, Any] = {"frequency": frequency, "at": at, "weekday": weekday}
        typed |= {"day": day, "target": target, "keep": keep, "enabled": bool(enabled)}
        return _backups_page(request, app, user, error=exc, status=status_of(exc), submitted=typed)
    return RedirectResponse("/maintenance/sauvegardes?programmation=1", status_code=303)


@pages.get("/maintenance/workers", response_class=HTMLResponse)
def workers_page(request: Request, user: Reader, app: AppDep) -> Response:
    return _render(
        request,
        "maintenance/workers.html",
        user,
        tab="workers",
        view=workers_view(request, app),
        job_labels=JOB_STATE_LABELS,
        runner_labels=RUNNER_LABELS,
        envoi_labels={state.value: label for state, label in ENVOI_LABELS.items()},
    )
