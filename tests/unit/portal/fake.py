"""A scriptable stand-in for the portal behind ``httpx.MockTransport``, for unit tests.

Each route answers from a queue of scripted answers (the last one repeats) and records every
request it saw, so tests can count logins and deposits exactly.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from dsnlink.portal import ClientConfig, Endpoints, TransportOptions

BASE = "https://portal.test"
TOKEN = "CANARY-t0ken-" + "A" * 40
Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakePortal:
    routes: dict[str, list[Handler | httpx.Response]] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    delay: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, prefix: str, *answers: Handler | httpx.Response) -> FakePortal:
        self.routes[prefix] = list(answers)
        return self

    def count(self, prefix: str) -> int:
        return sum(1 for r in self.seen if r.url.path.startswith(prefix))

    def paths(self, prefix: str = "/") -> list[str]:
        return [r.url.path for r in self.seen if r.url.path.startswith(prefix)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        with self._lock:
            self.seen.append(request)
            self.bodies.append(body)
        if self.delay:
            time.sleep(self.delay)
        for prefix in sorted(self.routes, key=len, reverse=True):
            if request.url.path.startswith(prefix):
                with self._lock:
                    queue = self.routes[prefix]
                    answer = queue.pop(0) if len(queue) > 1 else queue[0]
                return answer(request) if callable(answer) else answer
        return httpx.Response(404)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def async_transport(self, delay: float = 0.01) -> httpx.MockTransport:
        """For async clients: each answer really suspends, so tasks interleave."""

        async def handler(request: httpx.Request) -> httpx.Response:
            await request.aread()
            await asyncio.sleep(delay)
            return self(request)

        return httpx.MockTransport(handler)


def token_answer(token: str = TOKEN) -> httpx.Response:
    return httpx.Response(
        200, content=token.encode(), headers={"Content-Type": "application/octet-stream"}
    )


def unauthorized(realm: str, scheme: str = "Basic") -> httpx.Response:
    return httpx.Response(401, headers={"WWW-Authenticate": f'{scheme} realm="{realm}"'})


def xml(status: int, body: bytes | str, **headers: str) -> httpx.Response:
    data = body.encode() if isinstance(body, str) else body
    return httpx.Response(
        status,
        content=gzip.compress(data),
        headers={"Content-Type": "application/xml", "Content-Encoding": "gzip", **headers},
    )


def raising(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def config(**overrides: object) -> ClientConfig:
    endpoints = Endpoints.single_base(BASE)
    values: dict[str, object] = {"endpoints": endpoints, **overrides}
    return ClientConfig(**values)  # type: ignore[arg-type]


OPTIONS = TransportOptions(get_attempts=3, retry_budget=5.0)
