"""The archive format: manifest first, every member checked, atomic write."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from dsnlink.errors import BackupCorrupt
from dsnlink.maintenance import archive
from dsnlink.maintenance.archive import Manifest


def _manifest(staging: Path) -> Manifest:
    return Manifest(
        program_version="1.0",
        schema_revision="0101_x",
        created_at="2026-01-01T00:00:00+00:00",
        database="sqlite",
        source="sqlite:///x",
        tables={"t": 1},
        returns=0,
        members=archive.staged_members(staging),
    )


def _staging(tmp_path: Path) -> Path:
    staging = tmp_path / "staging"
    (staging / "database").mkdir(parents=True)
    (staging / "database" / "db").write_bytes(b"x" * 100_000)
    (staging / "returns.sha256").write_text("")
    return staging


def test_round_trip_and_atomic_write(tmp_path: Path) -> None:
    staging = _staging(tmp_path)
    dest = tmp_path / "out" / "a.tar.gz"
    dest.parent.mkdir()
    written = archive.write_archive(staging, _manifest(staging), dest)
    assert written == archive.hash_file(dest)
    assert dest.stat().st_mode & 0o777 == 0o600
    assert not archive.partial_name(dest).exists()
    assert archive.read_manifest(dest).tables == {"t": 1}
    into = tmp_path / "into"
    got = archive.extract_verified(dest, into)
    assert (into / "database" / "db").read_bytes() == b"x" * 100_000
    assert set(got.members) == {"database/db", "returns.sha256"}


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path) -> None:
    staging = _staging(tmp_path)
    dest = tmp_path / "a.tar.gz"

    def boom(name: str) -> None:
        raise OSError("disk full")

    archive.on_member_written = boom
    try:
        with pytest.raises(OSError):
            archive.write_archive(staging, _manifest(staging), dest)
    finally:
        archive.on_member_written = None
    assert list(tmp_path.iterdir()) == [staging]


def _tar(dest: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(dest, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dest


def test_unexpected_missing_or_unsafe_members_are_refused(tmp_path: Path) -> None:
    staging = _staging(tmp_path)
    manifest = _manifest(staging)
    head = manifest.to_bytes()
    db = (staging / "database" / "db").read_bytes()
    cases = {
        "extra": {"manifest.json": head, "database/db": db, "returns.sha256": b"", "x": b"1"},
        "missing": {"manifest.json": head, "database/db": db},
        "not first": {"database/db": db, "manifest.json": head, "returns.sha256": b""},
        "unsafe": {"manifest.json": head, "../database/db": db, "returns.sha256": b""},
        "foreign": {"manifest.json": b'{"format": "autre"}'},
        "not json": {"manifest.json": b"\xff"},
    }
    for label, members in cases.items():
        path = _tar(tmp_path / f"{label}.tar.gz", members)
        with pytest.raises(BackupCorrupt):
            archive.extract_verified(path, tmp_path / f"into-{label}")
    newer = manifest.to_bytes().replace(b'"version": 1', b'"version": 99')
    path = _tar(tmp_path / "newer.tar.gz", {"manifest.json": newer})
    with pytest.raises(BackupCorrupt) as caught:
        archive.read_manifest(path)
    assert "plus récente" in caught.value.message
