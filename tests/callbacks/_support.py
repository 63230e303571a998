"""Helpers for the callback tests: the model input, a client factory, waiting, signing."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import uvicorn
from waiting import wait_for

import kieframe
from kieframe.callbacks import CallbackHub, CallbackReceiver
from kieframe.lifecycle import PollPlan, RateLimits
from kieframe.testing._emulator import Emulator, Timing, sign_callback

T = TypeVar("T")

KEY = "webhook-secret"
#: Phases short enough for tests, long enough to be observed.
FAST = Timing(invisible=0.02, waiting=0.02, queuing=0.02, generating=0.05)
HAILUO = "hailuo/02-image-to-video-pro"
INPUT: dict[str, Any] = {
    "prompt": "a starship drifts above Saturn",
    "image_url": "https://example.com/start.png",
}
#: Longer than any test: a wait that polls at this interval never polls within a test.
NO_WATCHDOG = 600.0


def _options(
    emu: Emulator,
    callbacks: CallbackHub | CallbackReceiver | None,
) -> dict[str, Any]:
    return {
        "base_url": emu.base_url,
        "upload_base_url": emu.upload_base_url,
        "poll": PollPlan.every(0.05),
        "rate_limits": RateLimits.off(),
        "callbacks": callbacks,
    }


def client(
    emu: Emulator,
    callbacks: CallbackHub | CallbackReceiver | None = None,
) -> kieframe.Client:
    """A blocking client for ``emu`` with no client-side rate limits."""
    return kieframe.Client(Emulator.API_KEY, **_options(emu, callbacks))


def async_client(
    emu: Emulator,
    callbacks: CallbackHub | CallbackReceiver | None = None,
) -> kieframe.AsyncClient:
    """An asyncio client for ``emu`` with no client-side rate limits."""
    return kieframe.AsyncClient(Emulator.API_KEY, **_options(emu, callbacks))


def signed_headers(task_id: str, *, at: float | None = None, key: str = KEY) -> dict[str, str]:
    """kie.ai's signature headers for ``task_id`` at Unix time ``at`` (default: now)."""
    timestamp = str(int(time.time() if at is None else at))
    return {
        "content-type": "application/json",
        "x-webhook-timestamp": timestamp,
        "x-webhook-signature": sign_callback(key, task_id, timestamp),
    }


def record_count(emu: Emulator) -> int:
    """How many recordInfo requests reached the emulator."""
    return emu.stats.requests.get("recordInfo", 0)


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve any ASGI ``app`` with uvicorn on a free loopback port; yield its root URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    try:
        wait_for(lambda: server.started)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
