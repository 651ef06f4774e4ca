"""Benchmark of the DSN reader and validator.

    python bench/norme.py            # 10,000-employee monthly DSN (~15 MB, 650k lines)
    python bench/norme.py --short    # 1,000 employees (CI smoke run)
    python bench/norme.py --big      # also files growing up to 1 GB: peak RSS must stay flat
    python bench/norme.py --both     # the compiled scanner and the pure-Python path, each

Also measures many small files checked in one process, as the pipeline receives them.

Measures the path ``validate`` takes (the compiled scanner when it is built, unless
``DSNLINK_NO_SPEEDUPS`` is set) and says which; ``--python`` measures the pure-Python one.

Prints, for the same bytes: a bare ``for line in file`` loop (the baseline), parse + validate
(``dsnlink.norme.validate``), their ratio, MB/s, and the peak RSS of a fresh process doing only
the validation. Each timing is the best of several runs. Figures depend on the machine and its
load: compare the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from dsnlink.norme import generate_monthly_dsn, speedups  # noqa: E402
from dsnlink.norme.generator import iter_growing_dsn  # noqa: E402
from dsnlink.norme.source import SourceInfo, iter_batches, iter_segments  # noqa: E402
from dsnlink.norme.validator import run  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "dsnlink-bench"


def bare_loop(path: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of the baseline."""
    start, cpu = time.perf_counter(), time.process_time()
    with path.open("rb") as f:
        for _line in f:
            pass
    return time.perf_counter() - start, time.process_time() - cpu


def read_lines(path: Path, compiled: bool) -> float:
    """CPU seconds of reading the file as the validator gets it: batches of lines (pure
    Python) or segments of joined lines (compiled scanner)."""
    read = iter_segments if compiled else iter_batches
    cpu = time.process_time()
    with path.open("rb") as f:
        for _batch in read(f, SourceInfo()):
            pass
    return time.process_time() - cpu


def path_name(compiled: bool) -> str:
    return "compiled scanner" if compiled else "pure Python"


def timed_validate(path: Path, employees: bool, compiled: bool) -> tuple[float, int, int]:
    start = time.perf_counter()
    report = run(path, employees=employees, compiled=compiled)
    return time.perf_counter() - start, len(report.findings), report.lines


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(path: Path, employees: bool, compiled: bool) -> None:
    """Run in a fresh process: validate once, print seconds and peak RSS as JSON.

    The peak is sampled from VmRSS every 10 ms: VmHWM and ru_maxrss may carry the parent's
    high-water mark across fork and exec."""
    peak = [_rss_mb()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], _rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    seconds, findings, lines = timed_validate(path, employees, compiled)
    done.set()
    sampler.join()
    peak[0] = max(peak[0], _rss_mb())
    print(json.dumps({"seconds": seconds, "findings": findings, "lines": lines, "rss_mb": peak[0]}))


def in_child(path: Path, compiled: bool, employees: bool = True) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", str(path)]
    if not employees:
        cmd.append("--no-employees")
    if not compiled:
        cmd.append("--python")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def baseline_rss() -> float:
    code = (
        "import resource, dsnlink.norme; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return int(out.stdout) / 1024


def monthly(employees: int, repeat: int, compiled: bool) -> None:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"monthly-{employees}.dsn"
    if not path.exists():
        path.write_bytes(generate_monthly_dsn(employees, seed=2025))
    # peak RSS first, from fresh processes, while this one is still small
    child_run = in_child(path, compiled)
    base_rss = baseline_rss()
    size = path.stat().st_size
    bares = [bare_loop(path) for _ in range(repeat)]
    bare, bare_cpu = min(b[0] for b in bares), min(b[1] for b in bares)
    reading = min(read_lines(path, compiled) for _ in range(repeat))
    runs, cpus = [], []
    for _ in range(repeat):
        cpu = time.process_time()
        runs.append(timed_validate(path, True, compiled))
        cpus.append(time.process_time() - cpu)
    best, best_cpu = min(r[0] for r in runs), min(cpus)
    lines, findings = runs[0][2], runs[0][1]
    print(
        f"monthly DSN: {employees} employees, {size / 1e6:.1f} MB, {lines} lines, "
        f"{findings} findings — path measured: {path_name(compiled)}"
    )
    print(
        f"  bare 'for line in file' loop : {bare * 1000:8.1f} ms  ({size / 1e6 / bare:6.1f} MB/s)"
    )
    print(
        f"  parse + validate             : {best * 1000:8.1f} ms  ({size / 1e6 / best:6.1f} MB/s)"
    )
    print(f"  ratio to the bare loop       : {best / bare:8.1f} x   (target: <= 4 x, < 1 s)")
    print(
        f"  CPU time (less load-sensitive): {best_cpu * 1000:7.1f} ms vs {bare_cpu * 1000:.1f} ms "
        f"for the bare loop, ratio {best_cpu / bare_cpu:.1f} x"
    )
    print(
        f"  of which reading {'segments' if compiled else 'into lines'}"
        f"{'    ' if compiled else '  '}: {reading * 1000:7.1f} ms CPU, "
        f"ratio {reading / bare_cpu:.1f} x (read, CR-LF, UTF-8{'' if compiled else ', split'})"
    )
    print(
        f"  first run, fresh process     : {child_run['seconds'] * 1000:8.1f} ms wall "
        + (
            "(tables and value automata built)"
            if compiled
            else "(shapes compiled, repeated values learnt)"
        )
    )
    print(
        f"  peak RSS, validating process : {child_run['rss_mb']:8.1f} MB "
        f"(interpreter + imports alone: {base_rss:.1f} MB)"
    )


def small_files(count: int, repeat: int, compiled: bool) -> None:
    """CPU per file for many 3-employee files checked one after the other in this process (what
    the pipeline does): the tables, value automata and block-stack transitions are shared."""
    files = [generate_monthly_dsn(3, seed=n) for n in range(count)]
    run(files[0], compiled=compiled)  # the first file of the process builds the tables
    bare, best = [], []
    for _ in range(repeat):
        cpu = time.process_time()
        for data in files:
            for _line in io.BytesIO(data):
                pass
        bare.append(time.process_time() - cpu)
        cpu = time.process_time()
        for data in files:
            run(data, compiled=compiled)
        best.append(time.process_time() - cpu)
    lines = sum(data.count(b"\n") for data in files) / count
    print(
        f"small files: {count} × 3 employees ({lines:.0f} lines each) in one process, "
        f"path: {path_name(compiled)}"
    )
    print(
        f"  CPU per file                 : {min(best) / count * 1e3:8.3f} ms "
        f"(bare loop {min(bare) / count * 1e3:.3f} ms, ratio {min(best) / min(bare):.0f} x)"
    )


def growing(sizes_mb: list[int], compiled: bool) -> None:
    CACHE.mkdir(exist_ok=True)
    print(
        "growing files (one declaration, employee list left out of the summary), "
        f"path: {path_name(compiled)}:"
    )
    for size_mb in sizes_mb:
        path = CACHE / f"growing-{size_mb}.dsn"
        if not path.exists():
            partial = path.with_suffix(".part")
            with partial.open("wb") as f:
                for chunk in iter_growing_dsn(size_mb * 1_000_000, seed=size_mb):
                    f.write(chunk)
            partial.rename(path)  # an interrupted run never leaves a short file behind
        result = in_child(path, compiled, employees=False)
        real = path.stat().st_size / 1e6
        print(
            f"  {real:8.1f} MB  {int(result['lines']):>10} lines  {result['seconds']:7.2f} s  "
            f"{real / result['seconds']:6.1f} MB/s  peak RSS {result['rss_mb']:6.1f} MB  "
            f"findings {int(result['findings'])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="1,000 employees, growing to 16 MB")
    parser.add_argument("--big", action="store_true", help="growing files up to 1 GB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--both", action="store_true", help="measure both paths")
    parser.add_argument("--python", action="store_true", help="measure the pure-Python path")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-employees", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, not args.no_employees, not args.python)
        return
    built = speedups.available()
    if args.both and not built:
        parser.error("--both: the compiled scanner is not built (or DSNLINK_NO_SPEEDUPS is set)")
    paths = [True, False] if args.both else [built and not args.python]
    # growing files first: their child processes are measured while this one is still small
    for compiled in paths:
        if args.big:
            growing([16, 64, 256, 1024], compiled)
        else:
            growing([4, 16] if args.short else [16, 64], compiled)
    for compiled in paths:
        monthly(1_000 if args.short else 10_000, args.repeat, compiled)
    for compiled in paths:
        small_files(100 if args.short else 400, max(args.repeat, 5), compiled)


if __name__ == "__main__":
    main()
