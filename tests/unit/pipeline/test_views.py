from __future__ import annotations

from dsnlink.jobs.runner import Runner
from dsnlink.pipeline.intake import receive
from dsnlink.pipeline.views import envoi_detail, status

from .samples import dsn, make_pipeline


def test_status_and_detail() -> None:
    pipeline, *_ = make_pipeline()
    (envoi,) = receive(pipeline, dsn(), name="paie.dsn", acting_login="dupont").envois
    Runner(pipeline).run_until_idle()
    view = status(pipeline.ledger)
    assert view["counts"] == {"returns_pending": 1}
    (row,) = view["envois"]
    assert row["file"] == "paie.dsn" and row["state_label"] == "retours attendus"
    detail = envoi_detail(pipeline.ledger, envoi.id)
    assert [e["to"] for e in detail["events"]][-1] == "returns_pending"
    assert [r["kind"] for r in detail["returns"]] == ["AEE"]
