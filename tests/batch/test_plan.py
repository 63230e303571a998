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
    mode, rate, needed = rates(
        limits=limits, plan=plan, typical_seconds=seconds, callbacks=callbacks
    )
    budget = 0.8 * reads / window
    full = limits.creates / limits.create_window
    if mode == WaitMode.POLLING:
        assert needed <= budget
        assert rate == full
    elif mode == WaitMode.CALLBACKS:
        assert callbacks
        assert rate == full
    else:
        assert not callbacks
        assert rate * polls_per_task(plan, seconds) <= budget * (1 + 1e-9)
        assert rate < full


def test_kies_schedule_cannot_poll_three_minute_tasks_at_the_create_rate() -> None:
    mode, rate, needed = rates(
        limits=kieframe.RateLimits(), plan=kieframe.PollPlan(), typical_seconds=180,
        callbacks=False,
    )  # fmt: skip
    assert mode == WaitMode.PACED
    assert needed > 10
    assert rate * 60 < 20
