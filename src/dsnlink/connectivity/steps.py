"""Running the steps of a check: in order, independent ones at the same time.

A step declares the steps it needs (``after``). It starts as soon as those are done; if one of
them did not succeed it is *skipped*, with the reason. Steps that need nothing from each other
run concurrently, so a black-holed host costs one timeout, not the sum of all of them. Results
come back in the declared order, each with a status, its duration, a detail and, when something
is wrong, a remedy in plain French.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dsnlink.errors import DsnlinkError, NetworkTimeout
from dsnlink.logs import get_logger
from dsnlink.redaction import redact, redact_text

log = get_logger("dsnlink.connectivity")


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILURE = "failure"
    SKIPPED = "skipped"


#: Worst first: the status of a group is the worst of its steps.
SEVERITY_ORDER = (Status.FAILURE, Status.WARNING, Status.OK, Status.SKIPPED)


@dataclass(frozen=True)
class Outcome:
    """What a step returns (or raises, as a ``DsnlinkError``)."""

    status: Status
    detail: str
    remedy: str | None = None
    code: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def ok(cls, detail: str, **data: Any) -> Outcome:
        return cls(Status.OK, detail, data=data)

    @classmethod
    def warning(cls, detail: str, remedy: str | None = None, **data: Any) -> Outcome:
        return cls(Status.WARNING, detail, remedy, data=data)

    @classmethod
    def failure(
        cls, detail: str, remedy: str | None = None, code: str | None = None, **data: Any
    ) -> Outcome:
        return cls(Status.FAILURE, detail, remedy, code, data=data)

    @classmethod
    def skipped(cls, detail: str, remedy: str | None = None, **data: Any) -> Outcome:
        return cls(Status.SKIPPED, detail, remedy, data=data)


class StepContext:
    """What a running step can see: the outcomes of the steps it declared it needs."""

    def __init__(self, results: dict[str, StepResult]) -> None:
        self._results = results

    def result(self, step_id: str) -> StepResult:
        return self._results[step_id]

    def data(self, step_id: str, key: str, default: Any = None) -> Any:
        result = self._results.get(step_id)
        return default if result is None else result.data.get(key, default)


StepFunction = Callable[[StepContext], Awaitable[Outcome]]


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    run: StepFunction
    #: Steps that must succeed (ok or warning) before this one starts.
    after: tuple[str, ...] = ()
    #: Rendering group ("Configuration", "Serveur d'authentification"...).
    group: str = ""
    #: Guard against a step that would hang: failure after this many seconds.
    timeout: float | None = None


@dataclass(frozen=True)
class StepResult:
    id: str
    title: str
    group: str
    status: Status
    duration: float
    detail: str
    remedy: str | None = None
    code: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "group": self.group,
            "status": self.status.value,
            "duration_ms": round(self.duration * 1000, 1),
            "detail": redact_text(self.detail),
            "remedy": redact_text(self.remedy) if self.remedy else None,
            "code": self.code,
            "data": redact(self.data),
        }


def _check_graph(steps: Sequence[Step]) -> None:
    seen: set[str] = set()
    for step in steps:
        if step.id in seen:
            raise ValueError(f"duplicate step id {step.id!r}")
        for dep in step.after:
            if dep not in seen:
                # Declared order is the order of the report: a step comes after what it needs.
                raise ValueError(f"step {step.id!r} needs {dep!r}, which is not declared before")
        seen.add(step.id)


async def _run_one(step: Step, context: StepContext) -> Outcome:
    try:
        if step.timeout is not None:
            async with asyncio.timeout(step.timeout):
                return await step.run(context)
        return await step.run(context)
    except TimeoutError:
        error = NetworkTimeout(f"L'étape n'a pas abouti en {step.timeout:g} s.")
        return Outcome.failure(error.message, error.remedy, error.code)
    except DsnlinkError as exc:
        return Outcome.failure(exc.message, exc.remedy, exc.code, **exc.context)
    except Exception as exc:  # noqa: BLE001 - one broken step must not hide the others
        log.error("step_crashed", step=step.id, error=type(exc).__name__, detail=str(exc))
        return Outcome.failure(
            f"Erreur interne pendant cette étape ({type(exc).__name__}).",
            "Relancez avec DSNLINK_LOG_LEVEL=DEBUG et signalez le problème.",
            "internal",
        )


async def run_steps(
    steps: Sequence[Step], *, on_result: Callable[[StepResult], None] | None = None
) -> list[StepResult]:
    """Run ``steps`` (dependencies first, the rest concurrently); results in declared order.

    ``on_result`` sees each result as soon as its step ends (the web page shows the steps
    appearing one by one); it must not raise.
    """
    _check_graph(steps)
    results: dict[str, StepResult] = {}
    done: dict[str, asyncio.Event] = {step.id: asyncio.Event() for step in steps}
    titles = {step.id: step.title for step in steps}

    async def drive(step: Step) -> None:
        try:
            for dep in step.after:
                await done[dep].wait()
            blocking = [
                dep for dep in step.after if results[dep].status not in (Status.OK, Status.WARNING)
            ]
            started = time.perf_counter()
            if blocking:
                first = blocking[0]
                verb = "a été sautée" if results[first].status is Status.SKIPPED else "a échoué"
                outcome = Outcome.skipped(f"Non lancée : l'étape « {titles[first]} » {verb}.")
            else:
                outcome = await _run_one(step, StepContext(results))
            results[step.id] = StepResult(
                id=step.id,
                title=step.title,
                group=step.group,
                status=outcome.status,
                duration=time.perf_counter() - started,
                detail=outcome.detail,
                remedy=outcome.remedy,
                code=outcome.code,
                data=dict(outcome.data),
            )
            if on_result is not None:
                on_result(results[step.id])
        finally:
            done[step.id].set()

    await asyncio.gather(*(drive(step) for step in steps))
    return [results[step.id] for step in steps]


class Budget:
    """One deadline for the network probes of a whole test.

    Each probe gets what is left of it, so a host that swallows packets costs the mode's
    timeout once, however many steps wait behind it.
    """

    #: Never hand a probe less than this (it would fail without trying).
    MINIMUM = 0.05

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._ends = time.monotonic() + seconds

    def left(self) -> float:
        return max(self.MINIMUM, self._ends - time.monotonic())


def worst(statuses: Sequence[Status]) -> Status:
    for status in SEVERITY_ORDER:
        if status in statuses:
            return status
    return Status.SKIPPED
