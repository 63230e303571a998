"""Task callbacks: scheduled on the server loop, signed, duplicated or lost on demand, logged."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import random
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import msgspec

from ._records import CallbackAttempt

__all__ = ["USER_AGENT", "CallbackMode", "Callbacks", "sign"]

#: kie.ai waits 15 seconds for a callback receiver to answer.
_TIMEOUT = 15.0
USER_AGENT = "kie.ai-emulator (kieframe)"


def sign(key: str, task_id: str, timestamp: str) -> str:
    """kie.ai's callback signature: base64(HMAC-SHA256(key, taskId + "." + timestamp))."""
    digest = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True, slots=True)
class CallbackMode:
    """How callbacks misbehave; see :meth:`Emulator.callbacks_mode`."""

    duplicate: int = 0
    delay: float = 0.0
    lose: float = 0.0


class Callbacks:
    """Sends each finished task's callback from the server's event loop.

    :meth:`schedule` must be called on that loop, inside :meth:`serving`. Deliveries never
    raise: failures are logged as attempts.
    """

    def __init__(self, *, seed: int, hmac_key: str | None) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(f"{seed}:callbacks")
        self._hmac_key = hmac_key
        self._mode = CallbackMode()
        self._log: list[CallbackAttempt] = []
        self._pending: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    @property
    def mode(self) -> CallbackMode:
        """The current misbehaviour settings."""
        with self._lock:
            return self._mode

    @mode.setter
    def mode(self, value: CallbackMode) -> None:
        with self._lock:
            self._mode = value

    def log(self) -> tuple[CallbackAttempt, ...]:
        """Every delivery attempt so far, in order."""
        with self._lock:
            return tuple(self._log)

    def schedule(
        self, task_id: str, url: str, *, after: float, payload: Callable[[], object | None]
    ) -> None:
        """Deliver ``payload()`` to ``url`` about ``after`` seconds from now (on this loop)."""
        task = asyncio.get_running_loop().create_task(self._deliver(task_id, url, after, payload))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """Hold the HTTP client while the server runs; cancel unfinished deliveries after."""
        async with httpx.AsyncClient(timeout=_TIMEOUT, follow_redirects=False) as client:
            self._client = client
            try:
                yield
            finally:
                for task in list(self._pending):
                    task.cancel()
                await asyncio.gather(*self._pending, return_exceptions=True)
                self._client = None

    async def _deliver(
        self, task_id: str, url: str, after: float, payload: Callable[[], object | None]
    ) -> None:
        mode = self.mode
        await asyncio.sleep(after + mode.delay)
        # The loop's timer may fire a hair early; the state is derived from the clock, no event.
        while (value := payload()) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        body = msgspec.json.encode(value)
        for delivery in range(1, mode.duplicate + 2):
            with self._lock:
                lost = self._random.random() < mode.lose
            if lost:
                self._append(CallbackAttempt(
                    task_id=task_id, url=url, delivery=delivery, lost=True, status=None,
                    error=None, timestamp=None, signature=None, body=body,
                ))  # fmt: skip
                continue
            await self._post(task_id, url, delivery, body)

    async def _post(self, task_id: str, url: str, delivery: int, body: bytes) -> None:
        headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        timestamp = signature = None
        if self._hmac_key is not None:
            timestamp = str(int(time.time()))
            signature = sign(self._hmac_key, task_id, timestamp)
            headers["x-webhook-timestamp"] = timestamp
            headers["x-webhook-signature"] = signature
        status = error = None
        if self._client is None:
            error = "RuntimeError: the emulator is not serving"
        else:
            try:
                response = await self._client.post(url, content=body, headers=headers)
                status = response.status_code
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                error = f"{type(exc).__name__}: {exc}"
        self._append(CallbackAttempt(
            task_id=task_id, url=url, delivery=delivery, lost=False, status=status, error=error,
            timestamp=timestamp, signature=signature, body=body,
        ))  # fmt: skip

    def _append(self, attempt: CallbackAttempt) -> None:
        with self._lock:
            self._log.append(attempt)
