"""``dsnlink doctor``: the installation's health in one screen.

Each check says ``ok``, ``warning`` or ``failure`` with a French sentence and what to do. The
doctor never refuses to run: a database out of reach or a schema of another version is what it
is there to report. Exit code: 0 healthy, 1 warnings, 2 at least one failure.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from dsnlink.errors import DsnlinkError
from dsnlink.maintenance.backup import default_target
from dsnlink.maintenance.retention import newest_good
from dsnlink.maintenance.schedule import PARIS, backup_state, load_schedule, overdue
from dsnlink.settings import Settings
from dsnlink.setup import App, database_url
from dsnlink.store import Database, check_schema, open_database

OK, WARNING, FAILURE = "ok", "warning", "failure"
_RANK = {OK: 0, WARNING: 1, FAILURE: 2}
#: Free space under which the data folder (or the backup folder) is a warning / a failure.
SPACE_WARNING = 2_000_000_000
SPACE_FAILURE = 200_000_000
#: Age of the last good backup that deserves a warning when no schedule says otherwise.
BACKUP_AGE_WARNING = timedelta(days=7)
#: An envoi in "sending" this long is stuck (a POST never takes that long).
STUCK_AFTER = timedelta(hours=1)
_CREDENTIAL_STATES = {"wrong_credentials", "password_expired", "not_registered", "locked"}


@dataclass
class Check:
    name: str
    status: str
    message: str
    remedy: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Health:
    checks: list[Check]

    @property
    def status(self) -> str:
        return max((c.status for c in self.checks), key=_RANK.__getitem__, default=OK)

    @property
    def exit_code(self) -> int:
        return _RANK[self.status]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checks": [
                {
                    "name": c.name,
                    "status": c.status,
                    "message": c.message,
                    "remedy": c.remedy,
                    "facts": c.facts,
                }
                for c in self.checks
            ],
        }


def diagnose(settings: Settings, *, now: datetime | None = None) -> Health:
    now = now or datetime.now(UTC)
    checks: list[Check] = []
    db = _database(settings, checks)
    if db is None:
        checks.append(_master_key(settings))
        checks.append(_disk(settings.data_dir, "disk", "Dossier de données"))
        return Health(checks)
    try:
        schema_ok = _schema(db, checks)
        checks.append(_master_key(settings))
        checks.append(_disk(settings.data_dir, "disk", "Dossier de données"))
        checks.extend(_backups(settings, db, now))
        if schema_ok:
            checks.extend(_pipeline_checks(settings, now))
    finally:
        db.dispose()
    return Health(checks)


def _database(settings: Settings, checks: list[Check]) -> Database | None:
    try:
        db = open_database(database_url(settings))
        path = db.sqlite_path
        if path is not None and not path.exists():
            db.dispose()
            checks.append(
                Check(
                    "database",
                    FAILURE,
                    f"Aucune installation dans {settings.data_dir}.",
                    "Créez-la avec « dsnlink init » ou vérifiez DSNLINK_DATA_DIR.",
                )
            )
            return None
        with db.read() as conn:
            conn.execute(text("SELECT 1"))
    except DsnlinkError as exc:
        checks.append(Check("database", FAILURE, exc.message, exc.remedy or ""))
        return None
    checks.append(Check("database", OK, f"Base de données joignable ({db.describe()})."))
    return db


def _schema(db: Database, checks: list[Check]) -> bool:
    try:
        revision = check_schema(db)
    except DsnlinkError as exc:
        checks.append(Check("schema", FAILURE, exc.message, exc.remedy or "", exc.context))
        return False
    checks.append(Check("schema", OK, f"Schéma à jour ({revision}).", facts={"revision": revision}))
    return True


def _master_key(settings: Settings) -> Check:
    from dsnlink.vault.keys import load_keyring

    try:
        ring = load_keyring(settings)
    except DsnlinkError as exc:
        return Check("master_key", FAILURE, exc.message, exc.remedy or "")
    return Check(
        "master_key",
        OK,
        f"Clé maîtresse disponible ({ring.active.key_id}).",
        "Gardez-en une copie hors ligne : « dsnlink vault export-key ».",
        {"active": ring.active.key_id},
    )


def _disk(folder: Path, name: str, label: str) -> Check:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    facts = {"folder": str(folder), "free_bytes": free}
    text_free = f"{free / 1_000_000_000:.1f} Go libres"
    if free < SPACE_FAILURE:
        return Check(
            name, FAILURE, f"{label} : {text_free} seulement.", "Libérez de la place.", facts
        )
    if free < SPACE_WARNING:
        return Check(
            name, WARNING, f"{label} : {text_free}.", "Prévoyez de libérer de la place.", facts
        )
    return Check(name, OK, f"{label} : {text_free}.", facts=facts)


def _backups(settings: Settings, db: Database, now: datetime) -> list[Check]:
    from dsnlink.maintenance.target import check_target

    try:
        schedule = load_schedule(db)
        state = backup_state(db)
    except DsnlinkError:
        schedule, state = None, {}
    folder = schedule.target if schedule else default_target(settings)
    found = newest_good(folder)
    out: list[Check] = []
    if schedule is not None:
        try:
            check_target(folder)
        except DsnlinkError as exc:
            out.append(Check("backup_target", FAILURE, exc.message, exc.remedy or ""))
        else:
            out.append(_disk(folder, "backup_target", "Dossier de sauvegarde"))
    last_at = found.at if found else None
    recorded = state.get("last_good", {}).get("at") if isinstance(state, dict) else None
    if recorded and Path(str(state["last_good"].get("file", ""))).is_file():
        at = datetime.fromisoformat(str(recorded))
        last_at = max(last_at, at) if last_at else at
    facts: dict[str, Any] = {"folder": str(folder), "last_good": last_at}
    if last_at is None:
        out.append(
            Check(
                "last_backup",
                FAILURE if schedule else WARNING,
                f"Aucune sauvegarde réussie n'a été trouvée dans {folder}.",
                "Lancez « dsnlink backup » et programmez-les (« dsnlink backup schedule set »).",
                facts,
            )
        )
        return out
    age = now - last_at
    facts["age_hours"] = round(age.total_seconds() / 3600, 1)
    when = f"{last_at.astimezone(PARIS):%d/%m/%Y %H:%M}"
    late = overdue(schedule, state, now) if schedule else None
    if late is not None:
        out.append(
            Check(
                "last_backup",
                FAILURE,
                f"Sauvegarde en retard : la dernière bonne date du {when}.",
                "Lancez « dsnlink backup » pour voir ce qui bloque ; vérifiez que « dsnlink "
                "run » tourne.",
                facts,
            )
        )
    elif schedule is None and age > BACKUP_AGE_WARNING:
        out.append(
            Check(
                "last_backup",
                WARNING,
                f"La dernière sauvegarde date du {when} et aucune n'est programmée.",
                "Programmez-les : « dsnlink backup schedule set ».",
                facts,
            )
        )
    else:
        out.append(Check("last_backup", OK, f"Dernière bonne sauvegarde : {when}.", facts=facts))
    return out


def _pipeline_checks(settings: Settings, now: datetime) -> list[Check]:
    from dsnlink.pipeline.deadlines import deadlines
    from dsnlink.pipeline.setup import SystemClock, open_pipeline
    from dsnlink.pipeline.states import EnvoiState
    from dsnlink.setup import open_app

    out: list[Check] = []
    with open_app(settings) as app:
        out.append(_identities(app))
        with open_pipeline(app, clock=_FixedClock(now) if now else SystemClock()) as pipeline:
            ledger = pipeline.ledger
            stuck = [
                e
                for e in ledger.envois(states=[EnvoiState.SENDING, EnvoiState.RECEIVED])
                if now - e.updated_at > STUCK_AFTER
            ]
            attention = ledger.envois(states=[EnvoiState.ATTENTION_NEEDED])
            held = ledger.envois(states=[EnvoiState.HELD])
            facts = {"stuck": len(stuck), "attention_needed": len(attention), "held": len(held)}
            if stuck:
                out.append(
                    Check(
                        "jobs",
                        FAILURE,
                        f"{len(stuck)} dépôt(s) bloqué(s) depuis plus d'une heure.",
                        "Vérifiez que « dsnlink run » tourne ; il les reprend à son démarrage.",
                        facts,
                    )
                )
            elif attention or held:
                out.append(
                    Check(
                        "jobs",
                        WARNING,
                        f"{len(attention)} dépôt(s) à examiner, {len(held)} suspendu(s).",
                        "Voyez « dsnlink status --state attention_needed --state held ».",
                        facts,
                    )
                )
            else:
                out.append(Check("jobs", OK, "Aucun dépôt bloqué.", facts=facts))
            out.append(_deadlines(deadlines(pipeline), now))
    return out


class _FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def _identities(app: App) -> Check:
    with app.store.read() as r:
        identities = r.identities.all()
    refused = [i for i in identities if i.state.value in _CREDENTIAL_STATES]
    failing = [i for i in identities if i.state.value == "failing"]
    facts = {"refused": len(refused), "failing": len(failing), "total": len(identities)}
    if refused:
        return Check(
            "identities",
            FAILURE,
            f"{len(refused)} identité(s) Net-entreprises refusée(s) (mot de passe erroné, expiré, "
            "compte bloqué…) : leurs dépôts sont suspendus.",
            "Corrigez-les avec « dsnlink identity set » (voir « dsnlink identity show »).",
            facts,
        )
    if failing:
        return Check(
            "identities",
            WARNING,
            f"{len(failing)} identité(s) en échec de connexion (réseau ou service).",
            "Lancez « dsnlink test-connection » pour voir ce qui bloque.",
            facts,
        )
    return Check("identities", OK, f"{len(identities)} identité(s), aucune en échec.", facts=facts)


def _deadlines(items: list[Any], now: datetime) -> Check:
    soon = now.astimezone(PARIS).date() + timedelta(days=3)
    overdue_ = [d for d in items if d.status == "overdue"]
    at_risk = [d for d in items if d.status in {"missing", "attention"} and d.due <= soon]
    facts = {"overdue": [d.siret for d in overdue_], "at_risk": [d.siret for d in at_risk]}
    if overdue_:
        return Check(
            "deadlines",
            FAILURE,
            f"{len(overdue_)} DSN non déposée(s) alors que l'échéance est passée.",
            "Voyez « dsnlink deadlines ».",
            facts,
        )
    if at_risk:
        return Check(
            "deadlines",
            WARNING,
            f"{len(at_risk)} DSN à déposer dans les trois jours.",
            "Voyez « dsnlink deadlines ».",
            facts,
        )
    return Check("deadlines", OK, "Aucune échéance en danger.", facts=facts)
