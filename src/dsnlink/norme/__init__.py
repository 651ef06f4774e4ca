"""The DSN file (norme NEODeS): streaming reader, validator, summary, splitter, generator.

Pure code: it imports nothing of dsnlink but :mod:`dsnlink.errors`. Public API::

    read_envois(source)            -> iterator of Envoi (blocks, declarations, raw lines)
    validate(source)               -> Report (findings, summary, blocking)
    summarize(source)              -> Summary
    split_envoi(envoi)             -> list of one-declaration Envoi (S10 kept, S90 recomputed)
    generate_monthly_dsn(...)      -> bytes of a realistic monthly DSN

``source`` is a path, ``bytes`` or a binary file object.
"""

from __future__ import annotations

from collections.abc import Callable

from dsnlink.norme.findings import CODES, Finding, Report, Severity
from dsnlink.norme.generator import FAULTS, generate_monthly_dsn
from dsnlink.norme.model import Block, Declaration, Envoi, Line
from dsnlink.norme.reader import read_envois
from dsnlink.norme.source import Source
from dsnlink.norme.summary import Summary
from dsnlink.norme.validator import run
from dsnlink.norme.writer import split_envoi, write_envois


def validate(
    source: Source,
    *,
    employees: bool = True,
    max_findings: int = 5000,
    on_progress: Callable[[int], None] | None = None,
) -> Report:
    """Check a DSN file in one streaming pass (constant memory but for the summary).

    ``employees=False`` leaves the per-employee list out of the summary (very large files).
    At most ``max_findings`` findings are kept; the others are counted in ``report.dropped``.
    ``on_progress`` is called with the number of bytes read after each chunk (about 1 MB).
    """
    return run(source, employees=employees, max_findings=max_findings, on_progress=on_progress)


def summarize(source: Source, *, employees: bool = True) -> Summary:
    """What the file declares (envois, declarations, employees), read in the same pass."""
    summary: Summary = run(source, employees=employees, max_findings=0).summary
    return summary


__all__ = [
    "CODES",
    "FAULTS",
    "Block",
    "Declaration",
    "Envoi",
    "Finding",
    "Line",
    "Report",
    "Severity",
    "Summary",
    "generate_monthly_dsn",
    "read_envois",
    "split_envoi",
    "summarize",
    "validate",
    "write_envois",
]
