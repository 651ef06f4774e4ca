"""The backup archive: one tar.gz whose first member is ``manifest.json``.

The manifest names every other member with its size and SHA-256, the program version, the
schema revision, the row count of every table and the number of return files. An archive is
written under a hidden ``.partial`` name, fsynced, then renamed into place (and the folder
fsynced): a crash leaves either no archive or a complete one, and a partial file never looks
like a backup. Reading streams the archive once, checking each member against the manifest, so
a truncated or altered archive is refused before anything uses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tarfile
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from dsnlink.errors import BackupCorrupt

MANIFEST = "manifest.json"
FORMAT = "dsnlink-backup"
VERSION = 1
PREFIX = "dsnlink-backup-"
SUFFIX = ".tar.gz"
PARTIAL = ".partial"
#: gzip level: 5 costs little more time than 1 and gives most of 9's size on SQLite pages.
COMPRESSLEVEL = 5
_CHUNK = 1 << 20

#: Called after each member is written (tests use it to kill a backup half-way).
on_member_written: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Member:
    size: int
    sha256: str


@dataclass
class Manifest:
    program_version: str
    schema_revision: str | None
    created_at: str
    database: str  # "sqlite" or "postgresql"
    source: str  # the database, described without password
    tables: dict[str, int]
    returns: int
    members: dict[str, Member] = field(default_factory=dict)
    format: str = FORMAT
    version: int = VERSION

    def to_bytes(self) -> bytes:
        data = asdict(self)
        return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise ValueError("format")
            if int(data.get("version", 0)) > VERSION:
                raise BackupCorrupt(
                    "Cette sauvegarde a été faite par une version plus récente de dsnlink.",
                    remedy="Mettez dsnlink à jour sur ce poste pour la lire.",
                    version=data.get("version"),
                )
            members = {
                str(k): Member(int(v["size"]), str(v["sha256"])) for k, v in data["members"].items()
            }
            return cls(
                program_version=str(data["program_version"]),
                schema_revision=data["schema_revision"],
                created_at=str(data["created_at"]),
                database=str(data["database"]),
                source=str(data["source"]),
                tables={str(k): int(v) for k, v in data["tables"].items()},
                returns=int(data["returns"]),
                members=members,
            )
        except BackupCorrupt:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackupCorrupt(
                "Le manifeste de cette sauvegarde est illisible : ce n'est pas une sauvegarde "
                "dsnlink, ou elle est endommagée."
            ) from exc


def hash_file(path: Path) -> Member:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return Member(size, digest.hexdigest())


def staged_members(staging: Path) -> dict[str, Member]:
    """Every file under ``staging``, by archive name (POSIX, relative)."""
    out: dict[str, Member] = {}
    for path in sorted(staging.rglob("*")):
        if path.is_file():
            out[path.relative_to(staging).as_posix()] = hash_file(path)
    return out


def partial_name(dest: Path) -> Path:
    return dest.with_name("." + dest.name + PARTIAL)


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_archive(staging: Path, manifest: Manifest, dest: Path) -> Member:
    """Write ``staging``'s files and ``manifest`` to ``dest`` atomically; the archive's digest."""
    partial = partial_name(dest)
    try:
        # 0600: the archive holds personal data and sealed secrets.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(
                fileobj=raw, mode="w:gz", compresslevel=COMPRESSLEVEL, format=tarfile.PAX_FORMAT
            ) as tar:
                head = manifest.to_bytes()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(head)
                info.mode = 0o600
                info.mtime = int(time.time())
                tar.addfile(info, io.BytesIO(head))
                for name in manifest.members:
                    path = staging / name
                    info = tar.gettarinfo(str(path), arcname=name)
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    info.mode = 0o600
                    with path.open("rb") as handle:
                        tar.addfile(info, handle)
                    if on_member_written is not None:
                        on_member_written(name)
            raw.flush()
            os.fsync(raw.fileno())
        # Read back once (from the page cache): the digest of what is actually on disk.
        written = hash_file(partial)
        partial.replace(dest)
        fsync_dir(dest.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


def read_manifest(archive: Path) -> Manifest:
    """Only the manifest (first member): cheap, used by listings and retention."""
    try:
        with tarfile.open(archive, mode="r|gz") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BackupCorrupt("Cette archive ne commence pas par un manifeste dsnlink.")
            handle = tar.extractfile(first)
            assert handle is not None
            return Manifest.from_bytes(handle.read())
    except BackupCorrupt:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise _unreadable(archive, exc) from exc


def extract_verified(archive: Path, into: Path) -> Manifest:
    """Extract every member into ``into``, checking each against the manifest."""
    try:
        return _extract(archive, into)
    except BackupCorrupt:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise _unreadable(archive, exc) from exc


def _extract(archive: Path, into: Path) -> Manifest:
    seen: set[str] = set()
    with tarfile.open(archive, mode="r|gz") as tar:
        first = tar.next()
        if first is None or first.name != MANIFEST or not first.isfile():
            raise BackupCorrupt("Cette archive ne commence pas par un manifeste dsnlink.")
        handle = tar.extractfile(first)
        assert handle is not None
        manifest = Manifest.from_bytes(handle.read())
        # Not ``for info in tar``: that would start again from the first member.
        while (info := tar.next()) is not None:
            name = info.name
            expected = manifest.members.get(name)
            # The announced size is checked before extracting: a doctored archive cannot fill
            # the disk with a member bigger than the manifest says.
            if (
                expected is None
                or not info.isfile()
                or name in seen
                or not _safe(name)
                or info.size != expected.size
            ):
                raise BackupCorrupt(
                    "L'archive contient un élément que son manifeste ne prévoit pas.",
                    member=name,
                )
            seen.add(name)
            source = tar.extractfile(info)
            assert source is not None
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            digest, size = hashlib.sha256(), 0
            with target.open("wb") as out:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if size != expected.size or digest.hexdigest() != expected.sha256:
                raise BackupCorrupt(
                    "Un élément de l'archive ne correspond pas à son empreinte : la sauvegarde "
                    "a été modifiée ou endommagée.",
                    member=name,
                )
    missing = sorted(set(manifest.members) - seen)
    if missing:
        raise BackupCorrupt(
            "Il manque des éléments à cette archive : elle est incomplète.", missing=missing[:20]
        )
    return manifest


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and name != MANIFEST


def _unreadable(archive: Path, exc: BaseException) -> BackupCorrupt:
    return BackupCorrupt(
        "Cette sauvegarde est tronquée ou endommagée : l'archive ne se lit pas jusqu'au bout.",
        archive=str(archive),
        error=type(exc).__name__,
    )
