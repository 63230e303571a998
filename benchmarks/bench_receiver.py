"""Callbacks under a burst: kieframe's receiver against a bare Starlette endpoint on uvicorn.

Each endpoint runs in its own process (:mod:`._apps`); this process fires a burst of signed
callbacks for distinct tasks over 50 connections and counts acknowledgements per second and
503s. The receiver re-reads every callback, its default, within kie.ai's read budget; it is
measured with its queue in memory (its default) and in a spool file (acknowledged once a group
commit put it on disk, or handed it to the operating system with ``spool_fsync=False``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count

import httpx

from ._apps import KEY
from ._common import Figure, alternate, python_cmd

_burst_ids = count()
_LENGTH = re.compile(rb"content-length: *([0-9]+)", re.IGNORECASE)


def _request(task_id: str) -> bytes:
    """One signed callback for ``task_id`` as it goes on the wire."""
    stamp = str(int(time.time()))
    digest = hmac.new(KEY.encode(), f"{task_id}.{stamp}".encode(), hashlib.sha256).digest()
    data = {"taskId": task_id, "model": "wan/2-5-image-to-video", "state": "success",
            "resultJson": json.dumps({"resultUrls": ["https://example.com/v.mp4"]})}  # fmt: skip
    body = json.dumps({"code": 200, "msg": "success", "data": data}).encode()
    head = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Webhook-Timestamp: {stamp}\r\n"
        f"X-Webhook-Signature: {base64.b64encode(digest).decode()}\r\n\r\n"
    )
    return head.encode() + body


async def _sender(port: int, requests: list[bytes], statuses: list[int]) -> None:
    """Send ``requests`` one after another on one keep-alive connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for request in requests:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = _LENGTH.search(head)
        await reader.readexactly(int(length.group(1)) if length else 0)
        statuses.append(int(head[9:12]))
    writer.close()
    await writer.wait_closed()


async def _burst(port: int, size: int) -> tuple[float, int]:
    """Acknowledgements per second for ``size`` callbacks at once, and how many got a 503.

    A raw HTTP/1.1 sender on 50 connections: a load generator much lighter than the servers,
    so that the figure is the server's.
    """
    burst = next(_burst_ids)
    requests = [_request(f"b{burst}t{n}") for n in range(size)]
    statuses: list[int] = []
    start = time.perf_counter()
    await asyncio.gather(*(_sender(port, requests[n::50], statuses) for n in range(50)))
    elapsed = time.perf_counter() - start
    return statuses.count(200) / elapsed, statuses.count(503)


@contextmanager
def _served(kind: str) -> Iterator[int]:
    process = subprocess.Popen(
        python_cmd("-m", "benchmarks._apps", kind), stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield port
    finally:
        process.kill()  # no drain of the receiver's queue: the burst is measured already
        process.wait(10)


def _measure(size: int, port: int, shed: dict[str, int], kind: str) -> Callable[[], float]:
    """A measurement: acks/s of one burst on ``port``; its 503s are added to ``shed[kind]``."""

    def once() -> float:
        rate, refused = asyncio.run(_burst(port, size))
        shed[kind] += refused
        return rate

    return once


def run(*, quick: bool) -> list[Figure]:
    size = 1_000 if quick else 5_000
    repeat = 2 if quick else 3
    figures = []
    queues = {
        "receiver": "in memory",
        "receiver-spool": "spooled, fsync",
        "receiver-spool-nofsync": "spooled, no fsync",
    }
    for kind, queue in queues.items():
        shed: dict[str, int] = {kind: 0, "starlette": 0}
        with _served(kind) as ours, _served("starlette") as theirs:
            mine, other = alternate(
                repeat, _measure(size, ours, shed, kind), _measure(size, theirs, shed, "starlette")
            )
        figures.append(
            Figure(
                f"callbacks, a burst of {size} (re-read on, queue {queue})",
                "acks/s",
                mine,
                "bare Starlette on uvicorn",
                other,
                (">=", 0.8),
                note=f"503s: {shed[kind]} vs {shed['starlette']}",
            )
        )
    return figures
