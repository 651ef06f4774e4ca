"""Local account passwords: argon2id, with a parameter profile chosen by a setting.

``owasp`` meets OWASP's Password Storage Cheat Sheet floor for argon2id (19 MiB, 2 passes,
1 lane). A hash made with other parameters verifies, and is replaced at the next successful
login (:meth:`PasswordHasher.needs_rehash`).
"""

from __future__ import annotations

from typing import Literal

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

Profile = Literal["owasp", "fast-insecure-tests"]

PROFILES: dict[str, argon2.Parameters] = {
    "owasp": argon2.Parameters(
        type=argon2.Type.ID,
        version=19,
        salt_len=16,
        hash_len=32,
        time_cost=2,
        memory_cost=19 * 1024,
        parallelism=1,
    ),
    # For tests only: the cheapest parameters argon2 accepts.
    "fast-insecure-tests": argon2.Parameters(
        type=argon2.Type.ID,
        version=19,
        salt_len=16,
        hash_len=32,
        time_cost=1,
        memory_cost=8,
        parallelism=1,
    ),
}


class PasswordHasher:
    def __init__(self, profile: str = "owasp") -> None:
        self.profile = profile
        self._hasher = argon2.PasswordHasher.from_parameters(PROFILES[profile])
        # Verified when the login is unknown, so that the answer takes as long either way.
        self._dummy = self._hasher.hash("dsnlink-timing-equaliser")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; never raises for a wrong or damaged hash."""
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
