"""The declared month as people type it (``MM/AAAA``), checked once for the CLI and the web."""

from __future__ import annotations

import re

from dsnlink.errors import InvalidInput

#: MM/AAAA, years 1900-2099: a due date (the next month's 5th or 15th) must exist, and no DSN
#: was ever declared outside that range.
MONTH_PATTERN = r"^(0[1-9]|1[0-2])/(19|20)[0-9][0-9]$"


def check_month(value: str | None) -> str | None:
    """``value`` when it is a month the pipeline can work with; None when not given."""
    if value in (None, ""):
        return None
    if not re.fullmatch(MONTH_PATTERN, value):
        raise InvalidInput(
            f"Mois incompréhensible : « {value} ».",
            remedy="Écrivez MM/AAAA, par exemple 10/2026.",
        )
    return value
