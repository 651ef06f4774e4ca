"""Vault benchmark: seal/open rates, rotation and re-encryption of many secrets, redaction.

Run from the repository root::

    python -m bench.vault            # 10,000 secrets
    python -m bench.vault --quick    # 1,000 secrets (CI's short mode)
    python -m bench.vault --sqlite   # also through the SQL store on a SQLite file

Prints each figure and its ratio to the baseline of 1,000 secrets per second; for the
redaction, the previous registry (one regex rebuilt at every registration) is measured on the
same data, on fewer secrets since it is quadratic.
"""

from __future__ import annotations

import argparse
import re
import secrets
import tempfile
import time
from collections.abc import Callable

from dsnlink import redaction
from dsnlink.vault.envelope import Vault
from dsnlink.vault.keys import KeyRing, MasterKey
from dsnlink.vault.memory import MemorySealedSecretStore
from dsnlink.vault.protocols import SealedSecretStore, SecretRef
from dsnlink.vault.rotation import reencrypt_all, rotate_master_key

BASELINE_PER_S = 1_000.0


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def line(label: str, count: int, seconds: float) -> None:
    rate = count / seconds if seconds else float("inf")
    print(
        f"{label:<34} {count:>7} in {seconds:8.3f} s  {rate:>10,.0f}/s  "
        f"x{rate / BASELINE_PER_S:,.1f} vs baseline {BASELINE_PER_S:,.0f}/s"
    )


Fill = Callable[[SealedSecretStore, list[tuple[SecretRef, bytes]]], None]


def _fill_one_by_one(store: SealedSecretStore, items: list[tuple[SecretRef, bytes]]) -> None:
    for ref, blob in items:
        store.put_sealed(ref, blob)


def _sqlite_store(folder: str) -> tuple[SealedSecretStore, Fill]:
    from dsnlink.store import SqlSealedSecretStore, SqlStore, open_database, upgrade

    db = open_database(f"sqlite:///{folder}/bench.sqlite3")
    upgrade(db)

    def fill(_store: SealedSecretStore, items: list[tuple[SecretRef, bytes]]) -> None:
        with SqlStore(db).write() as repos:
            for ref, blob in items:
                repos.secrets.put_sealed(ref, blob)

    return SqlSealedSecretStore(db), fill


def bench_vault(n: int, store: SealedSecretStore, fill: Fill = _fill_one_by_one) -> None:
    ring = KeyRing(MasterKey.generate())
    vault = Vault(ring, store)
    refs = [SecretRef("identities", f"{i:06d}", "password") for i in range(n)]
    values = [f"Bench-{secrets.token_urlsafe(12)}" for _ in range(n)]

    blobs: list[bytes] = []
    line(
        "seal",
        n,
        timed(
            lambda: blobs.extend(
                vault.seal(r, v.encode()) for r, v in zip(refs, values, strict=True)
            )
        ),
    )
    line("open", n, timed(lambda: [vault.open(r, b) for r, b in zip(refs, blobs, strict=True)]))
    # put_secret is one transaction per secret (the store's business, not the vault's): timed
    # on a sample; the rest of the secrets are stored in one go.
    sample = min(n, 200)
    pairs = list(zip(refs, values, strict=True))
    line("put_secret", sample, timed(lambda: [vault.put_secret(r, v) for r, v in pairs[:sample]]))
    fill(store, [(r, vault.seal(r, v.encode())) for r, v in pairs[sample:]])

    result: list[KeyRing] = []

    def rotate() -> None:
        _, report = rotate_master_key(ring, store, save=result.append)
        assert report.changed == n and report.complete

    line("rotate-master-key (rewrap)", n, timed(rotate))
    rotated = result[0]

    def reencrypt() -> None:
        report = reencrypt_all(rotated, store)
        assert report.changed == n and report.complete

    line("reencrypt (new data keys)", n, timed(reencrypt))


class _OldRegistry:
    """The registry before the fix: one alternation regex rebuilt at every registration."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self.pattern: re.Pattern[str] | None = None

    def register(self, value: str) -> None:
        if value in self.values:
            return
        self.values.add(value)
        variants = sorted(self.values, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(v) for v in variants))

    def redact(self, text: str) -> str:
        return self.pattern.sub(redaction.MASK, text) if self.pattern else text


LOG_LINE = (
    "2026-11-26T23:00:00Z [info] deposit_sent siret=99900000300015 idflux=AB12CD34 "
    "identity=dupont status=202 duration_ms=184 detail='dépôt accepté par le concentrateur'"
)


def _per_call(fn: Callable[[], object], reps: int) -> float:
    return timed(lambda: [fn() for _ in range(reps)]) / reps


def bench_redaction(n: int, n_old_register: int) -> None:
    # Random values, no common head (a common head lets re skip ahead and flatters the old way).
    values = [secrets.token_urlsafe(12) for _ in range(n)]
    few = values[:5]
    old = _OldRegistry()
    for value in few:
        redaction.register_secret(value)
        old.register(value)
    new_few = _per_call(lambda: redaction._mask_registered(LOG_LINE), 5_000)
    old_few = _per_call(lambda: old.redact(LOG_LINE), 5_000)

    started = time.perf_counter()
    for value in values[5:]:
        redaction.register_secret(value)
    new_register = time.perf_counter() - started
    new_many = _per_call(lambda: redaction._mask_registered(LOG_LINE), 2_000)
    assert values[n // 2] not in redaction.redact_text(LOG_LINE + " " + values[n // 2])

    old = _OldRegistry()
    started = time.perf_counter()
    for value in values[:n_old_register]:
        old.register(value)
    old_register = time.perf_counter() - started
    # The pattern the old registry ends with after n registrations, compiled once.
    old.values = set(values)
    old.pattern = re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
    old_many = _per_call(lambda: old.redact(LOG_LINE), 20)

    extrapolated = old_register * (n / n_old_register) ** 2
    print(f"redaction: register {n:,} secrets      new {new_register * 1e3:9.1f} ms")
    print(
        f"redaction: register {n_old_register:,} secrets       old {old_register * 1e3:9.1f} ms"
        f"  (quadratic: ~{extrapolated:,.0f} s for {n:,}; x{extrapolated / new_register:,.0f})"
    )
    print(
        f"redaction: one log line, 5 secrets       new {new_few * 1e6:9.1f} µs"
        f"  old {old_few * 1e6:9.1f} µs"
    )
    print(
        f"redaction: one log line, {n:,} secrets  new {new_many * 1e6:9.1f} µs"
        f"  old {old_many * 1e6:9.1f} µs  (x{old_many / new_many:,.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 secrets instead of 10,000")
    parser.add_argument(
        "--sqlite", action="store_true", help="also on the SQL store over a SQLite file"
    )
    args = parser.parse_args()
    n = 1_000 if args.quick else 10_000
    print(f"vault benchmark, {n:,} secrets, in-memory store")
    bench_vault(n, MemorySealedSecretStore())
    if args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            print(f"vault benchmark, {n:,} secrets, SQL store on SQLite")
            bench_vault(n, *_sqlite_store(folder))
    bench_redaction(n, n_old_register=200 if args.quick else 500)


if __name__ == "__main__":
    main()
