"""The watched folder: partial writes, the same file twice, a restart mid-processing."""

from __future__ import annotations

import json
import os
from pathlib import Path

from dsnlink.jobs.runner import Runner
from dsnlink.pipeline.watch import DONE, PROCESSING, REFUSED, Watcher

from .samples import SIRET_B, dsn, make_pipeline


def _watcher(tmp_path: Path):  # type: ignore[no-untyped-def]
    pipeline, portal, *_ = make_pipeline()
    return Watcher(pipeline, tmp_path, acting_login="dupont"), pipeline, portal


def test_file_still_being_written_is_not_taken(tmp_path: Path) -> None:
    watcher, pipeline, _ = _watcher(tmp_path)
    data = dsn()
    target = tmp_path / "paie.dsn"
    target.write_bytes(data[:40])
    assert watcher.scan_once() == []  # first sight
    with target.open("ab") as handle:
        handle.write(data[40:])
    os.utime(target, ns=(1, 1))
    assert watcher.scan_once() == []  # changed since: still waiting
    (picked,) = watcher.scan_once()
    assert picked.ok and picked.destination == tmp_path / DONE / "paie.dsn"
    assert (tmp_path / DONE / "paie.dsn").read_bytes() == data
    assert len(pipeline.ledger.envois()) == 1


def test_temporary_names_are_ignored_until_renamed(tmp_path: Path) -> None:
    watcher, _, _ = _watcher(tmp_path)
    (tmp_path / "paie.dsn.tmp").write_bytes(dsn())
    (tmp_path / ".cache").write_bytes(b"x")
    assert watcher.scan_once() == [] and watcher.scan_once() == []
    os.rename(tmp_path / "paie.dsn.tmp", tmp_path / "paie.dsn")
    assert watcher.scan_once() == []  # new name: seen once
    assert [p.name for p in watcher.scan_once()] == ["paie.dsn"]
    assert (tmp_path / DONE / "paie.dsn").exists()
    assert (tmp_path / ".cache").exists()


def test_same_file_twice_is_deposited_once(tmp_path: Path) -> None:
    watcher, pipeline, portal = _watcher(tmp_path)
    for name in ("a.dsn", "b.dsn"):
        (tmp_path / name).write_bytes(dsn())
    watcher.scan_once()
    picked = watcher.scan_once()
    assert sorted(p.name for p in picked) == ["a.dsn", "b.dsn"]
    Runner(pipeline).run_until_idle()
    assert portal.calls["deposit"] == 1
    texts = [(tmp_path / DONE / f"{n}.txt").read_text(encoding="utf-8") for n in ("a.dsn", "b.dsn")]
    assert sum("déjà reçu" in t for t in texts) == 1
    # the same name dropped again later does not overwrite the first one's results
    (tmp_path / "a.dsn").write_bytes(dsn())
    watcher.scan_once()
    watcher.scan_once()
    assert (tmp_path / DONE / "a.1.dsn").exists() and portal.calls["deposit"] == 1


def test_restart_mid_processing_takes_the_file_again_once(tmp_path: Path) -> None:
    _, pipeline, portal = _watcher(tmp_path)
    # a crash right after the atomic rename, before the ledger: the file waits in .en-cours
    (tmp_path / PROCESSING / "a.dsn").write_bytes(dsn())
    # a crash after the ledger, before the final move: recorded already
    (tmp_path / PROCESSING / "b.dsn").write_bytes(dsn(SIRET_B))
    from dsnlink.pipeline.intake import receive

    receive(pipeline, dsn(SIRET_B), name="b.dsn", acting_login="dupont")
    restarted = Watcher(pipeline, tmp_path, acting_login="dupont")
    picked = restarted.scan_once()
    assert sorted(p.name for p in picked) == ["a.dsn", "b.dsn"]
    assert list((tmp_path / PROCESSING).iterdir()) == []
    Runner(pipeline).run_until_idle()
    assert portal.calls["deposit"] == 2


def test_refused_file_gets_readable_results(tmp_path: Path) -> None:
    watcher, _, _ = _watcher(tmp_path)
    (tmp_path / "bad.dsn").write_bytes(dsn(extra="BLOQUANT"))
    (tmp_path / "other.dsn").write_bytes(dsn("11111111111111"))
    watcher.scan_once()
    watcher.scan_once()
    result = json.loads((tmp_path / REFUSED / "bad.dsn.json").read_text(encoding="utf-8"))
    assert result["bloquant"] and result["anomalies"][0]["ligne"]
    text = (tmp_path / REFUSED / "other.dsn.txt").read_text(encoding="utf-8")
    assert "Que faire" in text


def test_results_follow_the_deposit(tmp_path: Path) -> None:
    watcher, pipeline, _ = _watcher(tmp_path)
    (tmp_path / "a.dsn").write_bytes(dsn())
    watcher.scan_once()
    watcher.scan_once()
    Runner(pipeline).run_until_idle()
    watcher.scan_once()
    result = json.loads((tmp_path / DONE / "a.dsn.json").read_text(encoding="utf-8"))
    assert result["envois"][0]["etat"] == "returns_pending" and result["envois"][0]["idflux"]
    assert "retours attendus" in (tmp_path / DONE / "a.dsn.txt").read_text(encoding="utf-8")
