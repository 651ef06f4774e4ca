"""Mail and webhook receivers on 127.0.0.1, for tests of alerts.

- :func:`smtp_server`: a real SMTP server (aiosmtpd) that keeps every mail it accepts.
- :func:`webhook_server`: an HTTP server that keeps the JSON body of every POST.

Both run in a background thread and stop at the end of their ``with``.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, cast


@dataclass(frozen=True)
class ReceivedMail:
    """One mail as the server got it: envelope recipients, raw bytes and parsed message."""

    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return cast(EmailMessage, message_from_bytes(self.content, policy=policy.default))

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        """The plain-text body."""
        body = self.message.get_body(("plain",))
        assert body is not None, "mail without a text body"
        return str(cast(EmailMessage, body).get_content())


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[ReceivedMail] = field(default_factory=list)

    def subjects(self) -> list[str]:
        return [m.subject for m in self.messages]

    # aiosmtpd handler hook: called once per accepted mail.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(ReceivedMail(list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    # aiosmtpd's Controller needs a port up front (it probes its own server on start).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 that accepts every mail into the yielded :class:`Mailbox`."""
    from aiosmtpd.controller import Controller

    box = Mailbox("127.0.0.1", _free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@dataclass
class Webhook:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def webhook_server(path: str = "/hook") -> Iterator[Webhook]:
    """An HTTP server on 127.0.0.1 that answers 204 to every POST and keeps its JSON body."""
    hook = Webhook("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
