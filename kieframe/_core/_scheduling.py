"""What many waits share on one event loop: one timer for their sleeps, a few tasks for their reads.

``asyncio.sleep`` costs each sleeper a coroutine, a future, a timer handle and a copied context;
with 10,000 waits those are 50,000 objects the garbage collector walks on every full pass, and
the waits' wake-ups all land in one turn of the loop when they poll on the same schedule. A
:class:`Timers` keeps each sleeper as a future in one heap under one timer handle, and wakes the
sleepers that are due a batch at a time, letting the loop run what else is ready in between.

A wait's task that sent its own reads would also carry, for as long as it lives, the per-task
state of the HTTP stack (anyio's), and while queued for a free connection a coroutine, a lock
waiter and its retry state. :class:`Workers` runs each read as a short-lived task of its own, at
most ``limit`` at once, in the caller's context; the others queue as an item and a future (and a
context, shared by the items queued from like contexts), and the wait's task holds just what it
awaits. A wait's coroutine awaits a future through the loop's one :class:`Handoff`, with no
iterator of its own.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import functools
import heapq
import itertools
from collections.abc import Callable, Coroutine, Generator
from typing import Any, Generic, NoReturn, TypeVar

__all__ = ["Handoff", "Timers", "Workers"]

T = TypeVar("T")
R = TypeVar("R")


class Handoff(Generator["asyncio.Future[Any]", None, None]):
    """Lets a coroutine await a future with no object of its own for the await (one per loop).

    ``await future`` keeps an iterator over the future for as long as the coroutine waits: for
    10,000 sleeping waits, 10,000 more objects for every full pass of the garbage collector.
    ``await handoff.on(future)`` passes the future up to the coroutine's task through this one
    shared object instead: it is handed over and taken within the same step of the task, before
    any other code on the loop runs, and when the task resumes the coroutine reads the future's
    outcome itself (``future.result()``). A loop runs on one thread: one hand-off per loop.
    Should an interrupt land between handing over and taking (a signal's exception), the next
    coroutine to resume waits once on that future too before it reads its own: a delay, never
    another's outcome.
    """

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: asyncio.Future[Any] | None = None

    def on(self, future: asyncio.Future[Any]) -> Handoff:
        """What to await to wait until ``future`` is done (its outcome is not read here)."""
        future._asyncio_future_blocking = True
        self._pending = future
        return self

    def __await__(self) -> Generator[asyncio.Future[Any], None, None]:
        return self

    def __next__(self) -> asyncio.Future[Any]:
        future = self._pending
        if future is None:  # resumed: the future is done
            raise StopIteration
        self._pending = None
        return future  # to the task, which resumes the coroutine once the future is done

    def send(self, value: None) -> asyncio.Future[Any]:
        """Resume (the task sends None)."""
        return self.__next__()

    def throw(self, error: Any, value: Any = None, traceback: Any = None) -> NoReturn:
        """Raise ``error`` where the coroutine awaits (the task cancelled, say)."""
        self._pending = None
        raise error if value is None else value

    def close(self) -> None:
        """Nothing to close: the object is shared."""


class Timers:
    """Sleeps on one event loop, sharing a single timer handle.

    The heap holds ``(when, number)`` pairs, tuples of atomics the garbage collector stops
    tracking, and one dict the sleepers' futures by number: no object per sleeper for the
    collector to walk beside its future. A sleeper cancelled before its time (its task was
    cancelled) stays until the heap has doubled since it was last swept, when cancelled entries
    are dropped.
    :meth:`turn` is the cheap sleep of no time: a queue woken a batch per turn, in order.
    """

    #: Sleepers woken in one turn of the event loop; the rest wake in the next turns.
    batch = 256

    __slots__ = (
        "_heap",
        "_loop",
        "_order",
        "_ready",
        "_releasing",
        "_sleepers",
        "_swept",
        "_timer",
        "handoff",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int]] = []
        self._sleepers: dict[int, asyncio.Future[None]] = {}
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self._swept = 64
        self._ready: collections.deque[asyncio.Future[None]] = collections.deque()
        self._releasing = False
        #: How the waits on this loop await their futures (see :class:`Handoff`).
        self.handoff = Handoff()

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
        number = next(self._order)
        self._sleepers[number] = future
        heapq.heappush(heap, (when, number))
        if heap[0][1] == number:  # the new earliest: the timer moves forward
            self._arm()
        return future

    def turn(self) -> asyncio.Future[None]:
        """A future that resolves in a coming turn of the loop, after those asked for before."""
        future: asyncio.Future[None] = self._loop.create_future()
        self._ready.append(future)
        if not self._releasing:
            self._releasing = True
            self._loop.call_soon(self._release)
        return future

    def _release(self) -> None:
        """Resolve the futures of :meth:`turn`, up to a batch; the next batch in the next turn."""
        ready = self._ready
        woken = 0
        while ready and woken < self.batch:
            future = ready.popleft()
            if not future.done():
                future.set_result(None)
                woken += 1
        if ready:
            self._loop.call_soon(self._release)
        else:
            self._releasing = False

    def _sweep(self) -> None:
        heap, sleepers = self._heap, self._sleepers
        for number in [number for number, future in sleepers.items() if future.done()]:
            del sleepers[number]
        heap[:] = [entry for entry in heap if entry[1] in sleepers]
        heapq.heapify(heap)
        self._swept = max(64, 2 * len(heap))

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(self._heap[0][0], self._fire) if self._heap else None

    def _fire(self) -> None:
        """Wake the due sleepers, up to a batch; the next batch, or the next timer, follows."""
        heap, sleepers, loop = self._heap, self._sleepers, self._loop
        now = loop.time()
        woken = 0
        while heap and heap[0][0] <= now and woken < self.batch:
            future = sleepers.pop(heapq.heappop(heap)[1])
            if not future.done():
                future.set_result(None)
                woken += 1
        if heap and heap[0][0] <= now:  # more are due: after what the loop has ready now
            self._timer = loop.call_soon(self._fire)
        else:
            self._timer = None
            self._arm()


class Workers(Generic[T, R]):
    """Runs ``work(item)`` for submitted items, at most ``limit`` at once, on one event loop.

    Each item's work runs as a task of its own, in a copy of the context of the caller that
    submitted it (as a task it created itself would: its context variables are seen by the
    work, and changes made there stay there). Past ``limit`` items queue as the item, a future
    and that context, and start as running ones end, in order, each in a copy of it. Items
    queued one after another from contexts that hold the same values queue with one context:
    10,000 waits started from one place keep one, not one each.

    :meth:`submit` returns what the caller awaits for the outcome: the work's task when it starts
    at once, else a future the task's outcome is handed to. Cancelling it, or the caller awaiting
    it, cancels the work: a queued item is skipped, a running one is cancelled. Work cancelled by
    itself (the loop shutting down) cancels what its caller awaits.
    """

    __slots__ = (
        "_context",
        "_contexts",
        "_finished",
        "_futures",
        "_items",
        "_limit",
        "_loop",
        "_tasks",
        "_work",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        work: Callable[[T], Coroutine[Any, Any, R]],
        limit: int,
    ) -> None:
        self._loop = loop
        self._work = work
        self._limit = limit
        # The queue, as three deques in step: no tuple per queued item for the collector to walk.
        self._items: collections.deque[T] = collections.deque()
        self._futures: collections.deque[asyncio.Future[R]] = collections.deque()
        self._contexts: collections.deque[contextvars.Context] = collections.deque()
        self._context: contextvars.Context | None = None  # the last queued item's
        self._tasks: set[asyncio.Task[R]] = set()  # strong references while they run
        self._finished = self._next  # one bound method for all tasks, not one each

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the work runs on."""
        return self._loop

    def submit(self, item: T) -> asyncio.Future[R]:
        """Start or queue ``work(item)``; what to await for its outcome."""
        if len(self._tasks) < self._limit:
            return self._start(item, None)  # the caller's context, copied as for any task
        future: asyncio.Future[R] = self._loop.create_future()
        self._items.append(item)
        self._futures.append(future)
        context = contextvars.copy_context()
        if self._context is None or not _same(context, self._context):
            self._context = context
        self._contexts.append(self._context)
        return future

    def _start(self, item: T, context: contextvars.Context | None) -> asyncio.Task[R]:
        task = self._loop.create_task(self._work(item), context=context)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _next(self, task: asyncio.Task[R]) -> None:
        """A task ended: start the next queued item whose caller still waits."""
        self._tasks.discard(task)
        items, futures, contexts = self._items, self._futures, self._contexts
        while items and len(self._tasks) < self._limit:
            item, future, context = items.popleft(), futures.popleft(), contexts.popleft()
            if not future.done():  # else cancelled while queued
                _relay(self._start(item, context.copy()), future)  # a copy: it may be shared
        if not items:
            self._context = None


_ABSENT = object()


def _same(context: contextvars.Context, other: contextvars.Context) -> bool:
    """Whether two contexts hold the same values (the same objects) for the same variables."""
    return len(context) == len(other) and all(
        other.get(variable, _ABSENT) is value for variable, value in context.items()
    )


def _relay(task: asyncio.Task[R], future: asyncio.Future[R]) -> None:
    """Hand ``task``'s outcome to ``future``; cancelling ``future`` cancels ``task``."""
    task.add_done_callback(functools.partial(_settle, future))
    future.add_done_callback(functools.partial(_cancel, task))


def _settle(future: asyncio.Future[R], task: asyncio.Task[R]) -> None:
    if task.cancelled():
        future.cancel()
        return
    error = task.exception()  # retrieved even when nobody waits any more
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(task.result())


def _cancel(task: asyncio.Task[Any], future: asyncio.Future[Any]) -> None:
    if future.cancelled():
        task.cancel()
