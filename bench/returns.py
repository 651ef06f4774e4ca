"""Benchmark: parse a DGFiP CRM nominatif (nature 94) of 100,000 employees.

Run: ``python bench/returns.py [--employees N] [--repeat R]``.

The CRM is generated with :func:`dsnlink.returns.build.build_crm_pas`, then parsed in a fresh
process (so that peak RSS is the parser's, not the generator's). Printed: file size, best
parse time, MB/s, peak RSS, the ratio to the baseline (a bare ``lxml.etree.fromstring`` of the
same bytes, which builds the tree but no model) and to the target (1 s for 100,000 employees).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

TARGET_SECONDS = 1.0


def generate(employees: int) -> bytes:
    from dsnlink.returns.build import build_crm_pas, new_crm_identifier, new_idflux
    from dsnlink.returns.model import Employee

    people = [
        Employee(
            nir=f"{1 + i % 2}{80 + i % 20:02d}{1 + i % 12:02d}75{i:06d}"[:13],
            matricule=f"MAT{i:08d}",
            # One employee in ten without a rate: the default scale applies.
            rate=None if i % 10 == 0 else Decimal(i % 4300) / 100,
        )
        for i in range(employees)
    ]
    return build_crm_pas(
        people,
        identifier=new_crm_identifier(),
        idflux=new_idflux(),
        siren="456789123",
        nic="54321",
        emitter_siret="12345678912345",
    )


def measure(path: Path, repeat: int) -> dict[str, float]:
    """In a fresh process: best of ``repeat`` for the baseline and for ``parse``."""
    from lxml import etree

    from dsnlink.returns import PasRateReport, parse

    data = path.read_bytes()
    rss_before = _peak_rss_mb()
    baseline = min(_timed(lambda: etree.fromstring(data))[1] for _ in range(repeat))
    best = best_cpu = float("inf")
    count = 0
    for _ in range(repeat):
        wall, cpu = _timed(lambda: parse(data))
        best, best_cpu = min(best, wall), min(best_cpu, cpu)
    document = parse(data)
    assert isinstance(document, PasRateReport)
    count = len(document.employees)
    return {
        "seconds": best,
        "cpu_seconds": best_cpu,
        "baseline_cpu_seconds": baseline,
        "employees": count,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_mb": rss_before,
    }


def _peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: on Linux the latter keeps the peak of
    the parent that started us, which here holds the whole generated file."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds. CPU time is the fair figure on a machine shared with others."""
    start, start_cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - start, time.process_time() - start_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat)))
        return

    start = time.perf_counter()
    data = generate(args.employees)
    generated = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "crm94.xml"
        path.write_bytes(data)
        child = subprocess.run(
            [sys.executable, __file__, "--measure", str(path), "--repeat", str(args.repeat)],
            check=True,
            capture_output=True,
            text=True,
        )
    figures = json.loads(child.stdout)
    size_mb = len(data) / 1_000_000
    wall, cpu = figures["seconds"], figures["cpu_seconds"]
    baseline = figures["baseline_cpu_seconds"]
    target = TARGET_SECONDS * args.employees / 100_000
    employees = figures["employees"]
    print(f"CRM 94: {employees:,} employees, {size_mb:.1f} MB (built in {generated:.2f} s)")
    print(f"parse:             {wall:.3f} s wall, {cpu:.3f} s CPU  ({size_mb / cpu:.1f} MB/s CPU)")
    print(f"baseline (lxml):   {baseline:.3f} s CPU  (tree only, no model)")
    print(f"ratio to baseline: {cpu / baseline:.2f}x (CPU)")
    print(
        f"ratio to target:   {cpu / target:.2f} CPU, {wall / target:.2f} wall "
        f"(target {target:.2f} s)"
    )
    print(f"machine load:      {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"peak RSS:         {figures['peak_rss_mb']:.0f} MB "
        f"(interpreter, imports and the file: {figures['rss_before_mb']:.0f} MB)"
    )
    assert figures["employees"] == args.employees


if __name__ == "__main__":
    main()
