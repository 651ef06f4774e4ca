"""The backups of a folder, and retention: keep the newest N good ones.

A *good* backup is a complete archive (its final name, given only after it was fsynced whole)
whose manifest reads. Hidden ``.partial`` files and staging folders left by a backup killed
half-way are never counted, never listed as backups, and removed once they are clearly
abandoned. Retention never deletes the newest good backup (``keep`` is at least 1) and never
deletes a backup to make room for one that has not been written yet: it runs after a backup
succeeded.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dsnlink.errors import BackupCorrupt, InvalidInput
from dsnlink.maintenance import archive
from dsnlink.maintenance.archive import Manifest
from dsnlink.maintenance.backup import STAGING_PREFIX

_NAME = re.compile(
    re.escape(archive.PREFIX) + r"(\d{8}T\d{12})Z" + re.escape(archive.SUFFIX) + r"\Z"
)
#: A partial file or staging folder untouched for this long belongs to a dead backup.
ABANDONED_AFTER_S = 6 * 3600


@dataclass(frozen=True)
class BackupFile:
    path: Path
    at: datetime
    size: int
    manifest: Manifest | None  # None: the archive does not read (damaged)

    @property
    def good(self) -> bool:
        return self.manifest is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "file": str(self.path),
            "at": self.at.isoformat(),
            "size": self.size,
            "good": self.good,
            "schema_revision": self.manifest.schema_revision if self.manifest else None,
            "program_version": self.manifest.program_version if self.manifest else None,
        }


def list_backups(folder: Path) -> list[BackupFile]:
    """Complete archives of ``folder``, oldest first (partial files are not backups)."""
    if not folder.is_dir():
        return []
    out = []
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if not match or not path.is_file():
            continue
        at = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
        try:
            manifest: Manifest | None = archive.read_manifest(path)
        except BackupCorrupt:
            manifest = None
        out.append(BackupFile(path, at, path.stat().st_size, manifest))
    return sorted(out, key=lambda b: b.at)


def newest_good(folder: Path) -> BackupFile | None:
    good = [b for b in list_backups(folder) if b.good]
    return good[-1] if good else None


def apply_retention(folder: Path, keep: int) -> list[Path]:
    """Delete the good backups beyond the newest ``keep``; the paths deleted."""
    if keep < 1:
        raise InvalidInput("Il faut garder au moins une sauvegarde.", field="keep")
    good = [b for b in list_backups(folder) if b.good]
    deleted = []
    for old in good[: max(0, len(good) - keep)]:
        old.path.unlink(missing_ok=True)
        deleted.append(old.path)
    remove_abandoned(folder)
    return deleted


def remove_abandoned(folder: Path, *, older_than: float = ABANDONED_AFTER_S) -> list[Path]:
    """Partial archives and staging folders of backups that died (untouched for long)."""
    removed = []
    limit = time.time() - older_than
    for path in folder.iterdir():
        name = path.name
        if not (name.endswith(archive.PARTIAL) or name.startswith(STAGING_PREFIX)):
            continue
        try:
            if path.stat().st_mtime > limit:
                continue
        except FileNotFoundError:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed
