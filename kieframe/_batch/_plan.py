"""What a batch will cost in time and reads, worked out before anything is paid (no I/O)."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .._plural import counted, noun_for
from ..lifecycle import PollPlan, RateLimits
from ._lines import LineProblem
from ._records import Reconcile

__all__ = [
    "KIE_CREATES",
    "KIE_CREATE_WINDOW",
    "Pace",
    "Preview",
    "WaitMode",
    "create_rate",
    "polls_per_task",
    "rates",
]

#: kie.ai's create budget: 20 new tasks per 10 seconds per account.
KIE_CREATES = 20
KIE_CREATE_WINDOW = 10.0
# Share of the read budget the batch plans to use for polling (the rest: re-reads, retries).
_READ_SHARE = 0.8


class WaitMode(enum.StrEnum):
    """How a batch learns that its tasks finished."""

    POLLING = "polling"  # polls keep up with creates at the full create rate
    CALLBACKS = "callbacks"  # polls could not keep up: callbacks, with a slow watchdog poll
    PACED = "paced"  # polls could not keep up and there is no callback URL: creates slowed


def polls_per_task(plan: PollPlan, seconds: float) -> int:
    """How many polls a task running ``seconds`` takes under ``plan`` (mid-range delays)."""
    elapsed, count = 0.0, 0
    while elapsed < seconds:
        phase = next(p for p in plan.phases if elapsed < p.until)
        elapsed += (phase.low + phase.high) / 2
        count += 1
    return max(count, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pace:
    """How fast a batch may create: see :func:`rates`."""

    mode: WaitMode
    #: The most creates per second (the create budget).
    create_rate: float
    #: The reads per second polling the tasks would need at the full create rate.
    reads_needed: float
    #: The creates per second to expect when every task takes the typical time.
    expected_rate: float
    #: The most tasks polled at once (``PACED`` only): a finished task frees its place at once.
    in_flight: int | None = None
    #: The reads per second polling only the lines to send would need (None: not counted).
    reads_for_lines: float | None = None


def create_rate(limits: RateLimits) -> float:
    """The most creates per second: the client's budget (kie.ai's, with a margin for network
    jitter, unless configured; kie.ai's own when the client sets none)."""
    if limits.creates <= 0:
        return KIE_CREATES / KIE_CREATE_WINDOW
    return limits.creates / limits.create_window


def rates(
    *,
    limits: RateLimits,
    plan: PollPlan,
    typical_seconds: float,
    callbacks: bool,
    lines: int | None = None,
) -> Pace:
    """The wait mode and the pace of creates for tasks that take ``typical_seconds``.

    The mode is planned for the full create rate, whatever the number of lines: more lines may
    join the batch while it runs (another file, another worker). ``lines`` (the lines to send
    now) only sets :attr:`Pace.reads_for_lines`. When polling cannot follow and there is no
    callback URL, creates are gated on the tasks being polled: at most as many at once as the
    read budget can poll when each takes the typical time (at least one). Tasks that take that
    long then come at the rate the read budget allows; tasks that finish sooner make room
    sooner, up to the create budget.
    """
    most = create_rate(limits)
    polls = polls_per_task(plan, typical_seconds)
    needed = most * polls
    # Polled at once: the tasks created in a typical task's time, or all of them if fewer.
    for_lines = (
        None if lines is None else min(lines, most * typical_seconds) * polls / typical_seconds
    )
    budget = math.inf if limits.reads <= 0 else _READ_SHARE * limits.reads / limits.read_window
    if needed <= budget or callbacks:
        mode = WaitMode.POLLING if needed <= budget else WaitMode.CALLBACKS
        return Pace(mode=mode, create_rate=most, reads_needed=needed, reads_for_lines=for_lines,
                    expected_rate=most)  # fmt: skip
    in_flight = max(1, math.floor(budget * typical_seconds / polls))
    return Pace(
        mode=WaitMode.PACED,
        create_rate=most,
        reads_needed=needed,
        reads_for_lines=for_lines,
        in_flight=in_flight,
        expected_rate=min(most, in_flight / typical_seconds),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Preview:
    """What is known before a batch pays: lines, problems, balance, time floor, wait mode.

    ``create_rate`` is the most creates per second (the create budget); ``floor_seconds`` is
    the least time it allows for the lines still to send; ``reads_needed`` is the reads per
    second polling would need at the full create rate, against ``read_budget`` (the mode is
    planned on it: lines may join while the batch runs), ``reads_for_lines`` what the lines to
    send now would need.
    When polling cannot follow and there is no callback URL (``mode`` is ``PACED``), creates wait
    for room among at most ``in_flight`` tasks being polled at once: tasks that take their
    model's typical time then come at about ``expected_rate`` per second, and tasks that finish
    sooner make room sooner (up to ``create_rate``).
    """

    total: int
    to_send: int
    counts: Mapping[str, int]
    problems: Sequence[LineProblem]
    reconcile: Sequence[Reconcile]
    balance: float | None
    credits_so_far: float
    models: Sequence[str]
    mode: WaitMode
    create_rate: float
    floor_seconds: float
    reads_needed: float
    read_budget: float
    notes: Sequence[str] = field(default_factory=tuple)
    in_flight: int | None = None
    expected_rate: float | None = None
    reads_for_lines: float | None = None

    def describe(self) -> list[str]:
        """The preview as lines of text for people."""
        counts = [f"{count} {status}" for status, count in sorted(self.counts.items())]
        out = [", ".join([f"{counted(self.total, 'line')}: {self.to_send} to send", *counts])]
        if self.problems:
            lines = len({problem.line for problem in self.problems})
            out.append(
                f"{counted(len(self.problems), 'problem')} in"
                f" {counted(lines, 'invalid line')} (skipped)"
            )
        balance = (
            "unknown"
            if self.balance is None
            else f"{self.balance} {noun_for(self.balance, 'credit')}"
        )
        out.append(
            f"balance: {balance}; cost per task: not published by kie.ai for every model "
            f"(see the model's pricing); credits used by this batch so far: {self.credits_so_far:g}"
        )
        out.append(
            f"time floor: {_duration(self.floor_seconds)} for {counted(self.to_send, 'create')} at "
            f"{self.create_rate * 60:.0f} per minute (kie.ai allows {KIE_CREATES} per "
            f"{KIE_CREATE_WINDOW:g} s)"
        )
        these = (
            ""
            if self.reads_for_lines is None
            else f" ({_these(self.to_send)} alone: {self.reads_for_lines:.1f} reads/s)"
        )
        out.append(
            f"waiting {_WAITING[self.mode]}: polling at the full create rate needs "
            f"{self.reads_needed:.1f} reads/s{these} against a budget of {self.read_budget:.1f}/s"
        )
        out += list(self.notes)
        if self.reconcile:
            creates = counted(len(self.reconcile), "create")
            out.append(f"{creates} to reconcile (never resent automatically)")
        return out


def _these(count: int) -> str:
    return "this line" if count == 1 else f"these {count} lines"


#: How the preview says each wait mode.
_WAITING = {
    WaitMode.POLLING: "by polling",
    WaitMode.CALLBACKS: "for callbacks",
    WaitMode.PACED: "by polling, creates paced",
}


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
