"""Running the real ``dsnlink`` command in a subprocess, as a person or a script would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

ADMIN_PW = "admin-password-1"
# ``dsnlink identity set`` for the usual test declarant; the password follows on stdin.
SET_DECLARANT = (
    "identity", "set", "--siret", "99900000300015",
    "--nom", "declarant", "--prenom", "declarant", "--password-stdin",
)  # fmt: skip


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run(*args: str, input: str | None = None, **env: str | None) -> Result:
    full_env = dict(os.environ)
    full_env.setdefault("DSNLINK_LOG_LEVEL", "DEBUG")
    for key, value in env.items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    proc = subprocess.run(
        [sys.executable, "-m", "dsnlink", *args],
        input=input,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def invoke(*args: str, input: str | None = None, **env: str | None) -> Result:
    """The same command, in this process (click's runner): fast, for the many small cases.

    The subprocess tests (:func:`run`) prove the real entry point; this one covers the
    behaviour of each command without paying an interpreter start per call.
    """
    from click.testing import CliRunner

    from dsnlink.cli.main import cli
    from dsnlink.settings import get_settings

    env.setdefault("DSNLINK_LOG_LEVEL", "DEBUG")
    get_settings.cache_clear()
    saved_argv = sys.argv
    # The root group looks at argv for --json when reporting an error.
    sys.argv = ["dsnlink", *args]
    try:
        result = CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)
    finally:
        sys.argv = saved_argv
        get_settings.cache_clear()
    return Result(result.exit_code, result.stdout, result.stderr)
