"""The simulator's ASGI app: one port, path routing, faults around the API-DSN routes.

``create_app(config)`` builds a fresh :class:`Simulator`; ``create_app(simulator=...)`` serves
an existing one (the server object and tests share it to control the clock, faults...).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from dsnlink.simulator import admin
from dsnlink.simulator.accounts import Identity
from dsnlink.simulator.config import FaultRule, SimulatorConfig
from dsnlink.simulator.http import (
    Reply,
    accepts_gzip,
    empty,
    reset_connection,
    send_reply,
    wait_for_disconnect,
)
from dsnlink.simulator.routes import HANDLERS, match_route, parse_identifiants
from dsnlink.simulator.service import Simulator
from dsnlink.simulator.tokens import parse_authorization


class SimulatorApp:
    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        sim = self.simulator
        if request.url.path == admin.PREFIX or request.url.path.startswith(admin.PREFIX + "/"):
            await send_reply(send, await admin.handle(sim, request), gzip_body=False)
            return
        route, params, other_method = match_route(request.method, request.url.path)
        if route is None:
            reply = empty(405 if other_method else 404)
            sim.log_request(request.method, "unknown", reply.status, None)
            await send_reply(send, reply, gzip_body=False)
            return
        await self._serve(request, route, params, send, receive)

    async def _serve(
        self, request: Request, route: str, params: tuple[str, ...], send: Send, receive: Receive
    ) -> None:
        identity = await self._identity_of(request, route)
        if identity is None:
            await self._answer(request, route, params, send, receive)
            return
        self.simulator.activity.begin(identity)
        try:
            await self._answer(request, route, params, send, receive)
        finally:
            self.simulator.activity.end(identity)

    async def _identity_of(self, request: Request, route: str) -> str | None:
        """The identity a request acts for, for the per-identity overlap records."""
        if route == "authenticate":
            _, fields = parse_identifiants(await request.body())
            if {"siret", "nom", "prenom"} <= fields.keys():
                return Identity(fields["siret"], fields["nom"], fields["prenom"]).label()
            return None
        credentials = parse_authorization(request.headers.get("authorization"))
        if credentials is None:
            return None
        owners = self.simulator.activity.token_owner
        owner = owners.get(credentials.token)
        if owner is None:
            session = self.simulator.tokens.resolve(credentials.token, self.simulator.now())
            if session is None:
                return None
            owner = owners[credentials.token] = session.identity.label()
        return owner

    async def _answer(
        self, request: Request, route: str, params: tuple[str, ...], send: Send, receive: Receive
    ) -> None:
        sim = self.simulator
        gzip_ok = accepts_gzip(request) is True
        maintenance = sim.faults.maintenance_status(route, sim.now())
        if maintenance is not None:
            await self._record_fault_attempt(request, route, "maintenance")
            sim.log_request(request.method, route, maintenance, "maintenance")
            await send_reply(send, empty(maintenance), gzip_body=False)
            return
        rule = sim.faults.pick(route)
        fault = rule.kind if rule else None
        if rule is not None and rule.when == "before":
            if rule.kind in ("status", "hang", "reset"):
                await self._record_fault_attempt(request, route, rule.kind)
                reply = _fault_status(rule) if rule.kind == "status" else Reply(0)
                await self._finish(request, route, reply, rule, send, receive, gzip_ok)
                return
            if rule.kind == "slow":
                await asyncio.sleep(rule.delay_seconds)
        reply = await HANDLERS[route](sim, request, params)
        if rule is not None and (rule.when == "after" or rule.kind in ("truncate", "malformed")):
            if rule.kind == "slow" and rule.when == "after":
                await asyncio.sleep(rule.delay_seconds)
            elif rule.kind == "status":
                reply = _fault_status(rule)
            elif rule.kind in ("hang", "reset"):
                reply = Reply(0)
            elif rule.kind == "truncate" and reply.body:
                reply.body = reply.body[: max(1, len(reply.body) // 2)]
            elif rule.kind == "malformed" and reply.body:
                reply.body = reply.body.rstrip()[:-1] + b"<<&"
        await self._finish(request, route, reply, rule, send, receive, gzip_ok, fault)

    async def _finish(
        self,
        request: Request,
        route: str,
        reply: Reply,
        rule: FaultRule | None,
        send: Send,
        receive: Receive,
        gzip_ok: bool,
        fault: str | None = None,
    ) -> None:
        sim = self.simulator
        fault = fault or (rule.kind if rule else None)
        if reply.status == 0:
            assert rule is not None
            sim.log_request(request.method, route, 0, rule.kind)
            if rule.kind == "hang" and await wait_for_disconnect(receive, sim.config.hang_seconds):
                return
            reset_connection(send)
            # Let the server notice the closed connection before this call returns, so that it
            # does not try to answer on it.
            for _ in range(3):
                await asyncio.sleep(0)
            return
        sim.log_request(request.method, route, reply.status, fault)
        await send_reply(send, reply, gzip_body=gzip_ok)

    async def _record_fault_attempt(self, request: Request, route: str, kind: str) -> None:
        """An authentication the platform did not process still counts as an attempt."""
        if route != "authenticate":
            return
        _, fields = parse_identifiants(await request.body())
        identity = None
        if {"siret", "nom", "prenom"} <= fields.keys():
            identity = Identity(fields["siret"], fields["nom"], fields["prenom"])
        self.simulator.record_attempt(identity, fields.get("service"), f"fault:{kind}")


def _fault_status(rule: FaultRule) -> Reply:
    if rule.headers is not None:
        return Reply(rule.status, headers=dict(rule.headers))
    if rule.status == 429:
        return empty(429, Accept_Ranges="minutes=0-60")
    return empty(rule.status)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message: Any = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(
    config: SimulatorConfig | None = None, *, simulator: Simulator | None = None
) -> SimulatorApp:
    return SimulatorApp(simulator or Simulator(config))
