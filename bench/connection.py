"""Benchmark of the connection test on loopback.

For each mode (Normal, Étendu, Sécurisé): an all-green run against the simulator over HTTPS
(authentication, deposit and listings hosts, one real login through the portal client) and a
local HTTPS update feed; and a run where the authentication host accepts connections and never
answers (black-holed).
Targets: all green under 1 s; black-holed within the mode's timeout + 10 % (steps run
concurrently, so one timeout, not the sum of them).

    python -m bench.connection            # the modes' real timeouts (10 s, 30 s, 10 s)
    python -m bench.connection --quick    # timeouts scaled down to 1 s (CI short mode)

The black-holed runs of the three modes run at the same time, each timed on its own.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import trustme
from pydantic import SecretStr
from tests.support.netservers import Route, black_hole, https_server

from dsnlink.connectivity.host_steps import TargetHost
from dsnlink.connectivity.portal_bridge import portal_authenticator, portal_hosts
from dsnlink.connectivity.settings import MODE_PROFILES, ConnectionMode, resolve
from dsnlink.connectivity.test import IdentityUnderTest, run_connection_test
from dsnlink.logs import configure_logging
from dsnlink.portal.core import ClientConfig
from dsnlink.portal.endpoints import Endpoints
from dsnlink.simulator.server import running_simulator

GREEN_TARGET = 1.0
FEED = "/pypi/dsnlink/json"


ACCOUNT = {
    "siret": "73282932000074",
    "nom": "DUPONT",
    "prenom": "JEAN",
    "password": "Bench-pass-01",
}
WHO = IdentityUnderTest(
    login="bench",
    siret=ACCOUNT["siret"],
    nom=ACCOUNT["nom"],
    prenom=ACCOUNT["prenom"],
    password=SecretStr(ACCOUNT["password"]),
)


def _targets(endpoints: Endpoints, auth_url: str | None = None) -> list[TargetHost]:
    hosts = portal_hosts(endpoints)
    if auth_url is not None:
        hosts[0] = TargetHost("auth", hosts[0].label, auth_url)
    return hosts


def _settings(feed_url: str, bundle: Path, mode: ConnectionMode, quick: bool) -> Any:
    stored: dict[str, Any] = {
        "type": "direct",
        "mode": mode.value,
        "ca_bundle": str(bundle),
        "update_feed_url": feed_url,
    }
    if quick:
        stored["connect_timeout"] = 1.0
    return resolve(stored)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 s timeouts instead of the modes'")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    configure_logging("WARNING")

    ca = trustme.CA()
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, running_simulator(tls=True) as sim:
        sim.add_account(ACCOUNT)
        assert sim.ca_pem is not None
        bundle = Path(tmp) / "ca.pem"
        bundle.write_bytes(sim.ca_pem.read_bytes() + ca.cert_pem.bytes())
        endpoints = Endpoints.single_base(sim.base_url, service_code="25")
        config = ClientConfig(endpoints=endpoints)
        feed = json.dumps({"info": {"version": "0.0.1"}}).encode()
        with https_server(ca.issue_cert("localhost"), {FEED: Route(200, feed)}) as server:
            feed_url = server.url(FEED)
            for mode in ConnectionMode:
                conn = _settings(feed_url, bundle, mode, args.quick)
                auth = portal_authenticator(conn, config, ca_is_simulator=True)
                timings = []
                for _ in range(4):  # the first run is cold (imports, trust stores)
                    started = time.perf_counter()
                    report = run_connection_test(
                        conn, _targets(endpoints), identity=WHO, authenticate=auth
                    )
                    timings.append(time.perf_counter() - started)
                    if not report.all_green:
                        raise SystemExit(f"not all green in {mode.value}: {report.to_dict()}")
                warm = statistics.median(timings[1:])
                figures.append(
                    {
                        "run": "all-green",
                        "mode": mode.value,
                        "seconds": round(warm, 3),
                        "cold_seconds": round(timings[0], 3),
                        "target": GREEN_TARGET,
                        "ratio": round(warm / GREEN_TARGET, 3),
                        "all_green": True,
                    }
                )
            with black_hole() as port:
                auth_url = f"https://localhost:{port}/authentifier/1.0/"
                results: dict[str, tuple[float, Any]] = {}

                def holed(mode: ConnectionMode) -> None:
                    conn = _settings(feed_url, bundle, mode, args.quick)
                    auth = portal_authenticator(conn, config, ca_is_simulator=True)
                    started = time.perf_counter()
                    report = run_connection_test(
                        conn, _targets(endpoints, auth_url), identity=WHO, authenticate=auth
                    )
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
                            "logins": report.context["authentication_attempts"],
                        }
                    )
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"{'run':<18} {'mode':<9} {'seconds':>8} {'target':>7} {'ratio':>6}  note")
        for f in figures:
            if f["run"] == "all-green":
                note = f"3 coches vertes, 1 authentification (1er passage : {f['cold_seconds']} s)"
            else:
                note = f"échec : {f['failed_step']}, {f['logins']} authentification"
            print(
                f"{f['run']:<18} {f['mode']:<9} {f['seconds']:>8.3f} {f['target']:>7.2f} "
                f"{f['ratio']:>6.2f}  {note}"
            )
    return 0 if all(f["ratio"] <= 1.0 for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
