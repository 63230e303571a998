"""Routing callback records to the waits that expect them, across threads and event loops.

A blocking wait parks on a ``threading.Event`` of its own, an async wait on a future of its loop;
a delivery wakes exactly the waits for its task, so thousands of waits cost no polling at all.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from .._core._effects import Delivery
from .._records import TaskRecord

__all__ = ["DEFAULT_WATCHDOG_FLOOR", "CallbackHub", "HubOwner"]

#: The shortest default watchdog interval, in seconds.
DEFAULT_WATCHDOG_FLOOR = 60.0


@dataclass(slots=True, eq=False)
class _BlockingSlot:
    event: threading.Event = field(default_factory=threading.Event)
    delivery: Delivery | None = None

    def wake(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.event.set()


def _settle(future: asyncio.Future[Delivery], delivery: Delivery) -> None:
    if not future.done():
        future.set_result(delivery)


@dataclass(slots=True, eq=False)
class _AsyncSlot:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Delivery]

    def wake(self, delivery: Delivery) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(_settle, self.future, delivery)


class HubOwner(Protocol):
    """Anything that feeds a hub, such as a receiver: a client takes it as ``callbacks=...``."""

    @property
    def hub(self) -> CallbackHub:
        """The hub this object delivers callback records to."""
        ...


class CallbackHub:
    """Where callback records meet the waits expecting them; thread-safe, loop-agnostic.

    A :class:`~kieframe.CallbackReceiver` feeds its hub; pass the receiver (or the hub) to a
    client as ``callbacks=...`` and ``wait()`` on a task submitted with a ``callback_url``
    returns as soon as its callback arrives. Without a callback, the wait polls kie.ai every
    ``watchdog`` seconds, by default ``max(60, typical_seconds / 2)`` of the task's model. The
    hub keeps the latest record of the last ``capacity`` tasks, so a wait that starts after its
    callback arrived returns at once. Feed it from any framework with :meth:`deliver`.
    """

    def __init__(self, *, watchdog: float | None = None, capacity: int = 10_000) -> None:
        if watchdog is not None and watchdog <= 0:
            raise ValueError("watchdog must be a positive number of seconds")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.watchdog = watchdog
        self.capacity = capacity
        self._lock = threading.Lock()
        self._seq = 0
        self._latest: OrderedDict[str, Delivery] = OrderedDict()
        self._waits: dict[str, list[_BlockingSlot | _AsyncSlot]] = {}

    def __repr__(self) -> str:
        return f"<CallbackHub records={len(self._latest)} waiting={self.waiting}>"

    def watchdog_interval(self, typical_seconds: float) -> float:
        """Seconds between watchdog polls for a task that usually runs ``typical_seconds``."""
        if self.watchdog is not None:
            return self.watchdog
        return max(DEFAULT_WATCHDOG_FLOOR, typical_seconds / 2)

    @property
    def waiting(self) -> int:
        """How many waits are parked on the hub now."""
        with self._lock:
            return sum(len(slots) for slots in self._waits.values())

    def received(self, task_id: str) -> TaskRecord | None:
        """The latest record delivered for ``task_id``, if the hub still holds one."""
        with self._lock:
            delivery = self._latest.get(task_id)
        return delivery.record if delivery is not None else None

    def deliver(self, record: TaskRecord, *, confirmed: bool) -> None:
        """Pass on a callback's record and wake the waits for its task (from any thread).

        ``confirmed`` says the record can be trusted as is (it was re-read from kie.ai); the
        waits re-read an unconfirmed one first.
        """
        with self._lock:
            self._seq += 1
            delivery = Delivery(self._seq, record, confirmed)
            self._latest[record.task_id] = delivery
            self._latest.move_to_end(record.task_id)
            while len(self._latest) > self.capacity:
                self._latest.popitem(last=False)
            slots = self._waits.pop(record.task_id, [])
        for slot in slots:
            slot.wake(delivery)

    async def deliver_async(self, record: TaskRecord, *, confirmed: bool) -> None:
        """:meth:`deliver` from a coroutine, never blocking its event loop.

        The in-process hub only wakes waits, so it delivers at once; a hub that writes
        elsewhere (a database) does it on a worker thread.
        """
        self.deliver(record, confirmed=confirmed)

    def _newer(self, task_id: str, after: int) -> Delivery | None:
        delivery = self._latest.get(task_id)
        return delivery if delivery is not None and delivery.seq > after else None

    def _park(self, task_id: str, slot: _BlockingSlot | _AsyncSlot) -> None:
        self._waits.setdefault(task_id, []).append(slot)

    def _unpark(self, task_id: str, slot: _BlockingSlot | _AsyncSlot) -> None:
        with self._lock:
            slots = self._waits.get(task_id)
            if slots is not None and slot in slots:
                slots.remove(slot)
                if not slots:
                    del self._waits[task_id]

    def wait(self, task_id: str, *, after: int = 0, timeout: float) -> Delivery | None:
        """Block until a delivery newer than ``after`` arrives for the task, or ``timeout``."""
        slot = _BlockingSlot()
        with self._lock:
            if (found := self._newer(task_id, after)) is not None:
                return found
            self._park(task_id, slot)
        try:
            slot.event.wait(max(0.0, timeout))
            return slot.delivery
        finally:
            self._unpark(task_id, slot)

    async def wait_async(
        self,
        task_id: str,
        *,
        after: int = 0,
        timeout: float,  # noqa: ASYNC109 - the watchdog's interval, mirroring wait()
    ) -> Delivery | None:
        """Await a delivery newer than ``after`` for the task, or ``timeout``; see :meth:`wait`."""
        loop = asyncio.get_running_loop()
        slot = _AsyncSlot(loop, loop.create_future())
        with self._lock:
            if (found := self._newer(task_id, after)) is not None:
                return found
            self._park(task_id, slot)
        try:
            return await asyncio.wait_for(slot.future, max(0.0, timeout))
        except TimeoutError:
            return None
        finally:
            self._unpark(task_id, slot)
