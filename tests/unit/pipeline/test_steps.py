"""The step catalogue shared by the runner and the workers: one call moves an envoi on by the
step its current state calls for, recovering first what a crash left between transitions."""

from __future__ import annotations

from dsnlink.jobs.steps import STEPS, due_envois, run_step
from dsnlink.pipeline.intake import receive
from dsnlink.pipeline.states import EnvoiState as S

from .samples import dsn, make_pipeline


def test_run_step_sends_a_queued_envoi_once() -> None:
    pipeline, portal, *_ = make_pipeline()
    (envoi,) = receive(pipeline, dsn(), name="a.dsn", acting_login="dupont").envois
    assert [e.id for e in due_envois(pipeline)] == [envoi.id]
    moved = run_step(pipeline, envoi.id)
    assert moved.state is S.RETURNS_PENDING and portal.calls["deposit"] == 1
    # Its first poll is due at once: the next call polls, it never deposits again.
    run_step(pipeline, envoi.id)
    assert portal.calls["deposit"] == 1


def test_run_step_recovers_a_sending_envoi_through_the_listing_not_a_second_post() -> None:
    """A worker died after its POST arrived: the one holding the identity's lock next finds
    the envoi in ``sending`` and adopts the flow the listing shows."""
    pipeline, portal, *_ = make_pipeline()
    (envoi,) = receive(pipeline, dsn(), name="a.dsn", acting_login="dupont").envois
    now = pipeline.clock.now()
    pipeline.ledger.transition(envoi.id, S.SENDING, at=now, actor="t", attempts=1, sending_at=now)
    # The POST reached the platform, then its worker was killed.
    identity = pipeline.identities.get("id-dupont", "dupont")
    outcome = portal.deposit(identity, pipeline.ledger.envoi_bytes(envoi.id))
    moved = run_step(pipeline, envoi.id)
    assert moved.state is S.RETURNS_PENDING and moved.idflux == outcome.idflux
    assert portal.calls["deposit"] == 1
    assert S.FATE_UNKNOWN in [e.to_state for e in pipeline.ledger.events(envoi.id)]


def test_settled_envois_are_left_alone() -> None:
    pipeline, portal, *_ = make_pipeline()
    (envoi,) = receive(pipeline, dsn(), name="a.dsn", acting_login="dupont").envois
    for _ in range(30):
        envoi = run_step(pipeline, envoi.id)
        if envoi.state not in STEPS:
            break
        pipeline.clock.advance(envoi.next_poll_at - pipeline.clock.now())  # type: ignore[operator]
    assert envoi.state is S.COMPLETE
    calls = dict(portal.calls)
    assert run_step(pipeline, envoi.id).state is S.COMPLETE
    assert dict(portal.calls) == calls


def test_a_rate_limited_deposit_listing_is_asked_again_once_its_retry_after_passed() -> None:
    """Reconciling a fate-unknown envoi: the portal answers its listing with a 429 asking to
    wait an hour; the envoi waits that long (not the shorter poll delay), then is settled."""
    from datetime import timedelta

    from dsnlink.errors import RateLimited

    pipeline, portal, *_ = make_pipeline()
    (envoi,) = receive(pipeline, dsn(), name="a.dsn", acting_login="dupont").envois
    now = pipeline.clock.now()
    pipeline.ledger.transition(envoi.id, S.SENDING, at=now, actor="t", attempts=1, sending_at=now)
    real_listing = portal.list_deposits

    def limited(*args: object) -> object:
        raise RateLimited(status=429, retry_after_seconds=3600)

    portal.list_deposits = limited  # type: ignore[assignment,method-assign]
    waiting = run_step(pipeline, envoi.id)
    assert waiting.state is S.FATE_UNKNOWN
    assert waiting.next_poll_at == pipeline.clock.now() + timedelta(hours=1)
    assert pipeline.config.poll_schedule[0] < timedelta(hours=1)
    assert [e.id for e in due_envois(pipeline)] == []
    portal.list_deposits = real_listing  # type: ignore[method-assign]
    pipeline.clock.advance(timedelta(hours=1))
    assert [e.id for e in due_envois(pipeline)] == [envoi.id]
    # Absent from the listing: sent again, once.
    assert run_step(pipeline, envoi.id).state is S.QUEUED
    assert portal.calls["deposit"] == 0
