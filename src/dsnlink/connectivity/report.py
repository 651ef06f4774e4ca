"""The connection test's report: the sheet's three check marks, and the steps below them.

The summary mirrors the window of the sheet users know: "Adresse du serveur
d'authentification", "Adresse du serveur de mise à jour", "Adresse d'authentification Net
Entreprise", each green or red, but a red mark here always comes with the step that failed and
what to do. The report's dictionary form is the ``--json`` output and the exported file; it is
redacted, and never holds a password, a token or a proxy password in the first place.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dsnlink.connectivity.steps import Status, StepResult, worst
from dsnlink.errors import InvalidInput
from dsnlink.redaction import redact

#: Format of the exported report (bump when keys change meaning).
REPORT_FORMAT = 1


@dataclass(frozen=True)
class Mark:
    """One check mark of the summary."""

    id: str
    label: str
    status: Status
    detail: str
    step_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "status": self.status.value,
            "detail": self.detail,
            "steps": list(self.step_ids),
        }


@dataclass(frozen=True)
class MarkSpec:
    id: str
    label: str
    #: Step id prefixes (``"auth."``) or exact ids that make up this mark.
    members: tuple[str, ...]
    #: A skipped member counts as red (the thing this mark stands for was not shown to work).
    skipped_is_failure: bool = False


def _member(step_id: str, members: tuple[str, ...]) -> bool:
    return any(step_id == m or (m.endswith(".") and step_id.startswith(m)) for m in members)


def build_mark(spec: MarkSpec, steps: list[StepResult]) -> Mark:
    mine = [s for s in steps if _member(s.id, spec.members)]
    statuses = [s.status for s in mine]
    if spec.skipped_is_failure:
        statuses = [Status.FAILURE if st is Status.SKIPPED else st for st in statuses]
    # Skipped by design (DNS left to the proxy) does not colour a mark whose other steps passed.
    status = worst(statuses) if mine else Status.SKIPPED
    culprit = next(
        (s for s in mine if s.status is status),
        next((s for s in mine if s.status is Status.SKIPPED), None),
    )
    if status in (Status.OK,):
        detail = "Toutes les vérifications sont passées."
    elif culprit is not None:
        detail = f"{culprit.title} : {culprit.detail}"
    else:
        detail = "Non vérifié."
    return Mark(spec.id, spec.label, status, detail, tuple(s.id for s in mine))


@dataclass(frozen=True)
class ConnectionReport:
    started_at: datetime
    duration: float
    marks: tuple[Mark, ...]
    steps: tuple[StepResult, ...]
    #: Non-secret facts about what was tested (user login, identity label, settings summary).
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        return worst([s.status for s in self.steps] + [m.status for m in self.marks])

    @property
    def all_green(self) -> bool:
        return all(m.status is Status.OK for m in self.marks) and not any(
            s.status is Status.FAILURE for s in self.steps
        )

    def step(self, step_id: str) -> StepResult:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "format": REPORT_FORMAT,
            "started_at": self.started_at.isoformat(),
            "duration_ms": round(self.duration * 1000, 1),
            "status": self.status.value,
            "all_green": self.all_green,
            "context": self.context,
            "marks": [m.to_dict() for m in self.marks],
            "steps": [s.to_dict() for s in self.steps],
        }
        return redact(data)  # type: ignore[no-any-return]

    def export(self, path: Path) -> None:
        """Write the report as JSON (UTF-8), atomically: a crash never leaves half a file."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            tmp.write_text(text + "\n", encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise InvalidInput(
                f"Impossible d'écrire le rapport dans {path} ({exc.strerror}).",
                remedy="Choisissez un dossier où vous avez le droit d'écrire.",
            ) from exc
