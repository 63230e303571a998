"""What the in-process servers share: a bound TCP socket, and waiting for uvicorn to start.

Both the emulator and :class:`~kieframe.CallbackServer` serve from a background thread on a socket
bound here, so ``port=0`` gives a free port that is known before the server starts.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Protocol

__all__ = ["bind", "wait_until_started"]


class _Server(Protocol):
    started: bool


def bind(host: str, port: int) -> tuple[socket.socket, str]:
    """A TCP socket bound to ``host:port`` (0 for a free port), and its root URL."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns Nagle off only on sockets that say they are TCP.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound = sock.getsockname()[1]
    return sock, (f"http://[{host}]:{bound}" if ":" in host else f"http://{host}:{bound}")


def wait_until_started(server: _Server, thread: threading.Thread, *, timeout: float) -> bool:
    """Wait until ``server`` (serving in ``thread``) accepts connections; False if it never does."""
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True
