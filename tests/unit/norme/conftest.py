from __future__ import annotations

import pytest

from dsnlink.norme import generate_monthly_dsn


@pytest.fixture(scope="session")
def small_dsn() -> bytes:
    return generate_monthly_dsn(5, seed=11, siret="73282932000074", month="2025-03")
