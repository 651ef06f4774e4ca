"""Uploads of the Centre de maintenance: size limit while reading, names, the staging area."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from fastapi import UploadFile

from dsnlink.errors import InvalidInput, NotFound, UploadTooLarge
from dsnlink.web.routes import _uploads as uploads

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class CountingFile(io.BytesIO):
    """Counts what was read: a refused upload must not be read to its end."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk


async def test_refused_past_the_limit_without_reading_everything() -> None:
    raw = CountingFile(b"x" * (10 * 1024 * 1024))
    with pytest.raises(UploadTooLarge) as caught:
        await uploads.read_limited(UploadFile(raw, filename="gros.dsn"), limit=2 * 1024 * 1024)
    assert raw.read_bytes <= 3 * 1024 * 1024
    assert "trop volumineux" in caught.value.message


async def test_an_empty_file_is_refused_and_a_small_one_read_whole() -> None:
    with pytest.raises(InvalidInput):
        await uploads.read_limited(UploadFile(io.BytesIO(b"  \n"), filename="vide.dsn"))
    data = b"S10.G00.00.001,'x'\n" * 1000
    assert await uploads.read_limited(UploadFile(io.BytesIO(data), filename="a.dsn")) == data


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("C:\\paie\\octobre.dsn", "octobre.dsn"),
        ("../../etc/passwd", "passwd"),
        ("a\x00b\u202e.dsn", "ab.dsn"),
        ("", "fichier.dsn"),
        (None, "fichier.dsn"),
        ("x" * 300, "x" * 200),
    ],
)
def test_file_names_lose_folders_and_invisible_characters(given: str | None, kept: str) -> None:
    assert uploads.file_name(UploadFile(io.BytesIO(b""), filename=given)) == kept


def test_staged_files_are_private_owned_and_dropped(tmp_path: Path) -> None:
    staged = uploads.stage(tmp_path, b"DSN", name="a.dsn", login="dupont")
    folder = tmp_path / "web-uploads"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / f"{staged.token}.dsn").stat().st_mode & 0o777 == 0o600
    again, data = uploads.take(tmp_path, staged.token, login="dupont")
    assert data == b"DSN" and again.name == "a.dsn"
    with pytest.raises(NotFound):
        uploads.take(tmp_path, staged.token, login="martin")
    with pytest.raises(InvalidInput):
        uploads.take(tmp_path, "../" + staged.token[3:], login="dupont")
    uploads.drop(tmp_path, staged.token)
    with pytest.raises(NotFound):
        uploads.take(tmp_path, staged.token, login="dupont")


def test_a_tampered_staged_file_is_refused(tmp_path: Path) -> None:
    staged = uploads.stage(tmp_path, b"DSN", name="a.dsn", login="dupont")
    (tmp_path / "web-uploads" / f"{staged.token}.dsn").write_bytes(b"AUTRE")
    with pytest.raises(NotFound):
        uploads.take(tmp_path, staged.token, login="dupont")


def test_old_staged_files_are_swept(tmp_path: Path) -> None:
    old = uploads.stage(tmp_path, b"DSN", name="a.dsn", login="dupont")
    past = time.time() - uploads.STAGE_TTL - 60
    for suffix in (".dsn", ".json"):
        os.utime(tmp_path / "web-uploads" / f"{old.token}{suffix}", (past, past))
    uploads.stage(tmp_path, b"DSN2", name="b.dsn", login="dupont")
    with pytest.raises(NotFound):
        uploads.take(tmp_path, old.token, login="dupont")
