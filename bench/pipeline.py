"""Benchmark of the whole pipeline: N employers, one real monthly DSN each, deposited and every
return (AEE, CCO, CRM 94 with the PAS rates) collected, against the local simulator.

The simulator runs in its own process, each call waiting ``--latency`` seconds like a real
wide-area portal; the pipeline runs as ``dsnlink run`` does (SQLite ledger, accounts, vault,
API-DSN client, norme validator, return parsers), following the simulator's clock, which is
moved ten minutes then four days on to publish the certificates and the CRM. For concurrency 1
and the default, prints deposits per second, the CPU time per deposit of the pipeline process
and of the simulator's (less sensitive to the load of the machine than wall-clock figures), the
time to the last CRM, and the ratio.

    python bench/pipeline.py                        # 1,000 employers; 100 at concurrency 1
    python bench/pipeline.py --employers 100 --sequential-employers 20   # short mode
    python bench/pipeline.py --latency-sweep 0.005,0.05   # the ratio at other latencies too
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.integration.pipeline_world import build_world, dsn_for  # noqa: E402

from dsnlink.jobs.runner import Runner  # noqa: E402
from dsnlink.logs import configure_logging  # noqa: E402
from dsnlink.pipeline.context import PipelineConfig  # noqa: E402
from dsnlink.pipeline.intake import receive  # noqa: E402
from dsnlink.pipeline.setup import SimulatorClock, open_pipeline  # noqa: E402
from dsnlink.pipeline.states import EnvoiState  # noqa: E402


def serve(conn: Connection, latency: float) -> None:
    """Child process: a simulator with ``latency`` on every route, until told to stop."""
    from dsnlink.simulator import FaultRule, SimulatorConfig
    from dsnlink.simulator.server import running_simulator

    faults = [FaultRule(route="*", kind="slow", delay_seconds=latency, count=None)]
    config = SimulatorConfig(faults=faults if latency > 0 else [], validate_files=False)
    with running_simulator(config) as sim:
        conn.send(sim.base_url)
        # "cpu": this process's CPU time so far; anything else: stop.
        while conn.recv() == "cpu":
            conn.send(time.process_time())
        conn.send(sim.simulator.duplicate_deposits())


def advance(base_url: str, duration: str) -> None:
    httpx.post(f"{base_url}/_admin/clock", json={"advance": duration}, timeout=30)


def measure(employers: int, concurrency: int, latency: float) -> dict[str, float]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=serve, args=(child, latency), daemon=True)
    process.start()
    base_url = parent.recv()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            world = build_world(Path(tmp), SimpleNamespace(base_url=base_url), employers)  # type: ignore[arg-type]
            files = [dsn_for(s, seed=n) for n, s in enumerate(world.employers)]
            clock = SimulatorClock(base_url, refresh=0.2)
            tuning = PipelineConfig(max_polls=50)
            with world.app, open_pipeline(world.app, clock=clock, config=tuning) as p:
                parent.send("cpu")
                simulator_cpu = parent.recv()
                started, cpu = time.perf_counter(), time.process_time()
                for n, data in enumerate(files):
                    receive(p, data, name=f"{n}.dsn", acting_login="dupont")
                intake = time.perf_counter() - started
                runner = Runner(p, concurrency=concurrency, per_identity=concurrency)
                runner.run_until_idle()
                deposited = time.perf_counter() - started
                deposited_cpu = time.process_time() - cpu
                parent.send("cpu")
                simulator_cpu = parent.recv() - simulator_cpu
                for step in ("10m", "4d"):
                    advance(base_url, step)
                    time.sleep(0.25)  # the clock is read at most every 0.2 s
                    runner.run_until_idle()
                last_crm = time.perf_counter() - started
                complete = len(p.ledger.envois(states=[EnvoiState.COMPLETE]))
                rates = len(p.ledger.rates())
            clock.close()
        parent.send("stop")
        duplicates = parent.recv()
    finally:
        process.join(timeout=30)
    return {
        "employers": employers,
        "concurrency": concurrency,
        "intake_s": intake,
        "deposited_s": deposited,
        "deposits_per_s": employers / deposited,
        "cpu_ms_per_deposit": deposited_cpu / employers * 1000,
        "simulator_cpu_ms_per_deposit": simulator_cpu / employers * 1000,
        "last_crm_s": last_crm,
        "complete": complete,
        "rates": rates,
        "duplicates": duplicates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employers", type=int, default=1000)
    parser.add_argument("--sequential-employers", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16, help="the default to compare")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per portal call")
    parser.add_argument(
        "--latency-sweep",
        default="",
        help="other latencies (comma-separated seconds) to run both lines at, after the default",
    )
    args = parser.parse_args()
    configure_logging("ERROR")
    sweep = [float(v) for v in args.latency_sweep.split(",") if v.strip()]
    for latency in [args.latency, *sweep]:
        if latency != args.latency:
            print(f"-- latency {latency * 1000:.0f} ms per portal call")
        results = [
            measure(args.sequential_employers, 1, latency),
            measure(args.employers, args.concurrency, latency),
        ]
        for r in results:
            print(
                f"concurrency {r['concurrency']:>3}: {r['employers']} employers, "
                f"intake {r['intake_s']:.1f} s, all deposited after {r['deposited_s']:.1f} s "
                f"({r['deposits_per_s']:.1f} deposits/s end to end, "
                f"{r['cpu_ms_per_deposit']:.1f} ms CPU each, simulator "
                f"{r['simulator_cpu_ms_per_deposit']:.1f} ms), last CRM after "
                f"{r['last_crm_s']:.1f} s; {r['complete']} complete, {r['rates']} PAS rates, "
                f"{r['duplicates']} duplicates"
            )
        ratio = results[1]["deposits_per_s"] / results[0]["deposits_per_s"]
        print(f"ratio to concurrency 1: {ratio:.1f}x (target >= 10x, >= 50 deposits/s)")


if __name__ == "__main__":
    main()
