"""The block-stack states and remembered transitions are shared by the validators of a process:
a report never depends on the files checked before, alongside or in other threads."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from dsnlink.norme import generate_monthly_dsn, speedups, structure
from dsnlink.norme.source import SourceInfo, iter_batches, iter_segments
from dsnlink.norme.structure import Structure, forget_shared_tables
from dsnlink.norme.validator import Validator, run

FAULTY = generate_monthly_dsn(
    4, seed=7, fault=["block-order", "orphan-block", "missing-mandatory", "two-declarations"]
)
CLEAN = generate_monthly_dsn(4, seed=8)
#: another norme version and nature (with findings of its own: the generator writes monthly
#: rubriques): the validator takes another model's table mid-file
OTHER = generate_monthly_dsn(3, seed=9, norme="P26V01", nature="04")
FILES = (FAULTY, CLEAN, OTHER)

PATHS = [
    pytest.param(False, id="python"),
    pytest.param(
        True,
        id="compiled",
        marks=pytest.mark.skipif(not speedups.available(), reason="the C extension is not built"),
    ),
]


def _fresh(data: bytes, compiled: bool) -> dict[str, Any]:
    forget_shared_tables()
    return run(data, compiled=compiled).to_dict()  # type: ignore[no-any-return]


@pytest.fixture
def fresh() -> Iterator[dict[tuple[bytes, bool], dict[str, Any]]]:
    reports = {(data, c): _fresh(data, c) for data in FILES for c in (False, True) if c is False}
    if speedups.available():
        reports.update({(data, True): _fresh(data, True) for data in FILES})
    forget_shared_tables()
    yield reports
    forget_shared_tables()


def test_the_files_differ_in_structure() -> None:
    codes = {f["code"] for f in _fresh(FAULTY, False)["findings"]}
    assert {"block.order", "block.parent_missing", "rubrique.missing"} <= codes
    assert _fresh(CLEAN, False)["findings"] == []


@pytest.mark.parametrize("compiled", PATHS)
def test_one_after_the_other(compiled: bool, fresh: dict[tuple[bytes, bool], Any]) -> None:
    for data in (FAULTY, CLEAN, OTHER, CLEAN, FAULTY, OTHER, FAULTY, CLEAN):
        assert run(data, compiled=compiled).to_dict() == fresh[data, compiled]


def _chunks(validator: Validator, data: bytes, compiled: bool, info: SourceInfo) -> Iterator[None]:
    if compiled:
        for segment in iter_segments(io.BytesIO(data), info, chunk_size=333):
            validator.feed_segment(segment)
            yield
    else:
        for lines in iter_batches(io.BytesIO(data), info, chunk_size=333):
            validator.feed(lines)
            yield


@pytest.mark.parametrize("compiled", PATHS)
def test_interleaved(compiled: bool, fresh: dict[tuple[bytes, bool], Any]) -> None:
    for order in ((FAULTY, CLEAN, OTHER), (CLEAN, OTHER, FAULTY)):
        running = []
        for data in order:
            validator, info = Validator(), SourceInfo(name="<octets>")
            running.append((data, validator, info, _chunks(validator, data, compiled, info)))
        pending = list(running)
        while pending:  # one chunk of each file in turn
            pending = [r for r in pending if next(r[3], StopIteration) is not StopIteration]
        for data, validator, info, _steps in running:
            assert validator.finish(info).to_dict() == fresh[data, compiled]


@pytest.mark.parametrize("compiled", PATHS)
def test_second_file_of_a_shape_learns_no_transition(
    compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    forget_shared_tables()
    calls: list[str] = []
    transition = Structure._transition

    def counted(self: Structure, block: str, *args: Any) -> Any:
        calls.append(block)
        return transition(self, block, *args)

    monkeypatch.setattr(Structure, "_transition", counted)
    run(generate_monthly_dsn(3, seed=1), compiled=compiled)
    assert calls
    calls.clear()
    assert run(generate_monthly_dsn(3, seed=2), compiled=compiled).findings == []
    assert calls == []


@pytest.mark.parametrize("compiled", PATHS)
def test_full_table_is_left_to_the_validators_holding_it(
    compiled: bool, fresh: dict[tuple[bytes, bool], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(structure, "MEMO_MAX", 4)
    first = Validator()
    info = SourceInfo(name="<octets>")
    steps = _chunks(first, FAULTY, compiled, info)
    next(steps)
    held = first.structure.table
    numbering = list(held.states)
    assert run(CLEAN, compiled=compiled).to_dict() == fresh[CLEAN, compiled]
    assert structure.shared_table(*first.structure.key) is not held
    assert held.states[: len(numbering)] == numbering
    assert len(held.states) <= structure.MEMO_MAX + 1
    for _ in steps:
        pass
    assert first.finish(info).to_dict() == fresh[FAULTY, compiled]
    assert run(FAULTY, compiled=compiled).to_dict() == fresh[FAULTY, compiled]


@pytest.mark.parametrize("compiled", PATHS)
def test_threads(compiled: bool, fresh: dict[tuple[bytes, bool], Any]) -> None:
    results: list[tuple[bytes, dict[str, Any]]] = []
    lock = threading.Lock()

    def check(offset: int) -> None:
        for index in range(12):
            data = FILES[(index + offset) % len(FILES)]
            report = run(data, compiled=compiled).to_dict()
            with lock:
                results.append((data, report))

    threads = [threading.Thread(target=check, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 48
    for data, report in results:
        assert report == fresh[data, compiled]
