"""The return files of the DSN platform (GIP-MDS ``rapport`` XML), read safely.

Pure code: imports nothing of dsnlink but :mod:`dsnlink.errors`.

- :func:`parse` reads any return file (bytes or a path) into a frozen model whose class
  says its nature: :class:`DepositReport` (AEE/ARE, 10), :class:`ConformityReport`
  (CCO/BAN, 11), :class:`PasRateReport` (DGFiP CRM nominatif, 94, the PAS rates) or
  :class:`GenericReport` (any other CRM).
- :func:`parse_deposit_report` reads the body of the deposit's answer (200 AEE, 422 ARE).
- :mod:`dsnlink.returns.build` writes return files (for the simulator and tests).

Hostile XML (DTD, external entities, entity expansion) is refused with
:class:`~dsnlink.errors.UnsafeXml`; anything unreadable raises
:class:`~dsnlink.errors.ReturnParseError`, never another exception.
"""

from __future__ import annotations

from dsnlink.returns.model import (
    Anomaly,
    ConformityReport,
    Contract,
    Counter,
    Declaration,
    DepositReport,
    Employee,
    Envoi,
    GenericReport,
    PasRateReport,
    ReturnDocument,
    Rubrique,
)
from dsnlink.returns.parser import nature_of_type
from dsnlink.returns.reading import parse, parse_deposit_report

__all__ = [
    "Anomaly",
    "ConformityReport",
    "Contract",
    "Counter",
    "Declaration",
    "DepositReport",
    "Employee",
    "Envoi",
    "GenericReport",
    "PasRateReport",
    "ReturnDocument",
    "Rubrique",
    "nature_of_type",
    "parse",
    "parse_deposit_report",
]
