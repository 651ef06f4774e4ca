"""Benchmark: back up and verify a store of 10,000 deposits and 100,000 return files.

    python -m bench.backup                          # 10,000 deposits, 10 returns each
    python -m bench.backup --deposits 1000          # short mode

A monoposte installation is created in a temporary folder and bulk-filled (each deposit: one
file, one envoi, one event, ten return files of a small distinct XML document). Then
``take_backup`` (online copy, counts, return checksums, tar.gz, fsync, rename) and
``verify_backup`` (extract, checksums, ``integrity_check``, counts, return checksums) are
timed. Baseline: what a naive backup script does, copying the SQLite file and gzipping it at
the same level, with no consistency, manifest or check. Printed: database and archive sizes,
times, MB/s, and the ratios to the baseline.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.support.ledger_fill import fill  # noqa: E402

from dsnlink.maintenance import archive  # noqa: E402
from dsnlink.maintenance.backup import take_backup  # noqa: E402
from dsnlink.maintenance.restore import verify_backup  # noqa: E402
from dsnlink.settings import Settings  # noqa: E402
from dsnlink.setup import init_installation  # noqa: E402
from dsnlink.store import open_database  # noqa: E402


def baseline(db_file: Path, out: Path) -> float:
    started = time.perf_counter()
    copy = out / "copy.sqlite3"
    shutil.copyfile(db_file, copy)
    with (
        copy.open("rb") as src,
        gzip.open(out / "copy.gz", "wb", compresslevel=archive.COMPRESSLEVEL) as dst,
    ):
        shutil.copyfileobj(src, dst, 1 << 20)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deposits", type=int, default=10_000)
    parser.add_argument("--returns-per", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dsnlink-bench-backup-") as tmp:
        folder = Path(tmp)
        settings = Settings(
            data_dir=folder / "data",
            database_url=None,
            master_key=None,
            keyring=False,
            password_hash_profile="fast-insecure-tests",
        )
        init_installation(settings, name="bench", admin_password="bench-password-1").close()
        db = open_database(settings.effective_database_url)
        started = time.perf_counter()
        fill(db, args.deposits, returns_per=args.returns_per, batch=1000)
        filled = time.perf_counter() - started
        db.dispose()
        db_file = settings.sqlite_path
        db_mb = db_file.stat().st_size / 1_000_000
        target = folder / "backups"
        target.mkdir()

        result = take_backup(settings, target)
        backup_s = result.seconds
        started = time.perf_counter()
        report = verify_backup(result.path)
        verify_s = time.perf_counter() - started
        (folder / "base").mkdir()
        base_s = min(baseline(db_file, folder / "base") for _ in range(2))

        tables = result.manifest.tables
        assert tables["envois"] == args.deposits
        assert tables["return_files"] == result.manifest.returns == args.deposits * args.returns_per
        assert report.checks
        size_mb = result.size / 1_000_000
        print(
            f"store:             {args.deposits:,} deposits, "
            f"{result.manifest.returns:,} return files"
        )
        print(f"database:          {db_mb:.1f} MB (bulk-filled in {filled:.1f} s)")
        print(f"archive:           {size_mb:.1f} MB ({size_mb / db_mb:.0%} of the database)")
        print(f"backup:            {backup_s:.2f} s ({db_mb / backup_s:.1f} MB/s)")
        print(f"verify:            {verify_s:.2f} s ({db_mb / verify_s:.1f} MB/s)")
        print(f"baseline (cp+gzip): {base_s:.2f} s (no consistency, manifest or check)")
        print(
            f"ratio to baseline: backup {backup_s / base_s:.2f}x, verify {verify_s / base_s:.2f}x"
        )
        print(f"machine load:      {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
