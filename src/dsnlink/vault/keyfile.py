"""The key file provider: a 0600 file in the data folder (servers, réseau workstations).

Writes are atomic (temporary file in the same folder, fsync, rename, fsync of the folder), so
a crash leaves either the old file or the new one, never half of one. A file readable or
writable by the group or by others is refused rather than used: whoever can read it can
decrypt every Net-entreprises password of a copy of the database.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from dsnlink.errors import MasterKeyError

_PRIVATE_FILE = 0o600
_PRIVATE_DIR = 0o700


def _posix() -> bool:
    return os.name == "posix"


def check_private(path: Path) -> None:
    """Refuse a key file that someone other than its owner may read or change."""
    try:
        info = path.stat()
    except OSError as exc:
        raise MasterKeyError(
            f"Le fichier de clé maîtresse {path} est illisible.",
            remedy="Vérifiez qu'il existe et que vous avez le droit de le lire.",
            path=str(path),
        ) from exc
    if not stat.S_ISREG(info.st_mode):
        raise MasterKeyError(
            f"{path} n'est pas un fichier ordinaire : il ne peut pas servir de clé maîtresse.",
            path=str(path),
        )
    # Windows has no such mode bits (its ACLs are left to the administrator; see docs/vault.md).
    if _posix() and info.st_mode & 0o077:
        raise MasterKeyError(
            f"Le fichier de clé maîtresse {path} est accessible à d'autres utilisateurs "
            f"(droits {stat.S_IMODE(info.st_mode):04o}) : il n'est pas utilisé.",
            remedy=(
                f"Réservez-le à son propriétaire avec « chmod 600 {path} », puis vérifiez qu'il "
                "n'a pas été copié ailleurs ; en cas de doute, changez la clé avec "
                "« dsnlink vault rotate-master-key »."
            ),
            path=str(path),
            mode=f"{stat.S_IMODE(info.st_mode):04o}",
        )


def read_private(path: Path) -> str:
    check_private(path)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MasterKeyError(
            f"Le fichier de clé maîtresse {path} est illisible.",
            remedy="Restaurez-le depuis votre copie de secours (« dsnlink vault export-key »).",
            path=str(path),
        ) from exc


def write_private(path: Path, text: str, *, exclusive: bool) -> None:
    """Write ``text`` to ``path`` atomically, mode 0600.

    ``exclusive``: fail if ``path`` exists (creating a key must never replace one: every
    secret sealed with the old key would be lost).
    """
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=_PRIVATE_DIR)
    except OSError as exc:
        raise _write_error(path) from exc
    tmp = folder / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_FILE)
        try:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            # link() fails if the target exists: an atomic "create, never replace".
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise MasterKeyError(
                    f"Le fichier de clé maîtresse {path} existe déjà : il n'est pas remplacé.",
                    remedy="Utilisez la clé existante, ou déplacez ce fichier si vous êtes sûr.",
                    path=str(path),
                ) from None
        else:
            tmp.replace(path)
        _fsync_dir(folder)
    except MasterKeyError:
        raise
    except OSError as exc:
        raise _write_error(path) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _fsync_dir(folder: Path) -> None:
    if not _posix():
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_error(path: Path) -> MasterKeyError:
    return MasterKeyError(
        f"Impossible d'écrire le fichier de clé maîtresse {path}.",
        remedy="Vérifiez les droits sur le dossier de données et l'espace disque.",
        path=str(path),
    )
