"""Logins per second (argon2id, OWASP profile) against the floor of the hash itself, and
store writes per second on SQLite.

    python bench/accounts_login.py [--quick]

A login is: throttle check and user read (one read transaction), argon2id verification, then
one write transaction (clearing the failure count). Its baseline is the verification alone: the
ratio says how much the store adds. Store writes: one ``BEGIN IMMEDIATE`` transaction per
write (a setting updated and an audit entry appended), against the same transactions on the
in-memory store.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from dsnlink.accounts import Accounts, PasswordHasher
from dsnlink.logs import configure_logging
from dsnlink.store import MemoryStore, SqlStore, Store, open_database, upgrade
from dsnlink.store.records import Mode, NewAuditEntry
from dsnlink.vault import Vault
from dsnlink.vault.keys import KeyRing, MasterKey
from dsnlink.vault.memory import MemorySealedSecretStore

PASSWORD = "bench-password-1"


def rate(fn: Callable[[], object], n: int) -> float:
    fn()  # warm up
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def sqlite_store(folder: Path) -> SqlStore:
    db = open_database(f"sqlite:///{folder / 'bench.sqlite3'}")
    upgrade(db)
    return SqlStore(db)


def bench_login(store: Store, n: int) -> tuple[float, float]:
    hasher = PasswordHasher("owasp")
    vault = Vault(KeyRing(MasterKey.generate()), MemorySealedSecretStore())
    accounts = Accounts.build(store, vault, hasher=hasher)
    with store.write() as r:
        r.installation.create(
            name="bench", mode=Mode.MONOPOSTE, tiers_de_confiance=None, now=datetime.now(UTC)
        )
        accounts.users.create_builtin_admin(r, PASSWORD)
    with store.read() as r:
        user = r.users.by_login("Administrateur")
    assert user is not None
    logins = rate(lambda: accounts.users.authenticate("Administrateur", PASSWORD), n)
    verifies = rate(lambda: hasher.verify(user.password_hash, PASSWORD), n)
    return logins, verifies


def bench_writes(store: Store, n: int) -> float:
    counter = iter(range(10**9))

    def write() -> None:
        i = next(counter)
        now = datetime.now(UTC)
        with store.write() as r:
            r.settings.put("installation", "bench", {"i": i}, now)
            r.audit.append(
                NewAuditEntry(
                    at=now, actor_user_id=1, actor_login="bench", action="bench", object_type="x"
                )
            )

    return rate(write, n)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="few iterations (CI)")
    quick = parser.parse_args().quick
    configure_logging("WARNING")
    n_login, n_write = (5, 50) if quick else (40, 1000)
    with tempfile.TemporaryDirectory() as tmp:
        store = sqlite_store(Path(tmp))
        logins, verifies = bench_login(store, n_login)
        sqlite_writes = bench_writes(store, n_write)
        store.db.dispose()
    memory_writes = bench_writes(MemoryStore(), n_write)
    print(f"argon2id verify (owasp profile), the floor : {verifies:8.1f} /s")
    print(f"login on SQLite (read + verify + write)    : {logins:8.1f} /s")
    print(f"  ratio login / floor                      : {logins / verifies:8.2f}")
    print(f"store writes on SQLite (BEGIN IMMEDIATE)   : {sqlite_writes:8.1f} /s")
    print(f"store writes in memory (baseline)          : {memory_writes:8.1f} /s")
    print(f"  ratio SQLite / memory                    : {sqlite_writes / memory_writes:8.3f}")


if __name__ == "__main__":
    main()
