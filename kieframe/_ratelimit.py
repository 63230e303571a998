"""Client-side rate limits, so kie.ai's 429s stay rare.

kie.ai allows 20 new tasks per 10 seconds per account and 10 recordInfo requests per second per
key; past that a request is dropped. :class:`SlidingWindow` hands out send times inside such a
budget. It never sleeps itself: ``reserve`` returns how long the caller must wait, so the sync and
the async client share it. Clients with the same key and host share one budget per process.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ._arguments import check_number, check_whole
from ._errors import ConfigurationError

__all__ = ["Budgets", "RateLimits", "SlidingWindow", "Window", "shared_budgets"]


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Budgets a client keeps: ``creates`` per ``create_window`` s, ``reads`` per ``read_window``.

    The defaults are kie.ai's published limits, with windows 5-10 % longer than kie.ai's: requests
    spaced exactly one window apart can arrive closer together after network jitter.
    ``RateLimits.off()`` disables client-side limiting; a count of 0 (``creates=0``) lifts that
    one limit. A count that is no int, a negative one, or a window that is not a number of seconds
    above 0 is an error (a ``TypeError``, else a :class:`~kieframe.ConfigurationError`).
    """

    creates: int = 20
    create_window: float = 10.5
    reads: int = 10
    read_window: float = 1.1

    def __post_init__(self) -> None:
        for name in ("creates", "reads"):
            check_whole(
                name, getattr(self, name), least=0, what="0: no limit", error=ConfigurationError
            )
        for name in ("create_window", "read_window"):
            check_number(name, getattr(self, name), error=ConfigurationError)

    @classmethod
    def off(cls) -> RateLimits:
        """No client-side limits (kie.ai's still apply)."""
        return cls(creates=0, reads=0)


class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds; ``limit == 0`` means unlimited."""

    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._slots: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a slot; return the seconds to wait before using it (0 when free now)."""
        if self.limit <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            while self._slots and self._slots[0] <= now - self.window:
                self._slots.popleft()
            at = max(now, self._blocked_until)
            if len(self._slots) >= self.limit:  # free when the limit-th latest leaves the window
                at = max(at, self._slots[-self.limit] + self.window)
            self._slots.append(at)
            return at - now

    def penalise(self, seconds: float) -> None:
        """After a 429, hold every new event back for ``seconds`` (the server's window)."""
        if self.limit <= 0:
            return
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)


class Window(Protocol):
    """One budget's window: a :class:`SlidingWindow`, or one shared by several processes."""

    @property
    def window(self) -> float:
        """The window's length, in seconds."""
        ...

    def reserve(self) -> float:
        """Take a slot; the seconds to wait before using it."""
        ...

    def penalise(self, seconds: float) -> None:
        """Hold every new event back for ``seconds``."""
        ...


class Budgets:
    """The client's rate-limit budgets by name (``"create"``, ``"read"``): slots and 429 holds.

    This is the limiter the drivers take a slot from before each request they send. ``blocking``
    says that taking a slot may block (a window kept in a database): the asyncio driver then takes
    it on a worker thread, never on the event loop.
    """

    __slots__ = ("_windows", "blocking")

    def __init__(self, windows: Mapping[str, Window], *, blocking: bool = False) -> None:
        self._windows = dict(windows)
        self.blocking = blocking

    def reserve(self, budget: str) -> float:
        """Take a slot of ``budget``; the seconds to wait before using it."""
        return self._windows[budget].reserve()

    def penalise(self, budget: str, seconds: float | None) -> None:
        """After a 429, hold ``budget`` back ``seconds`` (by default, one window)."""
        window = self._windows[budget]
        window.penalise(window.window if seconds is None else seconds)


_shared: dict[tuple[str, str, str], SlidingWindow] = {}
_shared_lock = threading.Lock()


def shared_budgets(host: str, api_key: str, limits: RateLimits) -> Budgets:
    """The budgets for this host and key, shared by every client in the process."""
    key_hash = hashlib.sha256(api_key.encode()).hexdigest()[:16]  # never keep the key itself
    windows = {}
    with _shared_lock:
        for kind, limit, window in (
            ("create", limits.creates, limits.create_window),
            ("read", limits.reads, limits.read_window),
        ):
            slot = (host, key_hash, f"{kind}:{limit}/{window}")
            if slot not in _shared:
                _shared[slot] = SlidingWindow(limit, window)
            windows[kind] = _shared[slot]
    return Budgets(windows)
