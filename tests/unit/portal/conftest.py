from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina

from dsnlink.portal import PortalIdentity, credential_failures

PASSWORD = "CANARY-s3cr3t-pw"


@pytest.fixture(autouse=True)
def _isolated_portal_state() -> Iterator[None]:
    """A clean process-wide failure record, and retries without waiting."""
    credential_failures.clear()
    with stamina.set_testing(True, attempts=3):
        yield
    credential_failures.clear()


@pytest.fixture
def identity() -> PortalIdentity:
    return PortalIdentity("99900000300015", "declarant", "declarant", PASSWORD)
