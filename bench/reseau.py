"""Benchmark of réseau workers: N employers (one real monthly DSN each, spread over several
Net-entreprises identities) deposited and their returns collected by 1, 2, 4... ``dsnlink
worker`` processes on one PostgreSQL database, against the simulator in its own process.

For each number of workers: a fresh database and simulator, the DSN recorded in the ledger
(not timed), then the workers started; prints the time from the first deposit (the workers'
start is not counted) until every deposit is made (deposits per second) and until every envoi
is complete (with the simulator's clock moved on to publish the returns), the ratio to one
worker, and where the CPU went (workers,
simulator, PostgreSQL). ``--profile`` samples one worker with py-spy during the deposits and
prints the functions where it spent its time.

    python bench/reseau.py                                  # 500 employers; 1, 2, 4 workers
    python bench/reseau.py --employers 100 --workers 1,2    # short mode
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])
)

import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from tests.integration.workers_fleet import (  # noqa: E402
    Fleet,
    SimulatorControl,
    drive,
    lost_returns,
    receive_all,
    reseau_world,
)

from dsnlink.logs import configure_logging  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def serve(conn: Connection, latency: float) -> None:
    """Child process: a simulator with ``latency`` on every route, until told to stop."""
    from dsnlink.simulator import FaultRule, SimulatorConfig
    from dsnlink.simulator.server import running_simulator

    faults = [FaultRule(route="*", kind="slow", delay_seconds=latency, count=None)]
    config = SimulatorConfig(faults=faults if latency > 0 else [], validate_files=False)
    with running_simulator(config) as sim:
        conn.send((sim.base_url, os.getpid()))
        conn.recv()
        conn.send((sim.simulator.duplicate_deposits(), sim.simulator.activity.overlaps()))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its reaped children) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / CLOCK_TICKS


def postgres_cpu() -> float:
    """CPU time of every PostgreSQL process of this machine (the server under load)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in {"postgres", "postmaster"}:
                    total += cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


class Database:
    def __init__(self, server_url: str) -> None:
        self.name = f"dsnlink_bench_{uuid.uuid4().hex[:10]}"
        self.admin = make_url(server_url).set(drivername="postgresql")
        with psycopg.connect(
            self.admin.render_as_string(hide_password=False), autocommit=True
        ) as c:
            c.execute(f'CREATE DATABASE "{self.name}"')
        self.url = self.admin.set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with psycopg.connect(
            self.admin.render_as_string(hide_password=False), autocommit=True
        ) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def profile(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        print("py-spy not installed: no profile")
        return None
    return subprocess.Popen(
        [str(spy), "record", "-p", str(pid), "-d", str(seconds), "-f", "raw", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarise(raw: Path, top: int = 14) -> None:
    """Inclusive share of samples per dsnlink function, and of waiting on the database."""
    if not raw.exists():
        return
    totals: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        if not any("run_step" in f or "dispatch" in f for f in frames):
            continue  # idle threads, the event loop waiting
        samples += n
        seen = set()
        for frame in frames:
            name = frame.split(" (")[0]
            if "dsnlink/" in frame and "cli/" not in frame:
                seen.add(name)
            if "psycopg/connection" in frame and "wait" in name:
                seen.add("(waiting for PostgreSQL)")
            if "httpcore" in frame and "read" in name:
                seen.add("(waiting for the portal)")
        for name in seen:
            totals[name] += n
    print(f"  where one worker's busy threads spent their time ({samples} samples):")
    for name, n in totals.most_common(top):
        print(f"    {100 * n / max(1, samples):5.1f}%  {name}")


def measure(args: argparse.Namespace, workers: int) -> dict[str, float]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=serve, args=(child, args.latency), daemon=True)
    process.start()
    base_url, sim_pid = parent.recv()
    database = Database(args.pg_url)
    control = SimulatorControl(base_url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            world = reseau_world(
                data,
                control,
                database.url,
                identities=args.identities,
                employers_per_identity=args.employers // args.identities,
            )
            count = len(world.employers)
            with world.app:
                receive_all(world, control)
                fleet = Fleet(data, database.url, base_url, concurrency=args.concurrency)
                cpu0 = (cpu_seconds(sim_pid), postgres_cpu())
                started = time.perf_counter()
                fleet.start(workers)
                spy = None
                first: float | None = None  # the first deposit: the workers are up
                while (made := control.get("/state")["deposits"]) < count:  # a count, not 500 rows
                    if made and first is None:
                        first = time.perf_counter()
                    if spy is None and args.profile and first is not None:
                        spy = profile(fleet.processes[0].pid, 10, data / "spy.raw")
                    time.sleep(0.2)
                first = first or started
                deposited = time.perf_counter() - first
                counts = drive(world, control, timeout=3600)
                done = time.perf_counter() - first
                worker_cpu = sum(cpu_seconds(p.pid) for p in fleet.processes)
                sim_cpu = cpu_seconds(sim_pid) - cpu0[0]
                pg_cpu = postgres_cpu() - cpu0[1]
                lost = len(lost_returns(world, control))
                if spy is not None:
                    spy.wait()
                fleet.stop()
                if spy is not None:
                    summarise(data / "spy.raw")
        parent.send("stop")
        duplicates, overlaps = parent.recv()
    finally:
        control.close()
        process.join(timeout=30)
        database.drop()
    return {
        "workers": workers,
        "employers": count,
        "deposited_s": deposited,
        "deposits_per_s": count / deposited,
        "complete_s": done,
        "complete": counts["complete"],
        "worker_cpu": worker_cpu,
        "sim_cpu": sim_cpu,
        "pg_cpu": pg_cpu,
        "duplicates": duplicates,
        "overlaps": overlaps,
        "lost": lost,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employers", type=int, default=500)
    parser.add_argument("--identities", type=int, default=20)
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to compare")
    parser.add_argument("--concurrency", type=int, default=4, help="steps at once per worker")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per portal call")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("DSNLINK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--profile", action="store_true", help="py-spy one worker")
    args = parser.parse_args()
    configure_logging("ERROR")
    print(
        f"{os.cpu_count()} CPU(s); {args.employers} employers over {args.identities} "
        f"identities; {args.concurrency} steps at once per worker; portal latency "
        f"{args.latency * 1000:.0f} ms per call"
    )
    results = []
    for workers in (int(w) for w in args.workers.split(",")):
        r = measure(args, workers)
        results.append(r)
        base = results[0]
        speedup = r["deposits_per_s"] / base["deposits_per_s"]
        print(
            f"{r['workers']} worker(s): {r['employers']} deposited in {r['deposited_s']:.1f} s "
            f"({r['deposits_per_s']:.1f} deposits/s, x{speedup:.2f} "
            f"vs {base['workers']}), all complete in {r['complete_s']:.1f} s "
            f"(x{base['complete_s'] / r['complete_s']:.2f}); CPU s: workers "
            f"{r['worker_cpu']:.0f}, simulator {r['sim_cpu']:.0f}, PostgreSQL {r['pg_cpu']:.0f}; "
            f"{r['complete']} complete, {r['duplicates']} duplicates, {r['lost']} lost returns, "
            f"{r['overlaps']} overlapping requests per identity",
            flush=True,
        )


if __name__ == "__main__":
    main()
