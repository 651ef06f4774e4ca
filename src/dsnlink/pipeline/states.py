"""The life of one envoi (one declaration sent to Net-entreprises), as a state machine.

::

    received ─► checked ─► queued ─► sending ─► deposited ─► returns_pending ─► complete
                   │          ▲  │      │  │                      │
                   │          │  ▼      │  └─► rejected (ARE)     └─► attention_needed
                   │          held ◄────┘
                   │      (credential failure: nothing retries until the identity changes)
                   └─► rejected (blocking findings before any send)
        sending ─► fate_unknown ─► deposited  (the listing shows it)
                              └─► queued     (the listing shows it never came)
                              └─► attention_needed (cannot tell)

``checked`` is also where the real envoi of a test-first pair waits for its test's certificate.
A transition is only valid from the states listed here; the ledger applies it as a
compare-and-set in one transaction, with an event row, so concurrent workers (threads or
machines) can never both claim the same envoi.
"""

from __future__ import annotations

from enum import StrEnum


class EnvoiState(StrEnum):
    RECEIVED = "received"
    CHECKED = "checked"
    QUEUED = "queued"
    HELD = "held"
    SENDING = "sending"
    DEPOSITED = "deposited"
    REJECTED = "rejected"
    FATE_UNKNOWN = "fate_unknown"
    RETURNS_PENDING = "returns_pending"
    COMPLETE = "complete"
    ATTENTION_NEEDED = "attention_needed"


S = EnvoiState

#: Allowed transitions: target state -> states it may be reached from.
ALLOWED: dict[EnvoiState, frozenset[EnvoiState]] = {
    S.CHECKED: frozenset({S.RECEIVED}),
    # From sending: the portal answered an error, so nothing was registered; sent again later.
    S.QUEUED: frozenset({S.CHECKED, S.HELD, S.SENDING, S.FATE_UNKNOWN, S.ATTENTION_NEEDED}),
    S.HELD: frozenset({S.QUEUED, S.SENDING}),
    S.SENDING: frozenset({S.QUEUED}),
    S.DEPOSITED: frozenset({S.SENDING, S.FATE_UNKNOWN}),
    S.REJECTED: frozenset({S.RECEIVED, S.CHECKED, S.SENDING, S.FATE_UNKNOWN}),
    S.FATE_UNKNOWN: frozenset({S.SENDING}),
    S.RETURNS_PENDING: frozenset({S.DEPOSITED}),
    S.COMPLETE: frozenset({S.RETURNS_PENDING}),
    S.ATTENTION_NEEDED: frozenset(
        {S.CHECKED, S.QUEUED, S.SENDING, S.FATE_UNKNOWN, S.RETURNS_PENDING, S.DEPOSITED, S.HELD}
    ),
}

#: States after which nothing more happens automatically.
FINAL: frozenset[EnvoiState] = frozenset({S.COMPLETE, S.REJECTED})

#: States in which the envoi may already be (or is) on the platform: never send again.
MAYBE_ON_PLATFORM: frozenset[EnvoiState] = frozenset(
    {S.SENDING, S.DEPOSITED, S.FATE_UNKNOWN, S.RETURNS_PENDING, S.COMPLETE}
)

#: French labels for people.
LABELS: dict[EnvoiState, str] = {
    S.RECEIVED: "reçu",
    S.CHECKED: "contrôlé",
    S.QUEUED: "en file d'attente",
    S.HELD: "suspendu (identifiants)",
    S.SENDING: "envoi en cours",
    S.DEPOSITED: "déposé",
    S.REJECTED: "rejeté",
    S.FATE_UNKNOWN: "sort inconnu (vérification)",
    S.RETURNS_PENDING: "retours attendus",
    S.COMPLETE: "terminé",
    S.ATTENTION_NEEDED: "à examiner",
}


def can_move(current: EnvoiState, target: EnvoiState) -> bool:
    return current in ALLOWED.get(target, frozenset())


def intake_path(state: EnvoiState) -> list[tuple[EnvoiState | None, EnvoiState]]:
    """The transitions an envoi recorded directly in ``state`` went through at intake (the
    checks run before the file is recorded, so they are written in the same transaction)."""
    path = [S.RECEIVED, S.CHECKED, S.QUEUED]
    steps = path[: path.index(state) + 1] if state in path else [state]
    return list(zip([None, *steps[:-1]], steps, strict=True))
