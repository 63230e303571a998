"""The pre-pay plan: polls per task, and when creates must slow down or wait by callbacks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import kieframe
from kieframe._batch._plan import polls_per_task, rates
from kieframe.batch import WaitMode

SECONDS = st.floats(min_value=0.01, max_value=3600)


@given(SECONDS, SECONDS)
def test_longer_tasks_never_need_fewer_polls(a: float, b: float) -> None:
    plan = kieframe.PollPlan()
    low, high = sorted((a, b))
    assert 1 <= polls_per_task(plan, low) <= polls_per_task(plan, high)


@given(SECONDS, st.booleans(), st.integers(1, 40), st.floats(0.5, 5))
def test_polling_never_plans_past_the_read_budget(
    seconds: float, callbacks: bool, reads: int, window: float
) -> None:
    limits = kieframe.RateLimits(reads=reads, read_window=window)
    plan = kieframe.PollPlan()
    pace = rates(limits=limits, plan=plan, typical_seconds=seconds, callbacks=callbacks)
    budget = 0.8 * reads / window
    full = limits.creates / limits.create_window
    assert pace.create_rate == full  # the time floor's rate: never below the create budget
    if pace.mode == WaitMode.POLLING:
        assert pace.reads_needed <= budget
    elif pace.mode == WaitMode.CALLBACKS:
        assert callbacks
    else:
        assert not callbacks
        assert pace.in_flight is not None
        assert pace.in_flight >= 1
        # Tasks of the typical length, as many at once as allowed, poll within the budget
        # (but one task is always allowed) and come no faster than the create budget.
        polls = polls_per_task(plan, seconds)
        assert pace.in_flight == 1 or pace.in_flight * polls / seconds <= budget * (1 + 1e-9)
        assert pace.expected_rate * polls <= max(budget, polls / seconds) * (1 + 1e-9)
        assert pace.expected_rate <= full
    if pace.mode != WaitMode.PACED:
        assert pace.in_flight is None


def test_kies_schedule_cannot_poll_three_minute_tasks_at_the_create_rate() -> None:
    pace = rates(
        limits=kieframe.RateLimits(), plan=kieframe.PollPlan(), typical_seconds=180,
        callbacks=False,
    )  # fmt: skip
    assert pace.mode == WaitMode.PACED
    assert pace.reads_needed > 10
    assert pace.expected_rate * 60 < 20
    assert pace.in_flight is not None
    assert pace.in_flight > 1


def test_a_fast_poll_still_lets_one_task_in_flight() -> None:
    # Polling every 0.2 s for hailuo's typical 240 s: more reads than the budget for a single
    # task; one task at a time is still polled (the client's read budget spaces its polls).
    pace = rates(
        limits=kieframe.RateLimits(), plan=kieframe.PollPlan.every(0.2), typical_seconds=240,
        callbacks=False,
    )  # fmt: skip
    assert pace.mode == WaitMode.PACED
    assert pace.in_flight == 1
