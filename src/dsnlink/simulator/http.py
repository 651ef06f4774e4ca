"""HTTP plumbing of the simulator: replies, content negotiation, sending, dropping connections."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.types import Receive, Send


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def empty(status: int, **headers: str) -> Reply:
    """An error answer: the platform sends no body with them."""
    return Reply(status, headers={k.replace("_", "-"): v for k, v in headers.items()})


def http_date(instant: datetime) -> str:
    return format_datetime(instant, usegmt=True)


def expires_in(now: datetime, seconds: int) -> str:
    return http_date(now + timedelta(seconds=seconds))


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def accepts_gzip(request: Request) -> bool | None:
    """True/False when ``Accept-Encoding`` is sent (allows gzip or not); None when absent."""
    header = request.headers.get("accept-encoding")
    if header is None:
        return None
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip().lower()
        if name not in ("gzip", "*"):
            continue
        quality = params.strip().lower()
        if quality.startswith("q="):
            try:
                if float(quality[2:]) == 0:
                    continue
            except ValueError:
                continue
        return True
    return False


async def send_reply(send: Send, reply: Reply, *, gzip_body: bool) -> None:
    body = reply.body
    headers: list[tuple[bytes, bytes]] = []
    if reply.content_type is not None:
        headers.append((b"content-type", reply.content_type.encode("latin-1")))
    if body and gzip_body:
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers.append((b"content-encoding", b"gzip"))
        headers.append((b"vary", b"Accept-Encoding"))
    headers.extend(
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()
    )
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ConnectionDropped(ConnectionResetError):
    """Raised in process (no socket to reset) so that the client sees a broken connection."""


def reset_connection(send: Send) -> None:
    """Drop the TCP connection with a RST, as a crashing proxy or platform would.

    uvicorn's ``send`` is a bound method of its request cycle, which holds the transport; when
    there is none (an in-process ASGI client) the error is raised instead.
    """
    transport: Any = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionDropped("simulated connection reset")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def wait_for_disconnect(receive: Receive, limit: float) -> bool:
    """Wait (at most ``limit`` seconds) for the client to give up; True if it did."""

    async def _wait() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    try:
        await asyncio.wait_for(_wait(), timeout=limit)
    except TimeoutError:
        return False
    return True
