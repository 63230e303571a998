"""Injected faults: one-shot queues and seeded probabilities, per endpoint."""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass

from ._records import Endpoint, FaultKind

__all__ = ["Fault", "FaultBook"]


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault to apply to one request; see :meth:`Emulator.fault` for each kind."""

    kind: FaultKind
    code: int = 500
    msg: str | None = None
    seconds: float = 1.0
    cut_after: int = 0
    retry_after: int | None = None
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


class FaultBook:
    """Which fault the next request to an endpoint gets: queued ones first, then by chance."""

    def __init__(self, *, seed: int) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(f"{seed}:faults")
        self._queued: dict[Endpoint, deque[Fault]] = {}
        self._chances: dict[Endpoint, tuple[float, Fault]] = {}

    def queue(self, endpoint: Endpoint, fault: Fault, *, times: int) -> None:
        """Apply ``fault`` to the next ``times`` requests to ``endpoint``."""
        with self._lock:
            self._queued.setdefault(endpoint, deque()).extend([fault] * times)

    def set_chance(self, endpoint: Endpoint, fault: Fault, probability: float) -> None:
        """Apply ``fault`` to each request to ``endpoint`` with ``probability`` (0 turns it off)."""
        with self._lock:
            if probability > 0:
                self._chances[endpoint] = (probability, fault)
            else:
                self._chances.pop(endpoint, None)

    def clear(self) -> None:
        """Forget every queued and probable fault."""
        with self._lock:
            self._queued.clear()
            self._chances.clear()

    def next(self, endpoint: Endpoint) -> Fault | None:
        """The fault for a request arriving now at ``endpoint``, if any."""
        with self._lock:
            queued = self._queued.get(endpoint)
            if queued:
                return queued.popleft()
            chance = self._chances.get(endpoint)
            if chance is not None and self._random.random() < chance[0]:
                return chance[1]
            return None
