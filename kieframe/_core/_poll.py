"""The task lifecycle without I/O: when to poll next, and what an observed record means.

Both clients drive the same :class:`Waiter`; it never sleeps or sends anything itself, so it is
tested with a fake clock and reused by the callback waiter (where the "sleep" is a wait for the
callback, with polling as a watchdog).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from .._config import DEFAULT_VISIBILITY_GRACE
from .._errors import APIError, NotFoundError, TaskFailed, WaitTimeout
from .._records import TaskRecord
from ._effects import Jitter

__all__ = ["PollPhase", "PollPlan", "Waiter"]


@dataclass(frozen=True, slots=True)
class PollPhase:
    """Until ``until`` seconds after submission, poll every ``low`` to ``high`` seconds."""

    until: float
    low: float
    high: float

    def __post_init__(self) -> None:
        if not 0 < self.low <= self.high:
            raise ValueError("a poll phase needs 0 < low <= high")


@dataclass(frozen=True, slots=True)
class PollPlan:
    """When to poll a running task: kie.ai's own schedule, with jitter, by default.

    kie.ai asks for a poll every 2-3 s for the first 30 s, every 5-10 s up to 2 minutes, then every
    15-30 s. The delay is drawn uniformly from the phase's range, so many tasks submitted together
    do not poll in lockstep.
    """

    phases: Sequence[PollPhase] = (
        PollPhase(30.0, 2.0, 3.0),
        PollPhase(120.0, 5.0, 10.0),
        PollPhase(math.inf, 15.0, 30.0),
    )
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.phases or self.phases[-1].until != math.inf:
            raise ValueError("the last poll phase must run until math.inf")

    @classmethod
    def every(cls, low: float, high: float | None = None) -> PollPlan:
        """A flat plan: every ``low`` to ``high`` seconds (handy against the emulator)."""
        return cls(phases=(PollPhase(math.inf, low, high if high is not None else low),))

    def delay(self, elapsed: float, jitter: Jitter | None = None) -> float:
        """Seconds until the next poll, ``elapsed`` seconds after submission.

        The delay is drawn from ``jitter`` (by default the plan's own ``rng``).
        """
        phase = next(p for p in self.phases if elapsed < p.until)
        return (jitter or self.rng).uniform(phase.low, phase.high)


class Waiter(msgspec.Struct, gc=False):
    """The state of one wait: feed it records, ask it how long to wait next.

    ``started`` is when the task was submitted (for the poll schedule) and ``deadline`` when the
    wait gives up, both on the same monotonic clock as the ``now`` arguments. Right after a create
    kie.ai may answer "recordInfo is null" for a while: within ``grace`` seconds of ``started``
    that means "not visible yet"; after it, the task is reported as not found. ``submitted`` is
    False for a wait on a task id this client did not submit (``started`` is then the wait's
    start): its not-found message says to check the id. ``last_state`` is the state of the last
    record seen (None until one was).

    A waiter is kept by each sleeping wait, 10,000 of them at once in a busy program. It holds
    only strings, numbers and booleans, so it can never be part of a reference cycle: it is a
    Struct the garbage collector does not track (``gc=False``), one object less for each of its
    full passes to walk per wait. The poll plan and the jitter come with each :meth:`next_delay`.
    """

    task_id: str
    started: float
    deadline: float
    grace: float = DEFAULT_VISIBILITY_GRACE
    submitted: bool = True
    last_state: str | None = None

    def observe(self, record: TaskRecord | None, now: float) -> TaskRecord | None:
        """Take one observation; return the final record, or None while the task runs.

        Raises :class:`~kieframe.TaskFailed` when the task failed, and
        :class:`~kieframe.NotFoundError` when it stays invisible past the grace window.
        """
        if record is None:
            self.unseen(now)
            return None
        self.last_state = str(record.state)
        if record.failed:
            raise TaskFailed(
                f"task failed: {record.fail_msg or 'no reason given'}"
                + (f" (failCode {record.fail_code})" if record.fail_code else ""),
                task_id=self.task_id,
                fail_code=record.fail_code,
                record=record,
            )
        return record if record.succeeded else None

    def unseen(self, now: float, error: APIError | None = None) -> None:
        """Raise :class:`~kieframe.NotFoundError` if the task is still invisible past the grace.

        ``error`` is kie.ai's answer that does not show it: its code and message are kept. An
        answer without a record has no code of its own: 422, kie.ai's "recordInfo is null".
        """
        if now - self.started <= self.grace or self.last_state is not None:
            return
        if error is None:
            raise NotFoundError(self._unknown(None), code=422, task_id=self.task_id)
        raise NotFoundError(
            self._unknown(error.message),
            code=error.code,
            task_id=self.task_id,
            http_status=error.http_status,
        ) from error

    def _unknown(self, answer: str | None) -> str:
        said = f"it answers {answer!r}" if answer else ""
        if self.submitted:
            return (
                f"kie.ai does not show task {self.task_id}, {self.grace:g} s after it was submitted"
                + (f" ({said})" if said else "")
            )
        return (
            f"kie.ai does not know task {self.task_id} (not seen in {self.grace:g} s of "
            f"waiting{'; ' + said if said else ''}): check the task id"
        )

    def next_delay(self, now: float, plan: PollPlan, jitter: Jitter | None = None) -> float:
        """Seconds until the next poll on ``plan``; a WaitTimeout past the deadline.

        The delay is drawn from ``jitter`` (by default the plan's own random source).
        """
        remaining = self.deadline - now
        if remaining <= 0:
            state = self.last_state
            raise WaitTimeout(
                f"task {self.task_id} did not finish in time (last state: {state or 'not seen'}); "
                "it may still finish: wait for it again with its task id",
                task_id=self.task_id,
                last_state=state,
            )
        return min(plan.delay(now - self.started, jitter), remaining)
