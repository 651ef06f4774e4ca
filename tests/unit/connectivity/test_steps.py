"""The step runner: order, concurrency, skipping, errors turned into outcomes."""

from __future__ import annotations

import asyncio

import pytest

from dsnlink.connectivity.steps import Outcome, Status, Step, StepContext, run_steps
from dsnlink.errors import DnsError


def _step(id_: str, outcome: Outcome, after: tuple[str, ...] = (), delay: float = 0.0) -> Step:
    async def run(_: StepContext) -> Outcome:
        await asyncio.sleep(delay)
        return outcome

    return Step(id_, id_.upper(), run, after)


def test_results_in_declared_order_and_dependents_skipped() -> None:
    steps = [
        _step("a", Outcome.ok("fine")),
        _step("b", Outcome.failure("broken", "fix it"), ("a",)),
        _step("c", Outcome.ok("never"), ("b",)),
        _step("d", Outcome.ok("never"), ("c",)),
        _step("e", Outcome.warning("meh"), ("a",)),
        _step("f", Outcome.ok("runs after a warning"), ("e",)),
    ]
    results = asyncio.run(run_steps(steps))
    assert [r.id for r in results] == list("abcdef")
    assert [r.status for r in results] == [
        Status.OK,
        Status.FAILURE,
        Status.SKIPPED,
        Status.SKIPPED,
        Status.WARNING,
        Status.OK,
    ]
    assert results[2].detail == "Non lancée : l'étape « B » a échoué."
    assert results[3].detail == "Non lancée : l'étape « C » a été sautée."
    assert results[1].remedy == "fix it"


def test_independent_steps_run_concurrently() -> None:
    seen: list[str] = []

    def tracked(id_: str) -> Step:
        async def run(_: StepContext) -> Outcome:
            seen.append(f"start {id_}")
            await asyncio.sleep(0.05)
            seen.append(f"end {id_}")
            return Outcome.ok(id_)

        return Step(id_, id_, run)

    asyncio.run(run_steps([tracked("x"), tracked("y"), tracked("z")]))
    # All three started before any ended: they overlapped.
    assert seen[:3] == ["start x", "start y", "start z"]


def test_errors_become_failures_with_remedy() -> None:
    async def dns(_: StepContext) -> Outcome:
        raise DnsError("Nom introuvable.", host="h")

    async def bug(_: StepContext) -> Outcome:
        raise ZeroDivisionError

    async def hang(_: StepContext) -> Outcome:
        await asyncio.sleep(10)
        raise AssertionError

    results = asyncio.run(
        run_steps([Step("d", "D", dns), Step("b", "B", bug), Step("h", "H", hang, timeout=0.05)])
    )
    assert (results[0].status, results[0].code, results[0].data) == (
        Status.FAILURE,
        "network.dns",
        {"host": "h"},
    )
    assert results[0].remedy
    assert results[1].code == "internal" and "ZeroDivisionError" in results[1].detail
    assert results[2].code == "network.timeout"


def test_a_step_reads_what_it_depends_on() -> None:
    async def second(ctx: StepContext) -> Outcome:
        return Outcome.ok(str(ctx.data("first", "answer")))

    results = asyncio.run(
        run_steps([_step("first", Outcome.ok("x", answer=42)), Step("s", "S", second, ("first",))])
    )
    assert results[1].detail == "42"


def test_graph_errors() -> None:
    with pytest.raises(ValueError, match="not declared before"):
        asyncio.run(run_steps([_step("b", Outcome.ok(""), ("a",)), _step("a", Outcome.ok(""))]))
    with pytest.raises(ValueError, match="duplicate"):
        asyncio.run(run_steps([_step("a", Outcome.ok("")), _step("a", Outcome.ok(""))]))
