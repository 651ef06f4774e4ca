"""The step catalogue: which pipeline step moves an envoi on from each state.

Both ways of running the pipeline use this one catalogue: the in-process runner (monoposte)
and the procrastinate tasks of ``dsnlink worker`` (réseau). Every step is an idempotent
function over the ledger (compare-and-set transitions), so running one twice, or on an envoi
another worker already moved, is harmless.
"""

from __future__ import annotations

from collections.abc import Callable

from dsnlink.pipeline.collecting import poll_flow
from dsnlink.pipeline.context import Pipeline
from dsnlink.pipeline.intake import advance_received
from dsnlink.pipeline.model import Envoi
from dsnlink.pipeline.sending import (
    advance_deposited,
    is_due,
    reconcile,
    recover_sending,
    release_held,
    send,
)
from dsnlink.pipeline.states import EnvoiState

S = EnvoiState
Step = Callable[[Pipeline, str], Envoi]

#: The work of the pipeline: states whose envoi waits for a step, when due.
STEPS: dict[EnvoiState, Step] = {
    S.QUEUED: send,
    S.FATE_UNKNOWN: reconcile,
    S.RETURNS_PENDING: poll_flow,
}

#: States only a crash leaves an envoi in (between two transitions of one step).
#: ``sending`` is in-flight work: it may be recovered only when no one can be sending it any
#: more (the runner at its start; a worker holding the identity's lock).
RECOVERY: dict[EnvoiState, Step] = {
    S.SENDING: recover_sending,
    S.RECEIVED: advance_received,
    S.DEPOSITED: advance_deposited,
}


def run_step(pipeline: Pipeline, envoi_id: str) -> Envoi:
    """Move one envoi on by the step its *current* state calls for (recovery first)."""
    envoi = pipeline.ledger.get_envoi(envoi_id)
    recovery = RECOVERY.get(envoi.state)
    if recovery is not None:
        envoi = recovery(pipeline, envoi.id)
    step = STEPS.get(envoi.state)
    if step is None:
        return envoi
    return step(pipeline, envoi.id)


def release_fixed_identities(pipeline: Pipeline) -> int:
    """Held envois whose identity a person fixed go back to the queue."""
    released = 0
    for envoi in pipeline.ledger.envois(states=[S.HELD]):
        if release_held(pipeline, envoi.id).state is S.QUEUED:
            released += 1
    return released


def due_envois(pipeline: Pipeline) -> list[Envoi]:
    """Envois that wait for a step now (oldest first, each once)."""
    release_fixed_identities(pipeline)
    now = pipeline.clock.now()
    # Selected in SQL (due, or not scheduled yet) rather than loading every pending envoi:
    # with thousands of envois waiting for their returns, most are not due in a given round.
    ledger, states = pipeline.ledger, list(STEPS)
    work = ledger.envois(states=states, due_before=now)
    work += ledger.envois(states=states, unscheduled=True)
    seen: set[str] = set()
    out: list[Envoi] = []
    for envoi in work:
        if envoi.id not in seen and is_due(envoi, now):
            seen.add(envoi.id)
            out.append(envoi)
    return out


def recover_all(pipeline: Pipeline, states: tuple[EnvoiState, ...] = tuple(RECOVERY)) -> int:
    """Bring every envoi a crash left in one of ``states`` back to a state a step handles."""
    moved = 0
    for envoi in pipeline.ledger.envois(states=list(states)):
        RECOVERY[envoi.state](pipeline, envoi.id)
        moved += 1
    return moved


def identities_to_sync(pipeline: Pipeline) -> dict[str, str]:
    """Identities that deposited, each with the last user who deposited with it (the
    declarant-wide returns listing is walked on their behalf)."""
    return {
        e.identity_id: e.acting_login
        for e in pipeline.ledger.envois()
        if e.identity_id is not None and e.idflux
    }
