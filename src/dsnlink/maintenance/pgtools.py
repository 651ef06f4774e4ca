"""Finding and running the PostgreSQL client tools (pg_dump, pg_restore) for réseau.

The password never goes on a command line (visible to every user through ``ps``): it is
handed to the tool in ``PGPASSWORD``, and the URL given to the tool carries none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL

from dsnlink.errors import BackupToolMissing, MaintenanceError
from dsnlink.redaction import redact_text

#: Where Debian and Ubuntu install each PostgreSQL version's tools (not on PATH).
VERSIONED_ROOT = Path("/usr/lib/postgresql")


def find_tool(name: str, *, root: Path = VERSIONED_ROOT) -> str:
    """``name`` on PATH, else the newest under /usr/lib/postgresql/*/bin (Debian, Ubuntu)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        root.glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if candidates:
        return str(candidates[-1])
    raise BackupToolMissing(
        f"L'outil PostgreSQL « {name} » est introuvable sur ce poste : il est nécessaire pour "
        "sauvegarder ou restaurer une installation réseau.",
        tool=name,
    )


def libpq_args(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URL without password, and the environment that carries it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def run_tool(args: list[str], env: dict[str, str], *, what: str) -> str:
    proc = subprocess.run(  # noqa: S603 - fixed tool path, arguments built here
        args, capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise MaintenanceError(
            f"{what} a échoué.",
            remedy="Vérifiez que le serveur PostgreSQL est joignable et que l'outil a la même "
            "version que le serveur (ou plus récente).",
            tool=Path(args[0]).name,
            detail=redact_text(proc.stderr.strip()[-500:]),
        )
    return proc.stdout
