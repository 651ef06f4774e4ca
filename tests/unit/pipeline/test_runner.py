"""The runner: concurrency bounds, and many deposits with injected faults on the fakes."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import timedelta

from dsnlink.jobs.runner import Runner
from dsnlink.pipeline.context import PipelineConfig
from dsnlink.pipeline.intake import receive
from dsnlink.pipeline.ports import IdentityRef
from dsnlink.pipeline.states import EnvoiState as S

from .samples import dsn, make_pipeline


def _siret(n: int) -> str:
    from stdnum import luhn

    base = f"{n:013d}"
    return base + luhn.calc_check_digit(base)


def test_concurrency_is_bounded_overall_and_per_identity() -> None:
    pipeline, portal, identities, *_ = make_pipeline()
    for i in range(3):
        identities.add(
            IdentityRef(f"id-{i}", f"9990000030001{i}", "dupont", None, True),
            employers=[_siret(1000 + i * 100 + k) for k in range(10)],
        )
    in_flight: Counter[str] = Counter()
    peaks: Counter[str] = Counter()
    lock = threading.Lock()
    deposit = portal.deposit

    def slow_deposit(identity, data):  # type: ignore[no-untyped-def]
        with lock:
            in_flight[identity.id] += 1
            in_flight["all"] += 1
            peaks[identity.id] = max(peaks[identity.id], in_flight[identity.id])
            peaks["all"] = max(peaks["all"], in_flight["all"])
        time.sleep(0.01)
        try:
            return deposit(identity, data)
        finally:
            with lock:
                in_flight[identity.id] -= 1
                in_flight["all"] -= 1

    portal.deposit = slow_deposit  # type: ignore[method-assign]
    for i in range(3):
        for k in range(10):
            receive(
                pipeline, dsn(_siret(1000 + i * 100 + k)), name=f"{i}-{k}", acting_login="dupont"
            )
    Runner(pipeline, concurrency=5, per_identity=2).run_until_idle()
    assert portal.calls["deposit"] == 30
    assert peaks["all"] <= 5 and max(peaks[f"id-{i}"] for i in range(3)) <= 2
    assert peaks["all"] >= 2  # it did run in parallel


def test_many_deposits_with_faults_none_twice_all_accounted() -> None:
    config = PipelineConfig(poll_schedule=(timedelta(minutes=1),), max_polls=50, max_attempts=10)
    pipeline, portal, identities, clock, _ = make_pipeline(config=config)
    sirets = [_siret(5000 + n) for n in range(200)]
    identities.add(IdentityRef("id-firm", "99900000500011", "dupont", None, True), employers=sirets)
    rng = random.Random(7)
    portal.script.extend(
        rng.choice(["lost", "arrived", "503"]) if rng.random() < 0.1 else "ok" for _ in range(400)
    )
    for siret in sirets:
        receive(pipeline, dsn(siret), name=siret, acting_login="dupont")
    for _ in range(12):
        Runner(pipeline, concurrency=8, per_identity=8).run_until_idle()
        clock.advance(timedelta(hours=12))
    envois = pipeline.ledger.envois()
    by_state = Counter(e.state for e in envois)
    sent_sirets = Counter(
        portal.checker.check(d.data).declarations[0].declared_siret
        for d in portal.deposits.values()
    )
    assert max(sent_sirets.values()) == 1, "a declaration was deposited twice"
    assert set(sent_sirets) == set(sirets)
    assert by_state[S.COMPLETE] + by_state[S.ATTENTION_NEEDED] == 200, by_state
    assert by_state[S.COMPLETE] >= 190, by_state
    assert {e.idflux for e in envois if e.state is S.COMPLETE} <= set(portal.deposits)
