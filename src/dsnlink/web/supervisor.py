"""The web processes of ``dsnlink serve --workers N``, each with its own listening socket.

uvicorn's supervisor hands every process the same listening socket, and asyncio accepts every
pending connection at once when it wakes: the process that wakes first takes a whole burst of
new connections, and keeps them (browsers and clients keep their connections alive). Measured
with 8 connections over 4 processes: one process did 70 % of the work, another none. On Linux,
each process gets a socket of its own on the same port (``SO_REUSEPORT``), and the kernel
spreads the new connections over them. Elsewhere, or if the option is refused, the one
shared socket is used as uvicorn would.

The port is first bound without the option, as a single server would: a port already in use
(another ``dsnlink serve`` among them) is refused exactly as before, rather than shared.
"""

from __future__ import annotations

import socket
import sys

from uvicorn.config import Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process


def listening_sockets(config: Config, count: int) -> list[socket.socket]:
    """``count`` sockets on ``config``'s address, spread by the kernel; or uvicorn's one."""
    reuse_port = getattr(socket, "SO_REUSEPORT", None)
    if count < 2 or reuse_port is None or not sys.platform.startswith("linux"):
        return [config.bind_socket()]
    probe = config.bind_socket()  # exits as uvicorn does if the port is taken
    family = probe.family
    probe.close()
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, reuse_port, 1)
            sock.bind((config.host, config.port))
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        return [config.bind_socket()]
    return sockets


class SpreadMultiprocess(Multiprocess):
    """uvicorn's supervisor, starting process ``i`` on socket ``i`` when there is one socket per
    process. A process started again after a crash listens on every socket: correct, only
    less evenly spread."""

    def init_processes(self) -> None:
        for index in range(self.processes_num):
            mine = self.sockets
            if len(self.sockets) == self.processes_num:
                mine = [self.sockets[index]]
            process = Process(self.config, mine)
            process.start()
            self.processes.append(process)
