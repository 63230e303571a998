"""Helpers shared by the emulator tests: request bodies, waiting, a callback receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
from waiting import wait_for

from kieframe.testing._emulator import Emulator, Timing

T = TypeVar("T")

#: Phases short enough for tests, long enough to be observed.
FAST = Timing(invisible=0.02, waiting=0.02, queuing=0.02, generating=0.05)
#: A task that stays invisible for the whole test.
HIDDEN = Timing(invisible=600)

HAILUO = "hailuo/02-image-to-video-pro"
VALID_INPUT: dict[str, Any] = {
    "prompt": "a starship drifts above Saturn",
    "image_url": "https://example.com/start.png",
}
HEADERS = {"Authorization": f"Bearer {Emulator.API_KEY}", "User-Agent": "kieframe-tests/1"}


def create_body(**extra: Any) -> dict[str, Any]:
    """A valid createTask body for the Hailuo model."""
    return {"model": HAILUO, "input": dict(VALID_INPUT), **extra}


def create_task(client: httpx.Client, **extra: Any) -> str:
    """Create a task and return its id."""
    answer = client.post("/api/v1/jobs/createTask", json=create_body(**extra)).json()
    assert answer["code"] == 200, answer
    task_id: str = answer["data"]["taskId"]
    return task_id


def finished_record(emulator: Emulator, task_id: str) -> dict[str, Any]:
    """Wait until the task is terminal and return its record."""
    return wait_for(
        lambda: (
            (rec := emulator.record(task_id)) is not None
            and rec["state"] in ("success", "fail")
            and rec
        )
    )


@dataclass(frozen=True)
class Received:
    """One request the callback receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A stdlib HTTP server on loopback that records every POST and answers 200."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver._received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/kie/callback"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def received(self) -> list[Received]:
        """Requests so far."""
        with self._lock:
            return list(self._received)

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        """Serve while the block runs."""
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()


#: What a client sees when the server cuts the connection: a clean EOF mid-response, or a reset
#: (the server closed with the request body still unread).
CONNECTION_CUT = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
