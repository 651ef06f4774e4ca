"""The pipeline's rules, end to end on the in-memory fakes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from dsnlink.errors import DuplicateDeclaration, NotFound, PermissionDenied
from dsnlink.jobs.runner import Runner
from dsnlink.pipeline.intake import receive
from dsnlink.pipeline.rates import rates_view, validity_end
from dsnlink.pipeline.states import EnvoiState as S

from .samples import SIRET_A, SIRET_B, SIRET_C, dsn, make_pipeline, two_declarations


def run(pipeline, **kw):  # type: ignore[no-untyped-def]
    return Runner(pipeline, concurrency=4, per_identity=2, **kw).run_until_idle()


def test_deposit_then_returns_then_rates() -> None:
    pipeline, portal, _, clock, alerts = make_pipeline()
    intake = receive(pipeline, dsn(), name="a.dsn", acting_login="dupont")
    (envoi,) = intake.envois
    assert envoi.state is S.QUEUED
    run(pipeline)
    envoi = pipeline.ledger.get_envoi(envoi.id)
    assert envoi.state is S.RETURNS_PENDING and envoi.idflux in portal.deposits
    clock.advance(timedelta(minutes=10))
    run(pipeline)
    assert {r.nature for r in pipeline.ledger.returns(idflux=envoi.idflux)} == {"10", "11"}
    assert pipeline.ledger.get_envoi(envoi.id).state is S.RETURNS_PENDING  # CRM 94 expected
    clock.advance(timedelta(days=4))
    run(pipeline)
    assert pipeline.ledger.get_envoi(envoi.id).state is S.COMPLETE
    view = rates_view(pipeline, siret=SIRET_A)
    by_nir = {r.nir: r for r in view.rates}
    assert by_nir["1800175123456"].rate == Decimal("16.00")  # 456 % 20
    assert by_nir["1800175123456"].name == "NOM0"
    assert by_nir["2850275123457"].rate is None  # default scale
    assert [e.nir for _, e in view.without_rate] == ["2850275123457"]
    published = by_nir["1800175123456"].published_at.date()
    assert by_nir["1800175123456"].valid_until == validity_end(published)
    states = [ev.to_state for ev in pipeline.ledger.events(envoi.id)]
    assert states == [
        S.RECEIVED,
        S.CHECKED,
        S.QUEUED,
        S.SENDING,
        S.DEPOSITED,
        S.RETURNS_PENDING,
        S.COMPLETE,
    ]
    assert alerts.sent == []


def test_same_bytes_twice_is_a_noop() -> None:
    pipeline, portal, *_ = make_pipeline()
    first = receive(pipeline, dsn(), name="a.dsn", acting_login="dupont")
    again = receive(pipeline, dsn(), name="copy.dsn", acting_login="dupont")
    assert again.already_received and again.file.id == first.file.id
    assert "déjà reçu" in again.message
    run(pipeline)
    assert portal.calls["deposit"] == 1


def test_second_real_monthly_refused_unless_replace_or_forced() -> None:
    pipeline, portal, *_ = make_pipeline()
    receive(pipeline, dsn(), name="a.dsn", acting_login="dupont")
    with pytest.raises(DuplicateDeclaration):
        receive(pipeline, dsn(extra="x"), name="b.dsn", acting_login="dupont")
    receive(pipeline, dsn(extra="y", type_="03"), name="c.dsn", acting_login="dupont")
    receive(pipeline, dsn(extra="z"), name="d.dsn", acting_login="dupont", force=True)
    # another fraction, another month, a test file: not duplicates
    receive(pipeline, dsn(fraction="12"), name="e.dsn", acting_login="dupont")
    receive(pipeline, dsn(month="02/2026"), name="f.dsn", acting_login="dupont")
    receive(pipeline, dsn(test=True), name="g.dsn", acting_login="dupont")
    run(pipeline)
    assert portal.calls["deposit"] == 6


def test_rejected_deposit_frees_the_month() -> None:
    pipeline, _, _, _, alerts = make_pipeline()
    (envoi,) = receive(pipeline, dsn(), name="a.dsn", acting_login="dupont").envois
    pipeline.portal.script.append("503")  # type: ignore[attr-defined]
    pipeline.config = pipeline.config.__class__(max_attempts=1)
    run(pipeline)
    assert pipeline.ledger.get_envoi(envoi.id).state is S.ATTENTION_NEEDED
    assert [a.kind for a in alerts.sent] == ["rejected"]


def test_multi_declaration_file_is_split() -> None:
    pipeline, portal, *_ = make_pipeline()
    intake = receive(
        pipeline, two_declarations(SIRET_A, SIRET_C), name="x.dsn", acting_login="dupont"
    )
    assert [e.declaration.declared_siret for e in intake.envois] == [SIRET_A, SIRET_C]
    assert intake.envois[1].identity_id == "id-martin"
    run(pipeline)
    assert portal.calls["deposit"] == 2
    for dep in portal.deposits.values():
        assert dep.data.count(b"S20.G00.05.001") == 1


def test_rights_and_unknown_siret_refused_before_recording() -> None:
    pipeline, *_ = make_pipeline()
    with pytest.raises(PermissionDenied):
        receive(pipeline, dsn(), name="a.dsn", acting_login="stagiaire")
    with pytest.raises(NotFound):
        receive(pipeline, dsn("11111111111111"), name="a.dsn", acting_login="dupont")
    assert pipeline.ledger.envois() == []
    receive(pipeline, dsn(), name="a.dsn", acting_login="dupont")  # same bytes: now accepted


def test_blocking_findings_recorded_never_sent() -> None:
    pipeline, portal, *_ = make_pipeline()
    intake = receive(pipeline, dsn(extra="BLOQUANT"), name="bad.dsn", acting_login="dupont")
    assert intake.file.blocking and intake.envois == ()
    unreadable = receive(pipeline, b"\x00garbage", name="bin.dsn", acting_login="dupont")
    assert unreadable.file.blocking and unreadable.file.findings[0].code == "norme.read"
    run(pipeline)
    assert portal.calls["deposit"] == 0


def test_fate_unknown_that_arrived_is_adopted_not_resent() -> None:
    pipeline, portal, *_ = make_pipeline()
    (envoi,) = receive(pipeline, dsn(), name="a.dsn", acting_login="dupont").envois
    portal.script.append("arrived")
    run(pipeline)
    envoi = pipeline.ledger.get_envoi(envoi.id)
    assert envoi.state is S.RETURNS_PENDING
    assert portal.calls["deposit"] == 1 and envoi.idflux in portal.deposits
    assert S.FATE_UNKNOWN in [e.to_state for e in pipeline.ledger.events(envoi.id)]


def test_fate_unknown_that_never_arrived_is_sent_again() -> None:
    pipeline, portal, *_ = make_pipeline()
    (envoi,) = receive(pipeline, dsn(), name="a.dsn", acting_login="dupont").envois
    portal.script.append("lost")
    run(pipeline)
    envoi = pipeline.ledger.get_envoi(envoi.id)
    assert envoi.state is S.RETURNS_PENDING and len(portal.deposits) == 1
    assert envoi.attempts == 2


def test_several_unknowns_of_one_identity_told_apart_by_certificate() -> None:
    pipeline, portal, _, clock, _ = make_pipeline()
    a = receive(pipeline, dsn(SIRET_A), name="a.dsn", acting_login="dupont").envois[0]
    b = receive(pipeline, dsn(SIRET_B), name="b.dsn", acting_login="dupont").envois[0]
    portal.script.extend(["arrived", "arrived"])
    run(pipeline)
    # the certificates are not published yet: nobody can tell, nothing is re-sent
    assert {pipeline.ledger.get_envoi(x.id).state for x in (a, b)} == {S.FATE_UNKNOWN}
    for _ in range(3):
        clock.advance(timedelta(minutes=10))
        run(pipeline)
    got = {x.id: pipeline.ledger.get_envoi(x.id) for x in (a, b)}
    assert {e.state for e in got.values()} == {S.RETURNS_PENDING}
    assert len(portal.deposits) == 2
    for x, siret in ((a, SIRET_A), (b, SIRET_B)):
        assert (
            portal.checker.check(portal.deposits[got[x.id].idflux].data)
            .declarations[0]
            .declared_siret
            == siret
        )


def test_wrong_password_one_attempt_jobs_held_others_unaffected_alert_once() -> None:
    pipeline, portal, identities, _, alerts = make_pipeline()
    portal.wrong_passwords.add("id-dupont")
    a = receive(pipeline, dsn(SIRET_A), name="a.dsn", acting_login="dupont").envois[0]
    b = receive(pipeline, dsn(SIRET_B), name="b.dsn", acting_login="dupont").envois[0]
    c = receive(pipeline, dsn(SIRET_C), name="c.dsn", acting_login="martin").envois[0]
    for _ in range(3):
        run(pipeline)
    assert portal.auth_attempts["id-dupont"] == 1
    assert {pipeline.ledger.get_envoi(x.id).state for x in (a, b)} == {S.HELD}
    assert pipeline.ledger.get_envoi(c.id).state is S.RETURNS_PENDING
    assert [(x.kind, x.recipients) for x in alerts.sent] == [
        ("credential_failure", ("dupont@example.org",))
    ]
    # the person fixes the identity: the held envois go
    portal.wrong_passwords.clear()
    identities.fix("id-dupont")
    run(pipeline)
    assert {pipeline.ledger.get_envoi(x.id).state for x in (a, b)} == {S.RETURNS_PENDING}
    assert portal.auth_attempts["id-dupont"] == 2


def test_test_first_real_waits_for_clean_certificate() -> None:
    pipeline, portal, _, clock, _ = make_pipeline()
    intake = receive(pipeline, dsn(), name="a.dsn", acting_login="dupont", test_first=True)
    test, real = sorted(intake.envois, key=lambda e: e.role != "test")
    assert (test.role, test.state, real.role, real.state) == ("test", S.QUEUED, "real", S.CHECKED)
    run(pipeline)
    assert portal.calls["deposit"] == 1
    sent = next(iter(portal.deposits.values())).data
    assert b"S10.G00.00.005,'01'" in sent
    clock.advance(timedelta(minutes=5))
    run(pipeline)
    assert portal.calls["deposit"] == 2
    assert pipeline.ledger.get_envoi(test.id).state is S.COMPLETE
    assert pipeline.ledger.get_envoi(real.id).state is S.RETURNS_PENDING


def test_returns_missing_past_limit_alerts() -> None:
    from dsnlink.pipeline.context import PipelineConfig

    pipeline, _portal, _, clock, alerts = make_pipeline(config=PipelineConfig(max_polls=3))
    (envoi,) = receive(pipeline, dsn(), name="a.dsn", acting_login="dupont").envois
    for _ in range(4):
        run(pipeline)
        clock.advance(timedelta(hours=1))
    assert pipeline.ledger.get_envoi(envoi.id).state is S.ATTENTION_NEEDED
    assert [a.kind for a in alerts.sent] == ["crm_missing"]


def test_sync_collects_returns_of_deposits_made_elsewhere() -> None:
    from dsnlink.pipeline.collecting import sync_identity

    pipeline, portal, identities, clock, _ = make_pipeline()
    identity = identities.get("id-dupont")
    portal.deposit(identity, dsn())  # made by another tool
    clock.advance(timedelta(days=1))
    assert sync_identity(pipeline, "id-dupont", "dupont") == 2  # AEE, CCO
    assert sync_identity(pipeline, "id-dupont", "dupont") == 0  # the cursor moved
    clock.advance(timedelta(days=3))
    assert sync_identity(pipeline, "id-dupont", "dupont") == 1  # the CRM 94
    assert {r.kind for r in pipeline.ledger.returns()} == {"AEE", "CCO", "CRM94"}
