"""Uploaded DSN files: size-limited while they are read, checked before anything is kept, then
staged until the person confirms the deposit on the check report.

The staging area is a private folder of the data folder (0700); a staged file is named by a
random token, is readable back only by the user who uploaded it, and is removed when it is
deposited or after :data:`STAGE_TTL`. Nothing reaches the ledger before the confirmation.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile

from dsnlink.errors import InvalidInput, NotFound, UploadTooLarge

#: The largest DSN file accepted through the web (a DSN of several thousand employees is a few
#: megabytes; the platform's own limit is far above what a payroll of this size produces).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: The request bodies of the upload routes are cut past this size as they arrive, before the
#: multipart parser writes anything to a temporary file (the form's fields add a little).
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 64 * 1024
STAGE_TTL = 3600.0
_CHUNK = 1024 * 1024
_TOKEN = 32  # hex characters


@dataclass(frozen=True)
class Staged:
    token: str
    name: str
    login: str
    sha256: str
    size: int


async def read_limited(upload: UploadFile, limit: int | None = None) -> bytes:
    """The file's bytes, refused as soon as they pass ``limit`` (never read whole first)."""
    limit = MAX_UPLOAD_BYTES if limit is None else limit
    parts: list[bytes] = []
    size = 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise UploadTooLarge(
                f"Fichier trop volumineux (plus de {limit // (1024 * 1024)} Mo).",
                remedy="Déposez un fichier DSN, ou découpez-le avec « dsnlink split ».",
                limit=limit,
            )
        parts.append(chunk)
    data = b"".join(parts)
    if not data.strip():
        raise InvalidInput("Le fichier envoyé est vide.", remedy="Choisissez un fichier DSN.")
    return data


def file_name(upload: UploadFile) -> str:
    """The browser's file name without any folder, printable, at most 200 characters."""
    raw = (upload.filename or "fichier.dsn").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in raw if ch.isprintable()).strip()
    return cleaned[:200] or "fichier.dsn"


def _folder(data_dir: Path) -> Path:
    folder = data_dir / "web-uploads"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def stage(data_dir: Path, data: bytes, *, name: str, login: str) -> Staged:
    folder = _folder(data_dir)
    _sweep(folder)
    token = secrets.token_hex(_TOKEN // 2)
    staged = Staged(token, name, login, hashlib.sha256(data).hexdigest(), len(data))
    path = folder / f"{token}.dsn"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    meta = {"name": name, "login": login, "sha256": staged.sha256, "size": staged.size}
    (folder / f"{token}.json").write_text(json.dumps(meta), encoding="utf-8")
    return staged


def take(data_dir: Path, token: str, *, login: str) -> tuple[Staged, bytes]:
    """The staged file of ``token`` if it is ``login``'s; it stays until :func:`drop`."""
    if len(token) != _TOKEN or any(c not in "0123456789abcdef" for c in token):
        raise InvalidInput("Référence de fichier invalide.")
    folder = _folder(data_dir)
    meta_path, data_path = folder / f"{token}.json", folder / f"{token}.dsn"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        data = data_path.read_bytes()
    except (OSError, ValueError):
        meta, data = None, b""
    if not meta or meta.get("login") != login or hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise NotFound(
            "Ce fichier contrôlé n'est plus disponible.",
            remedy="Envoyez le fichier à nouveau : il sera contrôlé puis déposé.",
        )
    return Staged(token, meta["name"], login, meta["sha256"], meta["size"]), data


def drop(data_dir: Path, token: str) -> None:
    folder = _folder(data_dir)
    for suffix in (".dsn", ".json"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)


def _sweep(folder: Path) -> None:
    limit = time.time() - STAGE_TTL
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
        except OSError:
            continue
