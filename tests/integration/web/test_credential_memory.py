"""The memory of credentials typed on the Net-entreprises tab, over a real database and vault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from dsnlink.setup import App
from dsnlink.store.tables import secrets, web_credential_checks
from dsnlink.web.credential_checks import REMEMBER_FOR, CredentialMemory

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
PASSWORD = "Canari-Memoire-5521"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_two_memories_share_one_sealed_key_and_their_answers(web_ctx: App) -> None:
    clock = Clock()
    first = CredentialMemory(web_ctx.db, lambda: web_ctx.vault, clock=clock)
    second = CredentialMemory(web_ctx.db, lambda: web_ctx.vault, clock=clock)
    values = ("dupont", "73282932000074", "DUPONT", "MARIE", PASSWORD)
    refused = first.fingerprint(*values)
    assert second.fingerprint(*values) == refused
    assert first.fingerprint(*values[:4], PASSWORD + "x") != refused
    assert second.verdict(refused) is None

    first.remember(refused, accepted=False)
    assert second.verdict(refused) is False
    accepted = second.fingerprint(*values[:4], "Autre-mdp-1")
    second.remember(accepted, accepted=True)
    assert first.verdict(accepted) is True

    with web_ctx.db.read() as conn:
        rows = repr(conn.execute(select(web_credential_checks)).all())
        (sealed,) = conn.execute(
            select(secrets.c.blob).where(secrets.c.table_name == "web_credential_checks")
        ).all()
    assert PASSWORD not in rows
    key = first._hmac_key()
    assert len(key) == 32 and key not in sealed.blob


def test_answers_are_forgotten_after_a_day_and_purged(web_ctx: App) -> None:
    clock = Clock()
    memory = CredentialMemory(web_ctx.db, lambda: web_ctx.vault, clock=clock)
    old = memory.fingerprint("dupont", "1", "A", "B", "ancien")
    memory.remember(old, accepted=False)
    clock.now = T0 + REMEMBER_FOR - timedelta(minutes=1)
    assert memory.verdict(old) is False
    clock.now = T0 + REMEMBER_FOR + timedelta(minutes=1)
    assert memory.verdict(old) is None  # the portal's password may have changed meanwhile
    memory.remember(memory.fingerprint("dupont", "1", "A", "B", "nouveau"), accepted=False)
    with web_ctx.db.read() as conn:
        kept = conn.execute(select(web_credential_checks.c.fingerprint)).scalars().all()
    assert old not in kept and len(kept) == 1
