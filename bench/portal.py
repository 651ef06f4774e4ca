"""Benchmark of the async API-DSN client against the local simulator.

For each concurrency (1, 8, 32 by default): a fresh simulator in its own process (so that the
client's CPU time is measured alone), N deposits, then the simulator's clock moved four days
on and every return of every flow listed and downloaded. Each simulated call waits
``--latency`` seconds on the server (a "slow" fault on every route), like a real wide-area
portal. Prints deposits per second and the ratio to concurrency 1, the full retrieval rate,
and where the time went (client CPU, server CPU, waiting).

    python bench/portal.py                 # N=64, latency 50 ms
    python bench/portal.py --deposits 16 --concurrency 1 8   # short mode

It always measures the source tree it sits in (``src/`` first on the path).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dsnlink.logs import configure_logging
from dsnlink.portal import (
    AsyncPortalClient,
    ClientConfig,
    Endpoints,
    PortalIdentity,
    TransportOptions,
)

IDENTITY = PortalIdentity("99900000300015", "declarant", "declarant", "Refonte01")


def serve(conn: Connection, latency: float, validate: bool) -> None:
    """Child process: a simulator with ``latency`` on every route, until told to stop."""
    from dsnlink.simulator import FaultRule, SimulatorConfig
    from dsnlink.simulator.server import running_simulator

    faults = [FaultRule(route="*", kind="slow", delay_seconds=latency, count=None)]
    config = SimulatorConfig(faults=faults if latency > 0 else [], validate_files=validate)
    with running_simulator(config) as sim:
        ready = time.process_time()
        conn.send(sim.base_url)
        conn.recv()
        # CPU spent serving, without the start-up (imports, TLS, schema).
        conn.send(time.process_time() - ready)


def dsn_file(index: int) -> bytes:
    """A small one-declaration DSN, different for every deposit (three employees)."""
    lines = [
        "S10.G00.00.001,'dsnlink'",
        "S10.G00.00.002,'dsnlink'",
        "S10.G00.00.003,'0.1'",
        "S10.G00.00.005,'01'",
        "S10.G00.00.006,'P26V01'",
        "S10.G00.00.008,'01'",
        "S10.G00.01.001,'999000003'",
        "S10.G00.01.002,'00015'",
        "S10.G00.01.003,'Association des Étangs'",
        "S20.G00.05.001,'01'",
        "S20.G00.05.002,'01'",
        "S20.G00.05.003,'11'",
        "S20.G00.05.004,'1'",
        "S20.G00.05.005,'01022026'",
        "S21.G00.06.001,'999000003'",
        "S21.G00.11.001,'00015'",
    ]
    for employee in range(3):
        nir = f"1850575{index * 3 + employee:06d}"
        lines += [f"S21.G00.30.001,'{nir}'", f"S21.G00.30.019,'M{index:05d}{employee}'"]
    lines += [f"S90.G00.90.001,'{len(lines) + 2}'", "S90.G00.90.002,'1'"]
    return ("\n".join(lines) + "\n").encode("latin-1")


@dataclass
class Figures:
    concurrency: int
    deposits: int
    deposit_seconds: float
    returns: int
    returns_seconds: float
    client_cpu: float
    server_cpu: float

    @property
    def deposits_per_second(self) -> float:
        return self.deposits / self.deposit_seconds


async def measure(
    base_url: str, n: int, concurrency: int, folder: Path
) -> tuple[float, int, float, float]:
    """(deposit seconds, returns, retrieval seconds, client CPU seconds of both phases)."""
    config = ClientConfig(Endpoints.single_base(base_url, service_code="25"))
    options = TransportOptions(max_connections=max(concurrency, 1))
    gate = asyncio.Semaphore(concurrency)
    async with AsyncPortalClient(config, options) as client:
        token = await client.authenticate(IDENTITY)

        async def deposit(index: int) -> str:
            async with gate:
                result = await client.deposit(token, dsn_file(index))
                return result.idflux

        started, cpu = time.perf_counter(), time.process_time()
        flows = await asyncio.gather(*(deposit(i) for i in range(n)))
        deposit_seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu

        async with httpx.AsyncClient() as admin:
            answer = await admin.post(f"{base_url}/_admin/clock", json={"advance": "4d"})
            answer.raise_for_status()

        async def retrieve(idflux: str) -> int:
            async with gate:
                records = await client.list_flow_returns(token, idflux)
                for record in records:
                    dest = folder / f"{record.idflux}-{record.return_id}.xml"
                    await client.download(token, record.url, dest)
                return len(records)

        started, cpu_started = time.perf_counter(), time.process_time()
        counts = await asyncio.gather(*(retrieve(f) for f in flows))
        cpu += time.process_time() - cpu_started
        return deposit_seconds, sum(counts), time.perf_counter() - started, cpu


def run_one(n: int, concurrency: int, latency: float, validate: bool) -> Figures:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve, args=(child, latency, validate), daemon=True)
    process.start()
    base_url = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        deposit_seconds, returns, returns_seconds, client_cpu = asyncio.run(
            measure(base_url, n, concurrency, Path(tmp))
        )
    parent.send("stop")
    server_cpu = parent.recv()
    process.join(timeout=30)
    return Figures(
        concurrency, n, deposit_seconds, returns, returns_seconds, client_cpu, server_cpu
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deposits", type=int, default=64)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per simulated call")
    parser.add_argument("--validate", action="store_true", help="simulator validates files")
    args = parser.parse_args(argv)
    configure_logging("WARNING")

    print(
        f"{args.deposits} deposits, then every return listed and downloaded; "
        f"{args.latency * 1000:.0f} ms per call on the simulator; async client; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    header = (
        f"{'conc':>4} {'dep/s':>8} {'ratio':>6} {'returns':>7} {'ret/s':>8} {'wall s':>7} "
        f"{'client CPU s':>12} {'client CPU %':>12} {'CPU ms/call':>11} {'server CPU s':>12} "
        f"{'load':>5}"
    )
    print(header)
    baseline: float | None = None
    for concurrency in args.concurrency:
        f = run_one(args.deposits, concurrency, args.latency, args.validate)
        baseline = baseline or f.deposits_per_second
        wall = f.deposit_seconds + f.returns_seconds
        # Calls: one deposit, one flow listing and one download per return, per deposit.
        calls = 2 * f.deposits + f.returns
        print(
            f"{f.concurrency:>4} {f.deposits_per_second:>8.1f} "
            f"{f.deposits_per_second / baseline:>5.1f}x {f.returns:>7} "
            f"{f.returns / f.returns_seconds:>8.1f} {wall:>7.2f} {f.client_cpu:>12.2f} "
            f"{100 * f.client_cpu / wall:>11.0f}% {1000 * f.client_cpu / calls:>11.2f} "
            f"{f.server_cpu:>12.2f} {os.getloadavg()[0]:>5.1f}"
        )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
