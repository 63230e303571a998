"""The wait operations without I/O: grace windows, deadlines, outages, callbacks and watchdogs."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest

import kieframe
from kieframe._core._effects import AwaitCallback, Call, Delivery, Effect, Sleep
from kieframe._core._poll import PollPlan
from kieframe._core._read import RECORD_INFO, get_op
from kieframe._core._wait import UNKNOWN_ID_GRACE, WaitOptions, callback_wait_op, wait_op
from kieframe._records import TaskRecord, parse_record
from kieframe.errors import NoAnswerError, NotFoundError, ServerError

from ._script import UNIX_START, LowJitter, Script, envelope, record

TASK = "task-1"
NOT_VISIBLE = partial(envelope, 422, msg="recordInfo is null")
RUNNING = partial(envelope, 200, record(TASK, "generating"))
SUCCESS = partial(
    envelope, 200, record(TASK, "success", resultJson='{"resultUrls": ["https://f/1.mp4"]}')
)
PLAN = PollPlan.every(2.0, 3.0)


def options(script: Script, timeout: float = 60.0, grace: float = 20.0) -> WaitOptions:
    return WaitOptions(
        timeout=timeout, plan=PLAN, grace=grace, clock=script.clock, jitter=LowJitter()
    )


def reads(script: Script) -> list[Call]:
    return [call for call in script.of(Call) if call.path == RECORD_INFO]


def test_a_just_submitted_task_is_first_read_after_one_interval() -> None:
    script = Script(calls=[RUNNING, SUCCESS])
    op = wait_op(TASK, since=UNIX_START, options=options(script))
    assert script.run(op).succeeded
    assert type(script.effects[0]) is Sleep
    assert [s.seconds for s in script.of(Sleep)] == [2.0, 2.0]  # the low end of every range
    assert all(call.retry and call.budget == "read" for call in reads(script))


def test_a_bare_task_id_is_read_at_once() -> None:
    script = Script(calls=[SUCCESS])
    assert script.run(wait_op(TASK, since=None, options=options(script))).succeeded
    assert type(script.effects[0]) is Call


def test_not_visible_within_the_grace_window_means_not_yet() -> None:
    script = Script(calls=[NOT_VISIBLE] * 5 + [SUCCESS])
    assert script.run(wait_op(TASK, since=UNIX_START, options=options(script))).succeeded
    assert len(reads(script)) == 6


def test_not_visible_past_the_grace_window_is_not_found() -> None:
    script = Script(calls=[NOT_VISIBLE] * 100)
    with pytest.raises(NotFoundError, match="after it was submitted") as caught:
        script.run(wait_op(TASK, since=UNIX_START, options=options(script, grace=9.0)))
    assert caught.value.task_id == TASK
    assert script.clock.time() - UNIX_START > 9.0


@pytest.mark.parametrize(
    ("code", "msg", "status"),
    [(404, "task not found", 200), (404, "no such task", 404), (422, "recordInfo is null", 200)],
)
@pytest.mark.parametrize("since", [UNIX_START, None], ids=["submitted", "bare id"])
def test_not_found_past_the_grace_keeps_kies_code_and_message(
    code: int, msg: str, status: int, since: float | None
) -> None:
    script = Script(calls=[partial(envelope, code, msg=msg, status=status)] * 100)
    with pytest.raises(NotFoundError) as caught:
        script.run(wait_op(TASK, since=since, options=options(script, grace=9.0)))
    assert caught.value.code == code
    assert msg in caught.value.message
    assert caught.value.task_id == TASK


def test_a_bare_id_that_is_never_visible_is_reported_as_unknown_soon() -> None:
    script = Script(calls=[NOT_VISIBLE] * 100)
    with pytest.raises(NotFoundError, match="check the task id"):
        script.run(wait_op(TASK, since=None, options=options(script, grace=600.0)))
    assert script.clock.time() - UNIX_START <= UNKNOWN_ID_GRACE + PLAN.phases[-1].high


def test_the_deadline_ends_the_wait_with_the_task_id_and_last_state() -> None:
    script = Script(calls=[RUNNING] * 100)
    with pytest.raises(kieframe.WaitTimeout) as caught:
        script.run(wait_op(TASK, since=UNIX_START, options=options(script, timeout=15.0)))
    assert (caught.value.task_id, caught.value.last_state) == (TASK, "generating")
    assert script.clock.time() - UNIX_START == pytest.approx(15.0)  # no sleep past the deadline
    assert all(call.deadline == 5_000.0 + 15.0 for call in reads(script))


def test_a_failed_task_raises_task_failed_with_its_record() -> None:
    failed = partial(envelope, 200, record(TASK, "fail", failCode="500", failMsg="moderation"))
    script = Script(calls=[RUNNING, failed])
    with pytest.raises(kieframe.TaskFailed) as caught:
        script.run(wait_op(TASK, since=None, options=options(script)))
    assert (caught.value.fail_code, caught.value.record.fail_msg) == ("500", "moderation")


def test_an_outage_longer_than_a_reads_retries_is_waited_out() -> None:
    outage = [ServerError("down"), NoAnswerError("no answer"), partial(envelope, 455)]
    script = Script(calls=[*outage, SUCCESS])
    assert script.run(wait_op(TASK, since=None, options=options(script))).succeeded
    assert [s.seconds for s in script.of(Sleep)] == [2.0, 4.0, 8.0]  # doubling pauses


def test_an_outage_past_the_deadline_ends_in_wait_timeout() -> None:
    script = Script(calls=[ServerError("down")] * 100)
    with pytest.raises(kieframe.WaitTimeout) as caught:
        script.run(wait_op(TASK, since=None, options=options(script, timeout=30.0)))
    assert isinstance(caught.value.__context__, ServerError)


def test_a_final_api_error_ends_the_wait() -> None:
    script = Script(calls=[partial(envelope, 401, msg="bad key")])
    with pytest.raises(kieframe.AuthenticationError):
        script.run(wait_op(TASK, since=None, options=options(script)))


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, asyncio.CancelledError])
def test_an_interrupted_wait_stops_at_once(interrupt: type[BaseException]) -> None:
    def at_sleep(effect: Effect) -> BaseException | None:
        return interrupt() if isinstance(effect, Sleep) else None

    script = Script(calls=[RUNNING], interrupt=at_sleep)
    with pytest.raises(interrupt):
        script.run(wait_op(TASK, since=None, options=options(script)))
    assert len(reads(script)) == 1


def test_updates_are_reported_once_per_state() -> None:
    seen: list[str] = []
    script = Script(calls=[RUNNING, RUNNING, SUCCESS])
    waiting = options(script)
    waiting.on_update = lambda update: seen.append(str(update.state))
    script.run(wait_op(TASK, since=None, options=waiting))
    assert seen == ["generating", "success"]


OTHER_TASK = partial(
    envelope, 200, record("task-2", "success", resultJson='{"resultUrls": ["https://f/2.mp4"]}')
)


def test_a_record_of_another_task_never_settles_the_wait() -> None:
    """A server that answers another task's record is an outage, read again: never a result."""
    script = Script(calls=[OTHER_TASK, SUCCESS])
    final = script.run(wait_op(TASK, since=None, options=options(script)))
    assert (final.task_id, final.result_urls) == (TASK, ("https://f/1.mp4",))
    assert len(reads(script)) == 2
    mixed_up = Script(calls=[OTHER_TASK] * 100)
    with pytest.raises(kieframe.WaitTimeout) as caught:
        mixed_up.run(wait_op(TASK, since=None, options=options(mixed_up, timeout=20.0)))
    assert "task-2" in str(caught.value.__context__)


def test_get_refuses_a_record_of_another_task() -> None:
    script = Script(calls=[OTHER_TASK])
    with pytest.raises(ServerError, match="task-2"):
        script.run(get_op(TASK))


@pytest.mark.parametrize("same", [TASK, f" {TASK} "])
def test_a_record_naming_the_task_or_none_is_its_record(same: str) -> None:
    named = partial(envelope, 200, {**record(TASK, "generating"), "taskId": same})
    unnamed = partial(
        envelope, 200, {k: v for k, v in record(TASK, "success").items() if k != "taskId"}
    )
    script = Script(calls=[named, unnamed])
    assert script.run(wait_op(TASK, since=None, options=options(script))).task_id == TASK


def test_get_turns_not_visible_into_not_found() -> None:
    script = Script(calls=[NOT_VISIBLE])
    with pytest.raises(NotFoundError, match="shows no task"):
        script.run(get_op(TASK))


# -- by callback ---------------------------------------------------------------------------


def delivered(seq: int, state: str, *, confirmed: bool) -> Delivery:
    return Delivery(seq, parse_record(record(TASK, state)), confirmed)


def wait_for_callback(script: Script, *, since: float | None, watchdog: float = 60.0) -> TaskRecord:
    op = callback_wait_op(
        TASK, since=since, options=options(script, timeout=600), watchdog=watchdog
    )
    return script.run(op)


def test_a_confirmed_callback_ends_the_wait_without_a_read() -> None:
    script = Script(callbacks=[delivered(1, "success", confirmed=True)])
    assert wait_for_callback(script, since=UNIX_START).succeeded
    assert reads(script) == []
    [waited] = script.of(AwaitCallback)
    assert waited.timeout == 60.0  # until the first watchdog poll, a watchdog after submission


def test_an_unconfirmed_callback_is_read_again_before_it_is_trusted() -> None:
    script = Script(callbacks=[delivered(4, "success", confirmed=False)], calls=[SUCCESS])
    assert wait_for_callback(script, since=UNIX_START).succeeded
    assert len(reads(script)) == 1


def test_without_a_callback_the_watchdog_polls() -> None:
    script = Script(callbacks=[None, None], calls=[RUNNING, SUCCESS])
    assert wait_for_callback(script, since=UNIX_START, watchdog=30.0).succeeded
    assert len(reads(script)) == 2
    first, second = script.of(AwaitCallback)
    assert first.timeout == 30.0
    assert second.timeout == 30.0  # the low end of the watchdog's jitter


def test_a_later_callback_wait_asks_only_for_newer_deliveries() -> None:
    script = Script(
        callbacks=[
            delivered(3, "generating", confirmed=True),
            delivered(5, "success", confirmed=True),
        ]
    )
    assert wait_for_callback(script, since=UNIX_START).succeeded
    assert [w.after for w in script.of(AwaitCallback)] == [0, 3]


def test_a_bare_id_waiting_for_a_callback_is_read_at_once() -> None:
    script = Script(calls=[SUCCESS])
    assert wait_for_callback(script, since=None).succeeded
    assert type(script.effects[0]) is Call
