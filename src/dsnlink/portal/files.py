"""Writing a downloaded return file safely: a temp file beside it, then an atomic rename.

A download cut in the middle leaves no partial file under the final name, and an earlier copy
stays intact until the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True, slots=True)
class DownloadedFile:
    path: Path
    size: int
    content_type: str | None


class FileSink:
    """``write`` chunks, then ``commit`` (fsync + rename) or ``abort`` (delete the temp)."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.temp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.part")
        self._fh: BinaryIO | None = open(self.temp, "xb")  # noqa: SIM115 (closed in commit/abort)
        self.size = 0

    def write(self, chunk: bytes) -> None:
        assert self._fh is not None
        self._fh.write(chunk)
        self.size += len(chunk)

    def commit(self, content_type: str | None) -> DownloadedFile:
        assert self._fh is not None
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        self.temp.replace(self.dest)
        with contextlib.suppress(OSError):  # not every platform can fsync a directory
            fd = os.open(self.dest.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return DownloadedFile(self.dest, self.size, content_type)

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self.temp.unlink(missing_ok=True)
