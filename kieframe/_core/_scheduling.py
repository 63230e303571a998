"""What many waits share on one event loop: one timer for their sleeps, a few tasks for their reads.

``asyncio.sleep`` costs each sleeper a coroutine, a future, a timer handle and a copied context;
with 10,000 waits those are 50,000 objects the garbage collector walks on every full pass, and
the waits' wake-ups all land in one turn of the loop when they poll on the same schedule. A
:class:`Timers` keeps each sleeper as a future in one heap under one timer handle, and wakes the
sleepers that are due a batch at a time, letting the loop run what else is ready in between.

A wait's task that sent its own reads would also carry, for as long as it lives, the per-task
state of the HTTP stack (anyio's), and while queued for a free connection a coroutine, a lock
waiter and its retry state. :class:`Workers` runs queued work on at most ``limit`` short-lived
tasks; the wait's task holds just the future of its result.
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["Timers", "Workers"]

T = TypeVar("T")
R = TypeVar("R")


class Timers:
    """Sleeps on one event loop, sharing a single timer handle.

    A sleeper cancelled before its time (its task was cancelled) stays in the heap until the
    heap has doubled since it was last swept, when cancelled entries are dropped.
    """

    #: Sleepers woken in one turn of the event loop; the rest wake in the next turns.
    batch = 256

    __slots__ = ("_heap", "_loop", "_order", "_swept", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self._swept = 64

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop these timers run on."""
        return self._loop

    def sleep(self, seconds: float) -> asyncio.Future[None]:
        """A future that resolves (to None) once ``seconds`` have passed on the loop's clock."""
        loop = self._loop
        when = loop.time() + seconds
        future: asyncio.Future[None] = loop.create_future()
        heap = self._heap
        if len(heap) >= self._swept:
            self._sweep()
        heapq.heappush(heap, (when, next(self._order), future))
        if heap[0][2] is future:  # the new earliest: the timer moves forward
            self._arm()
        return future

    def _sweep(self) -> None:
        heap = self._heap
        heap[:] = [entry for entry in heap if not entry[2].done()]
        heapq.heapify(heap)
        self._swept = max(64, 2 * len(heap))

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(self._heap[0][0], self._fire) if self._heap else None

    def _fire(self) -> None:
        """Wake the due sleepers, up to a batch; the next batch, or the next timer, follows."""
        heap, loop = self._heap, self._loop
        now = loop.time()
        woken = 0
        while heap and heap[0][0] <= now and woken < self.batch:
            future = heapq.heappop(heap)[2]
            if not future.done():
                future.set_result(None)
                woken += 1
        if heap and heap[0][0] <= now:  # more are due: after what the loop has ready now
            self._timer = loop.call_soon(self._fire)
        else:
            self._timer = None
            self._arm()


class Workers(Generic[T, R]):
    """Runs ``work(item)`` for queued items, at most ``limit`` at once, on one event loop.

    :meth:`submit` returns the future of the item's result (or exception). A worker task starts
    when an item is queued and fewer than ``limit`` run, and ends when the queue is empty. An
    item whose future was cancelled while queued is skipped; one cancelled while its work runs
    has its outcome dropped. A worker interrupted itself (cancelled as the loop shuts down)
    cancels the future of the item it was running.
    """

    __slots__ = ("_limit", "_loop", "_queue", "_running", "_tasks", "_work")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, work: Callable[[T], Awaitable[R]], limit: int
    ) -> None:
        self._loop = loop
        self._work = work
        self._limit = limit
        self._queue: collections.deque[tuple[T, asyncio.Future[R]]] = collections.deque()
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()  # strong references while they run

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the workers run on."""
        return self._loop

    def submit(self, item: T) -> asyncio.Future[R]:
        """Queue ``item``; the future of ``work(item)``."""
        future: asyncio.Future[R] = self._loop.create_future()
        self._queue.append((item, future))
        if self._running < self._limit:
            self._running += 1
            task = self._loop.create_task(self._worker())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return future

    async def _worker(self) -> None:
        queue = self._queue
        try:
            while queue:
                item, future = queue.popleft()
                if future.done():  # cancelled while queued
                    continue
                try:
                    result = await self._work(item)
                except Exception as error:  # handed to whoever awaits the future
                    if not future.done():
                        future.set_exception(error)
                except BaseException:
                    future.cancel()
                    raise
                else:
                    if not future.done():
                        future.set_result(result)
                del item, future  # hold nothing between items
        finally:
            self._running -= 1
