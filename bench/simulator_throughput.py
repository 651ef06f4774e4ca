"""How many listings and deposits per second the simulator sustains on loopback.

The simulator runs as its own process (``dsnlink simulator serve``), loaded by an asyncio httpx
client at several concurrencies. Baseline: the same uvicorn/h11 stack serving an empty ASGI
app (the ceiling any route of the simulator can reach on this machine); the ratio says how
much of that ceiling the simulator's work leaves.

    python bench/simulator_throughput.py [--requests 400] [--concurrency 1,8,32] [--state FILE]

"client CPU" is the share of one core the load generator itself used: near 100 % means the
client, not the simulator, was the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.simulator_helpers import AUTH_HEADERS, auth_body, bearer, deposit_headers, small_dsn  # noqa: E402

_BARE_APP = """
import sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/xml")]})
    await send({"type": "http.response.body", "body": b"<retours></retours>"})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http="h11", log_level="warning",
            access_log=False)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/_admin/clock", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start")


def _start(args: list[str], port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL)
    _wait_up(f"http://127.0.0.1:{port}")
    return process


async def _run(
    count: int,
    concurrency: int,
    call: Callable[[httpx.AsyncClient, int], Awaitable[int]],
    url: str,
) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        queue = iter(range(count))
        failures = 0

        async def worker() -> None:
            nonlocal failures
            for index in queue:
                if await call(client, index) >= 400:
                    failures += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - start), failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--state", type=Path, help="SQLite state file (default: in memory)")
    options = parser.parse_args()
    levels = [int(c) for c in options.concurrency.split(",")]

    bare_port, sim_port = _free_port(), _free_port()
    bare = _start([sys.executable, "-c", _BARE_APP, str(bare_port)], bare_port)
    serve = [sys.executable, "-m", "dsnlink", "simulator", "serve", "--port", str(sim_port)]
    if options.state:
        serve += ["--state", str(options.state)]
    sim = _start(serve, sim_port)
    url = f"http://127.0.0.1:{sim_port}"
    try:
        token = httpx.post(
            url + "/authentifier/1.0/", content=auth_body(), headers=AUTH_HEADERS
        ).text
        dsn = gzip.compress(small_dsn())
        headers = deposit_headers(token)
        auth = bearer(token)
        start = (datetime.now(ZoneInfo("Europe/Paris")) - timedelta(minutes=59)).strftime(
            "%Y%m%d%H%M%S"
        )

        async def do_deposit(client: httpx.AsyncClient, _: int) -> int:
            return (
                await client.post("/deposer-dsn/1.0/", content=dsn, headers=headers)
            ).status_code

        async def do_window(client: httpx.AsyncClient, _: int) -> int:
            path = f"/lister-retours-declarant/1.0/{start}"
            return (await client.get(path, headers=auth)).status_code

        async def do_flow(client: httpx.AsyncClient, _: int) -> int:
            return (
                await client.get(f"/lister-retours-flux/1.0/{idflux}", headers=auth)
            ).status_code

        async def do_bare(client: httpx.AsyncClient, _: int) -> int:
            return (await client.get("/")).status_code

        # A few deposits first, so that listings return something (20 flows in the window).
        asyncio.run(_run(20, 4, do_deposit, url))
        idflux = httpx.get(url + "/_admin/deposits").json()["deposits"][0]["idflux"]
        results: dict[str, dict[int, float]] = {}
        bare_url = f"http://127.0.0.1:{bare_port}"
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
        print(
            f"{'operation':<24}{'conc.':>6}{'per s':>10}{'x conc.1':>10}{'/ bare':>9}"
            f"{'client CPU':>12}  failures"
        )
        # Deposits last: each one adds a flow to the declarant's window.
        for name, call, target in (
            ("bare ASGI (baseline)", do_bare, bare_url),
            ("returns of one flow", do_flow, url),
            ("returns, 20-flow window", do_window, url),
            ("deposit", do_deposit, url),
        ):
            for level in levels:
                cpu, wall = time.process_time(), time.perf_counter()
                rate, failures = asyncio.run(_run(options.requests, level, call, target))
                client_cpu = (time.process_time() - cpu) / (time.perf_counter() - wall)
                results.setdefault(name, {})[level] = rate
                first = results[name][levels[0]]
                base = results["bare ASGI (baseline)"].get(level, rate)
                print(
                    f"{name:<24}{level:>6}{rate:>10.0f}{rate / first:>10.2f}{rate / base:>9.2f}"
                    f"{client_cpu:>11.0%}  {failures}"
                )
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        summary = httpx.get(url + "/_admin/").json()
        print(
            json.dumps(
                {"deposits_recorded": summary["deposits"], "duplicates": summary["duplicates"]}
            )
        )
    finally:
        for process in (sim, bare):
            process.terminate()
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
