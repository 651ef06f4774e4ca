"""The contract every ledger passes: memory (here), SQLite and PostgreSQL (SQL tests)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dsnlink.errors import Conflict, NotFound, StateConflict
from dsnlink.pipeline.model import (
    Declaration,
    Employee,
    EmployerPolicy,
    Envoi,
    Finding,
    PasRate,
    ReceivedFile,
    StoredReturn,
)
from dsnlink.pipeline.ports import Ledger
from dsnlink.pipeline.states import EnvoiState as S

T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


def a_file(sha: str = "a" * 64) -> ReceivedFile:
    return ReceivedFile(
        id=uuid.uuid4().hex,
        sha256=sha,
        name="paie é.dsn",
        size=10,
        received_at=T0,
        acting_login="dupont",
        blocking=False,
        findings=(Finding("X-1", "non-bloquant", "message é", 3, "S21.G00.30.001"),),
    )


def an_envoi(file: ReceivedFile, seq: int = 0, siret: str = "73282932000074") -> Envoi:
    return Envoi(
        id=uuid.uuid4().hex,
        file_id=file.id,
        seq=seq,
        sha256="b" * 64,
        declaration=Declaration(
            siret, "01/2026", "01", "01", "11", False, (Employee("1800175123456", "M1", "NOM"),)
        ),
        state=S.RECEIVED,
        acting_login="dupont",
        created_at=T0,
        updated_at=T0,
        identity_id="id-1",
    )


class LedgerContract:
    """Subclass with a ``ledger`` fixture."""

    def test_file_and_envois_round_trip(self, ledger: Ledger) -> None:
        file = a_file()
        envoi = an_envoi(file)
        ledger.add_file(file, [(envoi, b"S10\xe9")])
        assert ledger.file_by_sha(file.sha256) == file
        assert ledger.get_file(file.id) == file
        assert ledger.get_envoi(envoi.id) == envoi
        assert ledger.envoi_bytes(envoi.id) == b"S10\xe9"
        assert ledger.envois(file_id=file.id) == [envoi]
        assert ledger.envois(siret="73282932000074", month="01/2026") == [envoi]
        assert ledger.envois(states=[S.QUEUED]) == []
        assert [e.to_state for e in ledger.events(envoi.id)] == [S.RECEIVED]

    def test_same_sha_twice_conflicts(self, ledger: Ledger) -> None:
        ledger.add_file(a_file(), [])
        with pytest.raises(Conflict):
            ledger.add_file(a_file(), [])

    def test_unknown_ids(self, ledger: Ledger) -> None:
        with pytest.raises(NotFound):
            ledger.get_envoi("nope")
        with pytest.raises(NotFound):
            ledger.get_file("nope")
        assert ledger.file_by_sha("c" * 64) is None

    def test_chained_transition_writes_both_events(self, ledger: Ledger) -> None:
        file = a_file()
        envoi = an_envoi(file)
        ledger.add_file(file, [(envoi, b"x")])
        ledger.transition(envoi.id, S.CHECKED, at=T0, actor="t")
        with pytest.raises(ValueError):
            ledger.transition(envoi.id, S.QUEUED, at=T0, actor="t", then=S.COMPLETE)
        moved = ledger.transition(
            envoi.id, S.QUEUED, at=T0, actor="t", detail="go", then=S.SENDING, attempts=1
        )
        assert moved.state is S.SENDING and moved.attempts == 1
        assert ledger.get_envoi(envoi.id) == moved
        events = ledger.events(envoi.id)
        assert [(e.from_state, e.to_state, e.detail) for e in events[-2:]] == [
            (S.CHECKED, S.QUEUED, "go"),
            (S.QUEUED, S.SENDING, ""),
        ]
        with pytest.raises(StateConflict):  # checked is not reachable from sending
            ledger.transition(envoi.id, S.CHECKED, at=T0, actor="t", then=S.QUEUED)
        assert ledger.get_envoi(envoi.id).state is S.SENDING

    def test_unscheduled_envois(self, ledger: Ledger) -> None:
        file = a_file()
        envoi = an_envoi(file)
        ledger.add_file(file, [(envoi, b"x")])
        later = T0 + timedelta(minutes=1)
        moved = ledger.transition(envoi.id, S.CHECKED, at=T0, actor="t", next_poll_at=later)
        assert ledger.envois(states=[S.CHECKED], unscheduled=True) == []
        cleared = ledger.update(envoi.id, expect_version=moved.version, next_poll_at=None)
        assert ledger.envois(states=[S.CHECKED], unscheduled=True) == [cleared]
        assert ledger.envois(states=[S.QUEUED], unscheduled=True) == []
        assert ledger.envois(states=[S.CHECKED], due_before=later) == []

    def test_transitions_are_compare_and_set(self, ledger: Ledger) -> None:
        file = a_file()
        envoi = an_envoi(file)
        ledger.add_file(file, [(envoi, b"x")])
        moved = ledger.transition(envoi.id, S.CHECKED, at=T0, actor="t", detail="ok")
        assert moved.state is S.CHECKED and moved.version == envoi.version + 1
        with pytest.raises(StateConflict):
            ledger.transition(envoi.id, S.SENDING, at=T0, actor="t")
        later = T0 + timedelta(minutes=1)
        moved = ledger.transition(envoi.id, S.QUEUED, at=later, actor="t", next_poll_at=later)
        assert moved.next_poll_at == later and moved.updated_at == later
        assert ledger.envois(states=[S.QUEUED], due_before=later) == [moved]
        assert ledger.envois(states=[S.QUEUED], due_before=T0) == []
        events = ledger.events(envoi.id)
        assert [(e.from_state, e.to_state) for e in events] == [
            (None, S.RECEIVED),
            (S.RECEIVED, S.CHECKED),
            (S.CHECKED, S.QUEUED),
        ]
        assert events[1].detail == "ok" and events[1].actor == "t"
        updated = ledger.update(envoi.id, expect_version=moved.version, polls=3)
        assert updated.polls == 3 and updated.state is S.QUEUED
        with pytest.raises(StateConflict):
            ledger.update(envoi.id, expect_version=moved.version, polls=4)

    def test_one_claim_wins_among_racers(self, ledger: Ledger) -> None:
        file = a_file()
        envoi = an_envoi(file)
        ledger.add_file(file, [(envoi, b"x")])
        ledger.transition(envoi.id, S.CHECKED, at=T0, actor="t")
        ledger.transition(envoi.id, S.QUEUED, at=T0, actor="t")
        wins: list[int] = []
        errors: list[BaseException] = []

        def claim(n: int) -> None:
            try:
                ledger.transition(envoi.id, S.SENDING, at=T0, actor=f"w{n}", attempts=1)
                wins.append(n)
            except StateConflict:
                pass
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(wins) == 1

    def test_idflux_and_returns_upsert(self, ledger: Ledger) -> None:
        file = a_file()
        envoi = an_envoi(file)
        ledger.add_file(file, [(envoi, b"x")])
        for to in (S.CHECKED, S.QUEUED, S.SENDING):
            ledger.transition(envoi.id, to, at=T0, actor="t")
        ledger.transition(envoi.id, S.DEPOSITED, at=T0, actor="t", idflux="F1", deposited_at=T0)
        assert [e.id for e in ledger.envois(idflux="F1")] == [envoi.id]
        ret = StoredReturn(
            "F1", "11", "", "r1", "OK", T0, "u1", "id-1", envoi.id, b"<x/>", "CCO", True, 0, 0, T0
        )
        assert ledger.upsert_return(ret)
        assert not ledger.upsert_return(ret)
        newer = StoredReturn(
            "F1", "11", "", "r2", "KO", T0, "u2", "id-1", envoi.id, b"<y/>", "BAN", False, 2, 1, T0
        )
        assert ledger.upsert_return(newer)
        assert ledger.returns(idflux="F1") == [newer]
        assert ledger.get_return("F1", "11", "") == newer
        assert ledger.returns(envoi_id=envoi.id) == [newer]
        assert ledger.get_return("F1", "94", "") is None

    def test_rates_replaced_per_crm(self, ledger: Ledger) -> None:
        rate = PasRate(
            "73282932000074",
            "01/2026",
            "1800175123456",
            "123456789012345678",
            "F1",
            T0,
            T0.date(),
            Decimal("7.50"),
            "M1",
            "NOM",
            Decimal("7.00"),
            True,
        )
        ledger.save_rates("F1", "123456789012345678", [rate, _no_rate(rate)])
        ledger.save_rates("F1", "123456789012345678", [rate])
        assert ledger.rates(siret="73282932000074") == [rate]
        assert ledger.rates(month="02/2026") == []
        ledger.save_rates("F2", "1", [_no_rate(rate)])
        assert len(ledger.rates()) == 2

    def test_crm_kept_with_its_rates(self, ledger: Ledger) -> None:
        rate = PasRate(
            "73282932000074",
            "01/2026",
            "1800175123456",
            "C1",
            "F1",
            T0,
            T0.date(),
            Decimal("7.50"),
            "M1",
            "NOM",
            None,
            False,
        )
        crm = StoredReturn(
            "F1", "94", "", "r9", "OK", T0, "u9", "id-1", None, b"<c/>", "CRM94", True, 0, 0, T0
        )
        ledger.save_rates("F1", "C1", [rate, _no_rate(rate)])
        assert ledger.upsert_return(crm, ("C1", [rate]))
        assert ledger.get_return("F1", "94", "") == crm
        assert ledger.rates() == [rate]
        # The same return again still replaces the rates it comes with.
        assert not ledger.upsert_return(crm, ("C1", []))
        assert ledger.rates() == []
        cco = StoredReturn(
            "F1", "11", "", "r1", "OK", T0, "u1", "id-1", None, b"<x/>", "CCO", True, 0, 0, T0
        )
        assert ledger.upsert_returns([(cco, None), (crm, ("C1", [rate]))]) == 1
        assert ledger.returns(idflux="F1") == [cco, crm]
        assert ledger.rates() == [rate]
        assert ledger.upsert_returns([]) == 0

    def test_cursors_alerts_policies(self, ledger: Ledger) -> None:
        assert ledger.get_cursor("id-1") is None
        ledger.set_cursor("id-1", T0)
        ledger.set_cursor("id-1", T0 + timedelta(hours=1))
        assert ledger.get_cursor("id-1") == T0 + timedelta(hours=1)
        assert ledger.claim_alert("k", T0)
        assert not ledger.claim_alert("k", T0)
        assert ledger.policy("73282932000074") == EmployerPolicy("73282932000074")
        ledger.set_policy(EmployerPolicy("73282932000074", 5, True))
        ledger.set_policy(EmployerPolicy("73282932000074", 15, True))
        assert ledger.policy("73282932000074") == EmployerPolicy("73282932000074", 15, True)


def _no_rate(rate: PasRate) -> PasRate:
    from dataclasses import replace

    return replace(rate, nir="2850275123457", rate=None, previous_rate=None, previous_known=False)


LedgerFactory = Callable[[], Ledger]
