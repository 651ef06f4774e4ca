"""Checking a backup folder: it exists, is a folder, is writable, has room.

The most common backup trouble is a folder that was moved, renamed or made read-only, found
out on the day the backup is needed: the folder is checked when the schedule is set and again
before every run, each failure with its own French message.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from dsnlink.errors import BackupTargetError

_REMEDY = "Choisissez un autre dossier avec « dsnlink backup schedule set --to DOSSIER »."


def check_target(folder: Path, *, needed: int = 0) -> None:
    """Raise :class:`BackupTargetError` unless ``folder`` can take a backup of ``needed`` bytes."""
    if not folder.exists():
        raise BackupTargetError(
            f"Le dossier de sauvegarde {folder} n'existe pas (a-t-il été déplacé, renommé, ou "
            "le disque est-il débranché ?).",
            remedy=f"Recréez ce dossier ou rebranchez le disque. {_REMEDY}",
            folder=str(folder),
            problem="missing",
        )
    if not folder.is_dir():
        raise BackupTargetError(
            f"{folder} n'est pas un dossier : la sauvegarde ne peut pas y être écrite.",
            remedy=_REMEDY,
            folder=str(folder),
            problem="not_a_folder",
        )
    probe = folder / f".dsnlink-write-test-{uuid.uuid4().hex}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise BackupTargetError(
            f"dsnlink ne peut pas écrire dans le dossier de sauvegarde {folder}.",
            remedy="Donnez le droit d'écriture sur ce dossier au compte qui fait tourner "
            f"dsnlink. {_REMEDY}",
            folder=str(folder),
            problem="not_writable",
            error=type(exc).__name__,
        ) from exc
    free = shutil.disk_usage(folder).free
    if needed and free < needed:
        raise BackupTargetError(
            f"Il n'y a pas assez de place dans {folder} : {_mb(free)} libres, environ "
            f"{_mb(needed)} nécessaires.",
            remedy="Libérez de la place (ou gardez moins de sauvegardes avec --keep). " + _REMEDY,
            folder=str(folder),
            problem="no_space",
            free_bytes=free,
            needed_bytes=needed,
        )


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} Mo"
