"""The pipeline's view of the simulator's clock: read over HTTP, never queued behind a read."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dsnlink.pipeline.setup import SimulatorClock


class _ClockServer:
    """A control API answering ``now`` = real time + ``offset``; a read can be held."""

    def __init__(self) -> None:
        self.offset = timedelta(days=3)
        self.reads = 0
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # connections kept alive, as by the simulator

            def do_GET(self) -> None:
                outer.reads += 1
                outer.entered.set()
                outer.hold.wait(10)
                body = json.dumps({"now": (datetime.now(UTC) + outer.offset).isoformat()})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture()
def clock_server() -> Iterator[_ClockServer]:
    server = _ClockServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.hold.set()
    server.server.shutdown()
    server.server.server_close()


def _days_ahead(moment: datetime) -> float:
    return (moment - datetime.now(UTC)) / timedelta(days=1)


def test_follows_the_simulator_and_reads_at_most_once_per_refresh(
    clock_server: _ClockServer,
) -> None:
    clock = SimulatorClock(clock_server.url, refresh=60)
    try:
        assert 2.99 < _days_ahead(clock.now()) < 3.01
        clock.now()
        clock.now()
        assert clock_server.reads == 1
    finally:
        clock.close()


def test_other_threads_keep_the_last_offset_while_one_reads(clock_server: _ClockServer) -> None:
    clock = SimulatorClock(clock_server.url, refresh=0)
    try:
        clock.now()  # the first read is waited for by everyone
        clock_server.offset = timedelta(days=10)
        clock_server.hold.clear()
        clock_server.entered.clear()
        reader = threading.Thread(target=clock.now)
        reader.start()
        assert clock_server.entered.wait(5)
        # a read is in flight and held: this thread does not wait for it
        assert 2.99 < _days_ahead(clock.now()) < 3.01
        clock_server.hold.set()
        reader.join(5)
        assert 9.99 < _days_ahead(clock.now()) < 10.01
    finally:
        clock_server.hold.set()
        clock.close()


def test_a_clock_never_closed_closes_its_connection_when_collected(
    clock_server: _ClockServer,
) -> None:
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        clock = SimulatorClock(clock_server.url, refresh=60)
        clock.now()
        del clock
        gc.collect()
