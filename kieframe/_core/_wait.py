"""Waiting for a task to finish, as operations: by polling, or by callback with a watchdog.

Both judge every record and the deadline with the same pure :class:`~._poll.Waiter`; only the
"sleep" between reads differs. :func:`wait_op` polls on kie.ai's schedule (a ``Sleep``);
:func:`callback_wait_op` awaits the task's callback (an ``AwaitCallback`` a callback ends early)
and polls only as a watchdog. :func:`journaled_wait` writes a wait's outcome to the journal.
The clock and the poll jitter come in through :class:`WaitOptions`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Protocol

from .._config import DEFAULT_VISIBILITY_GRACE
from .._envelope import is_not_visible
from .._errors import APIError, NoAnswerError, TaskFailed
from .._journal import SubmissionLog
from .._records import TaskRecord
from ._effects import (
    SYSTEM_CLOCK,
    Await,
    AwaitCallback,
    Blocking,
    Clock,
    Delivery,
    Jitter,
    Op,
    Sleep,
)
from ._failures import is_task_failure, task_failure
from ._poll import PollPlan, Waiter
from ._read import record_call, to_record

__all__ = [
    "UNKNOWN_ID_GRACE",
    "AsyncUpdateHook",
    "UpdateHook",
    "WaitOptions",
    "callback_wait_op",
    "journaled_wait",
    "wait_op",
]

logger = logging.getLogger("kieframe")


class UpdateHook(Protocol):
    """Called by a wait with each record whose state differs from the previous one."""

    def __call__(self, record: TaskRecord, /) -> None: ...


class AsyncUpdateHook(Protocol):
    """An :class:`UpdateHook` of an :class:`~kieframe.AsyncClient` wait: it may be ``async def``.

    The wait awaits what the hook returns before it reads the task again.
    """

    def __call__(self, record: TaskRecord, /) -> Awaitable[None] | None: ...


#: The visibility grace of a wait on a bare task id (not a Task this client submitted): a
#: mistyped or foreign id is reported as unknown after this many seconds, not after the full grace.
UNKNOWN_ID_GRACE = 10.0


@dataclass(slots=True)
class WaitOptions:
    """How one wait runs: deadline in seconds, poll plan, visibility grace, update hook, clocks.

    ``grace`` applies to a task whose submission time is known; a wait on a bare id gets at most
    :data:`UNKNOWN_ID_GRACE` seconds, counted from the wait's start.
    """

    timeout: float
    plan: PollPlan = field(default_factory=PollPlan)
    grace: float = DEFAULT_VISIBILITY_GRACE
    on_update: AsyncUpdateHook | None = None
    clock: Clock = SYSTEM_CLOCK
    jitter: Jitter | None = None


def _waiter(task_id: str, since: float | None, options: WaitOptions) -> tuple[Waiter, float]:
    """A waiter placed on the monotonic clock, and ``now``; ``since`` is Unix seconds or None."""
    clock = options.clock
    now = clock.monotonic()
    deadline = now + options.timeout
    if since is None:  # an id from elsewhere, maybe mistyped: only a short grace
        started, grace = now, min(options.grace, UNKNOWN_ID_GRACE)
    else:
        started, grace = now - max(0.0, clock.time() - since), options.grace
    waiter = Waiter(
        task_id, started=started, deadline=deadline, grace=grace, submitted=since is not None
    )
    return waiter, now


class _StateChanges:
    """Calls the wait's ``on_update`` hook once per state."""

    __slots__ = ("hook", "previous")

    def __init__(self, hook: AsyncUpdateHook) -> None:
        self.hook = hook
        self.previous: str | None = None

    def __call__(self, record: TaskRecord | None) -> Await | None:
        """An :class:`Await` of what an async hook returned, for the wait to yield; else None."""
        if record is not None and record.state != self.previous:
            self.previous = str(record.state)
            returned = self.hook(record)
            if returned is not None and inspect.isawaitable(returned):
                return Await(returned)
        return None


def _ignore(record: TaskRecord | None) -> None:
    """The state-change hook of a wait without ``on_update`` (one object less per wait)."""


def _state_changes(hook: AsyncUpdateHook | None) -> Callable[[TaskRecord | None], Await | None]:
    return _ignore if hook is None else _StateChanges(hook)


def wait_op(task_id: str, *, since: float | None, options: WaitOptions) -> Op[TaskRecord]:
    """Poll until the task succeeds (return its record), fails, or the deadline passes.

    ``since`` is when the task was submitted (Unix seconds) if known: it places the poll schedule
    and the visibility grace window, and a task submitted moments ago is first polled after the
    schedule's first interval, not at once (it cannot have finished yet). Without ``since`` the
    first poll is immediate.
    """
    clock, plan, jitter = options.clock, options.plan, options.jitter
    waiter, now = _waiter(task_id, since, options)
    changes = _state_changes(options.on_update)
    first = timeout = 0.0
    if since is not None:
        first = waiter.started + plan.delay(0.0, jitter) - now
        timeout = options.timeout
    del options  # not kept while the wait sleeps
    if first > 0:
        yield Sleep(min(first, timeout))
    while True:
        pause = None
        try:  # read here, not in a generator of its own: one object less while it is queued
            record = _visible(waiter, (yield record_call(waiter.task_id, waiter.deadline)))
        except (APIError, NoAnswerError) as error:
            record, pause = None, _failed_read(waiter, clock, plan, jitter, error, 0)
        if pause is not None:
            record = yield from _read_again(waiter, clock, plan, jitter, pause)
        if (hook := changes(record)) is not None:  # an async on_update hook's awaitable
            yield hook
        final = waiter.observe(record, clock.monotonic())
        if final is not None:
            return final
        del record  # not kept while the wait sleeps: the waiter has its state
        yield Sleep(waiter.next_delay(clock.monotonic(), plan, jitter))


#: Error codes that, before a task was ever seen, mean "not visible yet" whatever their message.
_NOT_YET = frozenset({404, 422})


#: The longest pause between two reads of a task during an outage, in seconds.
_OUTAGE_PAUSE_MAX = 60.0


def _visible(waiter: Waiter, data: Any) -> TaskRecord | None:
    """The record in a read's answer; None while kie.ai does not show the task (yet).

    Until the task was first seen, an answer without a record means "not visible yet". An answer
    that is not a record raises a ServerError: :func:`_failed_read` takes it for an outage.
    """
    if data is None and waiter.last_state is None:
        return None
    return to_record(waiter.task_id, data)


def _failed_read(
    waiter: Waiter,
    clock: Clock,
    plan: PollPlan,
    jitter: Jitter | None,
    error: APIError | NoAnswerError,
    outages: int,
) -> float | None:
    """After a failed read: None if the task is not visible (yet), else the pause until the next.

    The error is raised when it ends the wait.

    kie.ai says "recordInfo is null" (a 422); until the task was first seen, any 404 or 422
    means the same (the :class:`~._poll.Waiter` turns them into a NotFoundError once its grace
    window has passed).

    A read retries on its own (with backoff, within the wait's deadline). When its retries run
    out during a longer outage (5xx, 429, 455, no connection, a garbled answer), the wait reads
    again after a backoff that doubles each time, up to the deadline: it ends then with
    :class:`~kieframe.WaitTimeout` (the task is not lost), never early with the read's error.
    Called inside the ``except`` block, so that WaitTimeout carries the read's error as its
    context.
    """
    if isinstance(error, APIError):
        if is_not_visible(error) or (error.code in _NOT_YET and waiter.last_state is None):
            waiter.unseen(clock.monotonic(), error)  # NotFoundError with kie.ai's code past grace
            return None
        if is_task_failure(error):
            raise task_failure(waiter.task_id, error) from error
        if not error.retryable:
            raise error
    pause = waiter.next_delay(clock.monotonic(), plan, jitter)  # WaitTimeout past the deadline
    remaining = waiter.deadline - clock.monotonic()
    pause = max(0.0, min(pause * 2.0 ** min(outages, 16), _OUTAGE_PAUSE_MAX, remaining))
    logger.warning(
        "reading task %s failed (%s); reading again in %.1f s", waiter.task_id, error, pause
    )
    return pause


def _read_again(
    waiter: Waiter, clock: Clock, plan: PollPlan, jitter: Jitter | None, pause: float
) -> Op[TaskRecord | None]:
    """After an outage, read the task again until kie.ai answers (see :func:`_failed_read`)."""
    outages = 1
    delay: float | None = pause
    while delay is not None:
        yield Sleep(delay)
        try:
            return _visible(waiter, (yield record_call(waiter.task_id, waiter.deadline)))
        except (APIError, NoAnswerError) as error:
            delay = _failed_read(waiter, clock, plan, jitter, error, outages)
        outages += 1
    return None


def callback_wait_op(
    task_id: str, *, since: float | None, options: WaitOptions, watchdog: float
) -> Op[TaskRecord]:
    """Wait for the task's callback, polling only as a watchdog every ``watchdog`` seconds.

    The same :class:`~._poll.Waiter` as :func:`wait_op` judges every record and the
    deadline; only the "sleep" differs: an :class:`AwaitCallback` that a callback ends early.
    The first watchdog poll comes ``watchdog`` seconds after submission (at once when ``since``
    is unknown: the task may have finished long ago). A record the receiver could not confirm
    is re-read here before it is trusted.
    """
    clock, jitter = options.clock, options.jitter
    waiter, now = _waiter(task_id, since, options)
    schedule = _watchdog(watchdog)
    next_poll = now if since is None else min(waiter.started + watchdog, waiter.deadline)
    seen = 0
    changes = _state_changes(options.on_update)
    plan = options.plan  # kie.ai's schedule, once a callback comes unconfirmed
    del options  # not kept while the wait sleeps
    while True:
        now = clock.monotonic()
        delivery: Delivery | None = None
        if now < next_poll:
            delivery = yield AwaitCallback(task_id, timeout=next_poll - now, after=seen)
        if delivery is not None:
            seen = delivery.seq
        polled = delivery is None or not delivery.confirmed
        if delivery is not None and delivery.confirmed:
            record: TaskRecord | None = delivery.record
        else:
            pause = None
            try:
                record = _visible(waiter, (yield record_call(waiter.task_id, waiter.deadline)))
            except (APIError, NoAnswerError) as error:
                record, pause = None, _failed_read(waiter, clock, schedule, jitter, error, 0)
            if pause is not None:
                record = yield from _read_again(waiter, clock, schedule, jitter, pause)
        if (hook := changes(record)) is not None:  # an async on_update hook's awaitable
            yield hook
        final = waiter.observe(record, clock.monotonic())
        if final is not None:
            return final
        del record  # not kept while the wait sleeps: the waiter has its state
        if delivery is not None and not delivery.confirmed:  # kie.ai lags its callback: poll
            schedule = plan
        if polled:
            next_poll = clock.monotonic() + waiter.next_delay(clock.monotonic(), schedule, jitter)


@lru_cache(maxsize=64)
def _watchdog(interval: float) -> PollPlan:
    """The watchdog's poll plan: jittered, so that the watchdogs of many tasks submitted together
    do not poll together. One for all the waits with the same interval (few models, few
    intervals), not four objects each for the garbage collector to walk.
    """
    return PollPlan.every(interval, interval * 1.25)


def journaled_wait(
    op: Op[TaskRecord], journal: SubmissionLog, task_id: str, host: str
) -> Op[TaskRecord]:
    """Run a wait and write its outcome (success or failure) to the journal entry of ``host``.

    A journal that cannot be written then (a database gone) does not spoil the wait's outcome:
    it is logged, and the entry stays ``accepted``, listed to collect.
    """
    try:
        record = yield from op
    except TaskFailed as failure:  # (a task kie.ai does not show stays "accepted": it was paid)
        failed = partial(
            journal.finished, task_id, host=host, succeeded=False, detail=failure.message
        )
        yield from _note(failed, task_id)
        raise
    yield from _note(partial(journal.finished, task_id, host=host, succeeded=True), task_id)
    return record


def _note(write: partial[None], task_id: str) -> Op[None]:
    """Write a finished task to the journal; a failure is logged, never raised."""
    try:
        yield Blocking(write)
    except Exception as error:
        logger.warning(
            "task %s finished, but the journal could not record it (%s): it stays listed to"
            " collect (see `kieframe journal`)",
            task_id,
            error,
        )
