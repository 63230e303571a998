"""The pre-pay plan: polls per task, and when creates must slow down or wait by callbacks."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import kieframe
from kieframe._batch._plan import polls_per_task, rates
from kieframe._cli import _commands  # noqa: F401 - loads _batch (which alone is a cycle)
from kieframe._cli._batch import _status_line
from kieframe.batch import (
    BatchConflict,
    BatchInvalid,
    BatchStatus,
    LineProblem,
    Preview,
    Reconcile,
    WaitMode,
)

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


@given(st.integers(0, 10_000), SECONDS)
def test_the_lines_to_send_never_need_more_reads_than_the_full_rate(
    lines: int, seconds: float
) -> None:
    plan = kieframe.PollPlan()
    pace = rates(
        limits=kieframe.RateLimits(), plan=plan, typical_seconds=seconds, callbacks=False,
        lines=lines,
    )  # fmt: skip
    assert pace.reads_for_lines is not None
    assert pace.reads_for_lines <= pace.reads_needed * (1 + 1e-9)
    assert pace.reads_for_lines <= lines * polls_per_task(plan, seconds) / seconds * (1 + 1e-9)


def test_two_lines_of_three_minute_tasks_need_a_few_reads_not_the_full_rates() -> None:
    plan = kieframe.PollPlan()
    pace = rates(
        limits=kieframe.RateLimits(), plan=plan, typical_seconds=180, callbacks=False, lines=2
    )
    assert pace.reads_for_lines == 2 * polls_per_task(plan, 180) / 180
    assert pace.reads_needed > 10 * pace.reads_for_lines  # the mode is planned on the full rate


def _preview(**options: Any) -> Preview:
    base: dict[str, Any] = {
        "total": 0, "to_send": 0, "counts": {}, "problems": (), "reconcile": (), "balance": None,
        "credits_so_far": 0.0, "models": (), "mode": WaitMode.PACED, "create_rate": 1.9,
        "floor_seconds": 0.0, "reads_needed": 1.0, "read_budget": 8.0,
    }  # fmt: skip
    return Preview(**(base | options))


def test_the_preview_reads_as_sentences() -> None:
    empty = _preview().describe()
    assert empty[0] == "0 lines: 0 to send"
    assert "waiting by polling, creates paced:" in "\n".join(empty)
    assert "by paced" not in "\n".join(empty)
    counted = _preview(
        total=3, to_send=2, counts={"pending": 2, "succeeded": 1}, reads_for_lines=0.25
    ).describe()
    assert counted[0] == "3 lines: 2 to send, 2 pending, 1 succeeded"
    assert "these 2 lines alone: 0.2 reads/s" in "\n".join(counted)
    callbacks = "\n".join(_preview(mode=WaitMode.CALLBACKS).describe())
    assert "waiting for callbacks:" in callbacks


#: A count of one with a plural noun ("1 lines", "these 1 lines", "1 line ids are").
ONE_PLURAL = re.compile(
    r"(?<![\d.])1 (lines|creates|problems|invalid (input )?lines|credits|line ids|tasks)\b"
    r"|these 1 |1 line id are"
)


@given(
    total=st.integers(0, 3),
    problems=st.integers(0, 3),
    reconcile=st.integers(0, 3),
    balance=st.sampled_from([None, 0, 1, 2, 1.5]),
    credits=st.sampled_from([0.0, 1.0, 2.0, 0.5]),
)
def test_batch_texts_put_their_nouns_in_the_number_their_counts_call_for(
    total: int, problems: int, reconcile: int, balance: float | None, credits: float
) -> None:
    found = [
        LineProblem(line=n + 1, id=None, field="prompt", message="bad") for n in range(problems)
    ]
    opened = [
        Reconcile(id=f"l{n}", line=n + 1, model=None, sent_input=None, sent_at=None,
                  callback_url=None, reason=None)
        for n in range(reconcile)
    ]  # fmt: skip
    preview = _preview(
        total=total, to_send=total, problems=tuple(found), reconcile=tuple(opened),
        balance=balance, reads_for_lines=0.5, floor_seconds=1.0,
    )  # fmt: skip
    status = BatchStatus(
        total=total, counts={"pending": total}, creates_per_minute=1, create_budget=114,
        eta_seconds=None, bytes_downloaded=0, credits=credits, running=False,
    )  # fmt: skip
    ids = [f"l{n}" for n in range(total)]
    texts = [*preview.describe(), _status_line(status), str(BatchConflict(ids))]
    if found:
        texts.append(str(BatchInvalid(found)))
    for text in texts:
        assert not ONE_PLURAL.search(text), text
    if total == 1:
        assert "1 line: 1 to send" in texts[0]
        assert "for 1 create at" in "\n".join(texts)
        assert "(this line alone:" in "\n".join(texts)
        assert "1 line id is already" in texts[-1 if not found else -2]
