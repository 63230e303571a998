"""The sans-I/O lifecycle: poll schedule, jitter, deadlines and the visibility grace window."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kieframe
from kieframe._core._poll import Waiter
from kieframe._records import parse_record
from kieframe.errors import NotFoundError
from kieframe.lifecycle import PollPhase, PollPlan


def _record(state: str, **extra: object) -> kieframe.TaskRecord:
    return parse_record({"taskId": "t1", "state": state, **extra})


@given(elapsed=st.floats(0, 10_000), seed=st.integers())
def test_default_plan_follows_kies_schedule(elapsed: float, seed: int) -> None:
    delay = PollPlan(rng=random.Random(seed)).delay(elapsed)
    if elapsed < 30:
        assert 2 <= delay <= 3
    elif elapsed < 120:
        assert 5 <= delay <= 10
    else:
        assert 15 <= delay <= 30


def test_plan_is_jittered() -> None:
    plan = PollPlan(rng=random.Random(1))
    assert len({plan.delay(0) for _ in range(20)}) > 1


def test_plan_must_end_open() -> None:
    with pytest.raises(ValueError, match=r"math\.inf"):
        PollPlan(phases=(PollPhase(10, 1, 2),))
    with pytest.raises(ValueError, match="low <= high"):
        PollPhase(math.inf, 2, 1)


@given(now=st.floats(0, 1000), deadline=st.floats(0, 1000))
def test_delay_never_passes_the_deadline(now: float, deadline: float) -> None:
    waiter = Waiter("t1", started=0.0, deadline=deadline)
    if now >= deadline:
        with pytest.raises(kieframe.WaitTimeout):
            waiter.next_delay(now, PollPlan())
    else:
        assert 0 < waiter.next_delay(now, PollPlan()) <= deadline - now


@given(
    state=st.text(min_size=1, max_size=12).filter(
        lambda s: s.strip().lower() not in {"success", "fail"}
    )
)
def test_any_other_state_is_still_running(state: str) -> None:
    waiter = Waiter("t1", started=0.0, deadline=100.0)
    assert waiter.observe(_record(state), now=1.0) is None


def test_success_returns_the_record_and_failure_raises() -> None:
    waiter = Waiter("t1", started=0.0, deadline=100.0)
    done = _record("success", resultJson='{"resultUrls": ["https://x/v.mp4"]}')
    assert waiter.observe(done, now=1.0) is done
    with pytest.raises(kieframe.TaskFailed) as caught:
        waiter.observe(_record("fail", failCode="501", failMsg="nsfw"), now=2.0)
    assert caught.value.fail_code == "501"


def test_invisible_within_grace_then_not_found() -> None:
    waiter = Waiter("t1", started=0.0, deadline=100.0, grace=10.0)
    assert waiter.observe(None, now=5.0) is None
    with pytest.raises(NotFoundError):
        waiter.observe(None, now=11.0)


def test_invisible_after_being_seen_is_tolerated() -> None:
    waiter = Waiter("t1", started=0.0, deadline=100.0, grace=1.0)
    waiter.observe(_record("generating"), now=0.5)
    assert waiter.observe(None, now=50.0) is None


def test_timeout_names_the_last_state() -> None:
    waiter = Waiter("t1", started=0.0, deadline=10.0)
    waiter.observe(_record("queuing"), now=1.0)
    with pytest.raises(kieframe.WaitTimeout) as caught:
        waiter.next_delay(10.0, PollPlan())
    assert caught.value.last_state == "queuing"
    assert caught.value.task_id == "t1"
