"""What a batch will cost in time and reads, worked out before anything is paid (no I/O)."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..lifecycle import PollPlan, RateLimits
from ._lines import LineProblem
from ._records import Reconcile

__all__ = ["KIE_CREATES", "KIE_CREATE_WINDOW", "Preview", "WaitMode", "polls_per_task", "rates"]

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


def rates(
    *, limits: RateLimits, plan: PollPlan, typical_seconds: float, callbacks: bool
) -> tuple[WaitMode, float, float]:
    """The wait mode, the creates per second to plan for, and the reads per second polling
    all tasks at the full create rate would need."""
    # The client's budget (kie.ai's, with a margin for network jitter, unless configured).
    create_rate = (
        KIE_CREATES / KIE_CREATE_WINDOW
        if limits.creates <= 0
        else limits.creates / limits.create_window
    )
    polls = polls_per_task(plan, typical_seconds)
    needed = create_rate * polls
    budget = math.inf if limits.reads <= 0 else _READ_SHARE * limits.reads / limits.read_window
    if needed <= budget:
        return WaitMode.POLLING, create_rate, needed
    if callbacks:
        return WaitMode.CALLBACKS, create_rate, needed
    return WaitMode.PACED, budget / polls, needed


@dataclass(frozen=True, slots=True, kw_only=True)
class Preview:
    """What is known before a batch pays: lines, problems, balance, time floor, wait mode.

    ``create_rate`` is the creates per second the batch will keep (below the budget when polling
    cannot follow and there is no callback URL); ``floor_seconds`` is the least time the
    create budget allows for the lines still to send; ``reads_needed`` is the reads per second
    polling would need at the full create rate, against ``read_budget``.
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

    def describe(self) -> list[str]:
        """The preview as lines of text for people."""
        out = [
            f"{self.total} lines: {self.to_send} to send, "
            + ", ".join(f"{count} {status}" for status, count in sorted(self.counts.items()))
        ]
        if self.problems:
            out.append(f"{len(self.problems)} problems in invalid lines (they are skipped)")
        balance = "unknown" if self.balance is None else f"{self.balance} credits"
        out.append(
            f"balance: {balance}; cost per task: not published by kie.ai for every model "
            f"(see the model's pricing); credits used by this batch so far: {self.credits_so_far:g}"
        )
        out.append(
            f"time floor: {_duration(self.floor_seconds)} for {self.to_send} creates at "
            f"{self.create_rate * 60:.0f} per minute (kie.ai allows {KIE_CREATES} per "
            f"{KIE_CREATE_WINDOW:g} s)"
        )
        out.append(
            f"waiting by {self.mode.value}: polling every task at the create rate needs "
            f"{self.reads_needed:.1f} reads/s against a budget of {self.read_budget:.1f}/s"
        )
        out += list(self.notes)
        if self.reconcile:
            out.append(f"{len(self.reconcile)} creates to reconcile (never resent automatically)")
        return out


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
