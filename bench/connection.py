"""Benchmark of the connection test on loopback.

For each mode (Normal, Étendu, Sécurisé): an all-green run against local HTTPS servers, and a
run where the authentication host accepts connections and never answers (black-holed).
Targets: all green under 1 s; black-holed within the mode's timeout + 10 % (steps run
concurrently, so one timeout, not the sum of them).

    python -m bench.connection            # the modes' real timeouts (10 s, 30 s, 10 s)
    python -m bench.connection --quick    # timeouts scaled down to 1 s (CI short mode)

The black-holed runs of the three modes run at the same time, each timed on its own.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import trustme
from tests.support.netservers import HttpsServer, Route, black_hole, https_server

from dsnlink.connectivity.host_steps import TargetHost
from dsnlink.connectivity.settings import MODE_PROFILES, ConnectionMode, resolve
from dsnlink.connectivity.test import run_connection_test

GREEN_TARGET = 1.0
FEED = "/pypi/dsnlink/json"


def _targets(server: HttpsServer, auth_url: str | None = None) -> list[TargetHost]:
    return [
        TargetHost("auth", "Authentification", auth_url or server.url("/authentifier/1.0/")),
        TargetHost("deposit", "Dépôt", server.url("/deposer-dsn/1.0/")),
        TargetHost("listings", "Consultation", server.url("/lister-depots/1.0/")),
    ]


def _settings(server: HttpsServer, bundle: Path, mode: ConnectionMode, quick: bool) -> Any:
    stored: dict[str, Any] = {
        "type": "direct",
        "mode": mode.value,
        "ca_bundle": str(bundle),
        "update_feed_url": server.url(FEED),
    }
    if quick:
        stored["connect_timeout"] = 1.0
    return resolve(stored)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 s timeouts instead of the modes'")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    ca = trustme.CA()
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        feed = json.dumps({"info": {"version": "0.0.1"}}).encode()
        with https_server(ca.issue_cert("localhost"), {FEED: Route(200, feed)}) as server:
            for mode in ConnectionMode:
                conn = _settings(server, bundle, mode, args.quick)
                run_connection_test(conn, _targets(server))  # warm-up (imports, trust store)
                started = time.perf_counter()
                report = run_connection_test(conn, _targets(server))
                elapsed = time.perf_counter() - started
                figures.append(
                    {
                        "run": "all-green",
                        "mode": mode.value,
                        "seconds": round(elapsed, 3),
                        "target": GREEN_TARGET,
                        "ratio": round(elapsed / GREEN_TARGET, 3),
                        "all_green_network": report.marks[0].status.value == "ok"
                        and report.marks[1].status.value == "ok",
                    }
                )
            with black_hole() as port:
                auth_url = f"https://localhost:{port}/authentifier/1.0/"
                results: dict[str, tuple[float, Any]] = {}

                def holed(mode: ConnectionMode) -> None:
                    conn = _settings(server, bundle, mode, args.quick)
                    started = time.perf_counter()
                    report = run_connection_test(conn, _targets(server, auth_url))
                    results[mode.value] = (time.perf_counter() - started, report)

                threads = [threading.Thread(target=holed, args=(m,)) for m in ConnectionMode]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                for mode in ConnectionMode:
                    elapsed, report = results[mode.value]
                    timeout = 1.0 if args.quick else MODE_PROFILES[mode].connect_timeout
                    target = timeout * 1.1
                    figures.append(
                        {
                            "run": "auth-black-holed",
                            "mode": mode.value,
                            "seconds": round(elapsed, 3),
                            "timeout": timeout,
                            "target": round(target, 3),
                            "ratio": round(elapsed / target, 3),
                            "failed_step": next(
                                (s.id for s in report.steps if s.status.value == "failure"), None
                            ),
                        }
                    )
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"{'run':<18} {'mode':<9} {'seconds':>8} {'target':>7} {'ratio':>6}  note")
        for f in figures:
            note = (
                "réseau tout vert"
                if f.get("all_green_network")
                else f"échec : {f.get('failed_step')}"
                if f["run"] != "all-green"
                else "PAS VERT"
            )
            print(
                f"{f['run']:<18} {f['mode']:<9} {f['seconds']:>8.3f} {f['target']:>7.2f} "
                f"{f['ratio']:>6.2f}  {note}"
            )
    return 0 if all(f["ratio"] <= 1.0 for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
