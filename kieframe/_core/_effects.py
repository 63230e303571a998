"""Every effect an operation may ask for, declared in one place, and what operations are given.

An operation is a generator: it yields an effect, a driver performs it (``_perform``) and sends back
the result, or throws in the exception the effect raised. Operations never do I/O, never read the
clock and never draw random numbers themselves: they are given a :class:`Clock` and a
:class:`Jitter`, so a test drives them with scripted answers and a fake clock, without sockets or
sleeping (h11's sans-I/O design).

==================  =========================================================================
effect              what the driver does
==================  =========================================================================
:class:`Reserve`    takes a slot of a rate-limit budget and waits until it comes
:class:`Call`       takes a slot of the request's rate-limit budget (unless a :class:`Reserve`
                    took it), sends one request to kie.ai (resending a read with backoff when
                    ``retry``), answers the envelope's data
:class:`Fetch`      streams a result file into its partial file, resuming and retrying
:class:`Sleep`      waits
:class:`AwaitCallback`  waits for a callback of a task (a :class:`Delivery`), or a timeout
:class:`Blocking`   runs blocking local work (journal writes, file reads and writes) off the loop
:class:`Await`      awaits what an async ``on_update`` hook returned (the async driver only)
==================  =========================================================================
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

import msgspec

from .._records import TaskRecord
from ._fileplan import DownloadProgress, FilePlan

__all__ = [
    "SYSTEM_CLOCK",
    "Await",
    "AwaitCallback",
    "Blocking",
    "Call",
    "Clock",
    "Delivery",
    "Effect",
    "Fetch",
    "Jitter",
    "Op",
    "Reserve",
    "Sleep",
]

T = TypeVar("T")


class Clock(Protocol):
    """Where an operation reads the time: a monotonic clock for intervals, Unix time for records."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for deadlines and intervals)."""
        ...

    def time(self) -> float:
        """Seconds since the Unix epoch (for when a task was submitted)."""
        ...


class Jitter(Protocol):
    """Where an operation draws its random delays (``random.Random`` is one)."""

    def uniform(self, a: float, b: float, /) -> float:
        """A number between ``a`` and ``b``."""
        ...


class _SystemClock:
    """The real clocks of the ``time`` module."""

    __slots__ = ()

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


#: The real clock, the default of every operation.
SYSTEM_CLOCK: Clock = _SystemClock()


class Call(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Send one request to kie.ai and return the envelope's ``data`` (or raise its error).

    The body is ``json`` (encoded by httpx) or ``content`` (JSON already encoded).
    ``budget`` names the rate limit it counts against; ``retry`` allows the driver to resend it
    with backoff (only for requests that are safe to repeat), until ``deadline`` (monotonic
    seconds) if one is given.

    Thousands of waits may each have a read queued at once. A call is frozen and holds what its
    operation built before it (strings, numbers, the request's body and parameters); it is
    handed to nothing that could store it back into them, so it can never be part of a
    reference cycle: the garbage collector does not track it (``gc=False``).
    """

    method: str
    path: str
    host: Literal["api", "upload"] = "api"
    params: Mapping[str, str] | None = None
    json: Any = None
    content: bytes | None = None
    files: Any = None
    data: Mapping[str, str] | None = None
    budget: Literal["create", "read"] | None = None
    reserved: bool = False  # the budget's slot was taken by a Reserve just before
    retry: bool = False
    task_id: str | None = None
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class Reserve:
    """Take a slot of ``budget`` and wait until it comes; the :class:`Call` that uses it follows.

    A journaled create takes its slot before it is written down as sending: a process that dies
    while it waits for a slot leaves nothing uncertain behind.
    """

    budget: Literal["create", "read"]


@dataclass(frozen=True, slots=True)
class Fetch:
    """Stream ``plan.url`` into the plan's partial file, with retries; answers DONE or REFRESH.

    ``progress`` is told the bytes on disk as they arrive.
    """

    plan: FilePlan
    progress: DownloadProgress | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait this many seconds."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Delivery:
    """A record passed on by a receiver; ``seq`` orders deliveries across the hub.

    ``confirmed`` is True when the record was re-read from kie.ai (or the receiver was told to
    trust callback bodies); a wait re-reads an unconfirmed record before it trusts it.
    """

    seq: int
    record: TaskRecord
    confirmed: bool


@dataclass(frozen=True, slots=True)
class AwaitCallback:
    """Wait up to ``timeout`` seconds for a callback of the task newer than delivery ``after``.

    The driver answers the :class:`Delivery` the client's callback hub passes on, or None when
    the time ran out.
    """

    task_id: str
    timeout: float
    after: int = 0


@dataclass(frozen=True, slots=True)
class Blocking:
    """Call ``function`` (local disk I/O, such as a journal write) and return its result.

    The async driver runs it on a worker thread, so a disk sync never stalls the event loop, and
    lets it finish even when the wait is cancelled (a journal write must not be lost).
    """

    function: Callable[[], Any]


@dataclass(frozen=True, slots=True)
class Await:
    """Await ``awaitable``: what an async ``on_update`` hook returned.

    Only the async driver performs it; the blocking one refuses it with a ``TypeError``.
    """

    awaitable: Awaitable[Any]


Effect = Call | Reserve | Fetch | Sleep | AwaitCallback | Blocking | Await
#: An operation: it yields effects and returns a ``T``.
Op = Generator[Effect, Any, T]
