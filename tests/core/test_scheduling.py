"""What many waits share: one timer for their sleeps, a few reader tasks for their reads.

The timers run on an event loop whose clock the test moves by hand; whether a sleeper woke is
checked after a bounded number of loop turns, never against the wall clock.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kieframe
from kieframe._core._scheduling import Handoff, Timers, Workers
from kieframe.testing import Emulator

WAN = "wan/2-5-image-to-video"
INPUT = {"prompt": "a fox in the snow", "image_url": "https://example.com/f.png"}


class FakeClock:
    """An event loop's clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def run_with_fake_clock(test: Callable[[FakeClock], Awaitable[None]]) -> None:
    loop = asyncio.new_event_loop()
    clock = FakeClock()
    loop.time = clock  # type: ignore[method-assign]  # the loop's timers follow the fake clock
    try:
        loop.run_until_complete(test(clock))
    finally:
        loop.close()


async def turns_until(done: Callable[[], bool], turns: int = 1_000) -> None:
    """Let the loop run until ``done()`` holds, or ``turns`` turns have passed."""
    for _ in range(turns):
        if done():
            return
        await asyncio.sleep(0)


@given(
    sleepers=st.lists(
        st.tuples(st.integers(0, 20), st.booleans()),  # (seconds, cancelled before its time)
        min_size=1,
        max_size=40,
    )
)
def test_sleepers_wake_at_their_time_and_a_cancelled_one_disturbs_no_other(
    sleepers: list[tuple[int, bool]],
) -> None:
    async def test(clock: FakeClock) -> None:
        timers = Timers(asyncio.get_running_loop())
        futures = [timers.sleep(seconds) for seconds, _ in sleepers]
        for future, (_, cancel) in zip(futures, sleepers, strict=True):
            if cancel:
                future.cancel()
        start = clock.now
        for moment in sorted({seconds for seconds, _ in sleepers}):
            clock.now = start + moment
            due = [
                f for f, (s, cancel) in zip(futures, sleepers, strict=True)
                if s <= moment and not cancel
            ]  # fmt: skip
            await turns_until(lambda due=due: all(f.done() for f in due))  # type: ignore[misc]
            woken = [
                s for f, (s, cancel) in zip(futures, sleepers, strict=True)
                if not cancel and f.done()
            ]  # fmt: skip
            assert sorted(woken) == sorted(s for s, c in sleepers if s <= moment and not c)
        assert all(
            f.cancelled() for f, (_, cancel) in zip(futures, sleepers, strict=True) if cancel
        )
        assert all(f.result() is None for f in futures if not f.cancelled())

    run_with_fake_clock(test)


def test_more_sleepers_than_a_batch_all_wake_and_other_work_runs_between_batches() -> None:
    async def test(clock: FakeClock) -> None:
        timers = Timers(asyncio.get_running_loop())
        futures = [timers.sleep(5.0) for _ in range(3 * Timers.batch + 1)]
        clock.now += 5.0
        await turns_until(lambda: futures[0].done())
        assert not all(f.done() for f in futures)  # not all in one turn: the loop runs between
        await turns_until(lambda: all(f.done() for f in futures))
        assert all(f.done() for f in futures)

    run_with_fake_clock(test)


async def test_turns_resolve_in_order_a_batch_per_turn_skipping_cancelled_ones() -> None:
    timers = Timers(asyncio.get_running_loop())
    resolved: list[int] = []
    futures = [timers.turn() for _ in range(2 * Timers.batch + 10)]

    def note(n: int, future: asyncio.Future[None]) -> None:
        if not future.cancelled():
            resolved.append(n)

    for n, future in enumerate(futures):
        future.add_done_callback(functools.partial(note, n))
    futures[3].cancel()
    await turns_until(lambda: bool(resolved))
    assert not all(f.done() for f in futures)  # not all in one turn: the loop runs between
    await turns_until(lambda: len(resolved) == len(futures) - 1)
    assert resolved == [n for n in range(len(futures)) if n != 3]


@given(
    outcomes=st.lists(st.sampled_from(["result", "error", "cancel"]), min_size=1, max_size=30),
    order=st.randoms(use_true_random=False),
)
def test_coroutines_awaiting_through_one_handoff_each_get_their_own_outcome(
    outcomes: list[str], order: Any
) -> None:
    """Futures resolved, failed or cancelled (through their task) in any order."""

    async def test() -> None:
        handoff = Handoff()
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[int]] = [loop.create_future() for _ in outcomes]

        async def wait(future: asyncio.Future[int]) -> int:
            await handoff.on(future)
            return future.result()

        tasks = [asyncio.create_task(wait(future)) for future in futures]
        await asyncio.sleep(0)  # every task now waits on its future
        for n in order.sample(range(len(outcomes)), len(outcomes)):
            if outcomes[n] == "result":
                futures[n].set_result(n)
            elif outcomes[n] == "error":
                futures[n].set_exception(ValueError(n))
            else:
                tasks[n].cancel()
        got = await asyncio.gather(*tasks, return_exceptions=True)
        for n, (outcome, result) in enumerate(zip(outcomes, got, strict=True)):
            if outcome == "result":
                assert result == n
            elif outcome == "error":
                assert isinstance(result, ValueError)
                assert result.args == (n,)
            else:
                assert isinstance(result, asyncio.CancelledError)
                assert futures[n].cancelled()  # the task's cancellation reached its future

    asyncio.run(test())


def test_an_earlier_sleeper_added_later_moves_the_timer_forward() -> None:
    async def test(clock: FakeClock) -> None:
        timers = Timers(asyncio.get_running_loop())
        late = timers.sleep(60.0)
        early = timers.sleep(1.0)
        clock.now += 1.0
        await turns_until(early.done)
        assert early.done()
        assert not late.done()

    run_with_fake_clock(test)


def test_cancelled_sleepers_are_swept_while_the_live_ones_keep_their_time() -> None:
    async def test(clock: FakeClock) -> None:
        timers = Timers(asyncio.get_running_loop())
        kept = [timers.sleep(10.0) for _ in range(10)]
        for _ in range(500):  # many waits cancelled long before their time
            timers.sleep(1_000.0).cancel()
        clock.now += 10.0
        await turns_until(lambda: all(f.done() for f in kept))
        assert all(f.done() and not f.cancelled() for f in kept)
        assert len(timers._heap) < 200  # the cancelled ones did not pile up

    run_with_fake_clock(test)


async def test_workers_run_at_most_their_limit_and_each_caller_gets_its_own_outcome() -> None:
    running = 0
    most = 0

    async def work(n: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        for _ in range(3):  # let other items start meanwhile
            await asyncio.sleep(0)
        running -= 1
        if n % 5 == 0:
            raise ValueError(n)
        return n * 2

    workers: Workers[int, int] = Workers(asyncio.get_running_loop(), work, 3)
    futures = [workers.submit(n) for n in range(40)]
    futures[7].cancel()  # a caller gone while its item is queued: its item is skipped
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    for n, outcome in enumerate(outcomes):
        if n == 7:
            assert isinstance(outcome, asyncio.CancelledError)
        elif n % 5 == 0:
            assert isinstance(outcome, ValueError)
            assert outcome.args == (n,)
        else:
            assert outcome == n * 2
    assert most == 3
    await turns_until(lambda: not workers._tasks)
    assert not workers._tasks  # the workers end once the queue is empty


@pytest.mark.parametrize("which", [0, 1])  # started at once, or queued first
async def test_a_caller_cancelled_while_its_item_runs_cancels_that_work_only(which: int) -> None:
    started = [asyncio.Event(), asyncio.Event()]
    release = [asyncio.Event(), asyncio.Event()]
    cancelled = asyncio.Event()

    async def work(n: int) -> int:
        if n < 2:
            started[n].set()
            try:
                await release[n].wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise
        return n

    workers: Workers[int, int] = Workers(asyncio.get_running_loop(), work, 1)
    calls = [asyncio.ensure_future(workers.submit(n)) for n in range(5)]
    release[1 - which].set()
    await started[which].wait()
    calls[which].cancel()
    await cancelled.wait()  # the running work itself was cancelled, not just its outcome dropped
    others = [n for n in range(5) if n != which]
    assert await asyncio.gather(*(calls[n] for n in others)) == others
    with pytest.raises(asyncio.CancelledError):
        await calls[which]


TAG: contextvars.ContextVar[str] = contextvars.ContextVar("tag")


async def test_work_runs_in_the_context_of_the_caller_that_submitted_it() -> None:
    async def work(n: int) -> tuple[int, str]:
        await asyncio.sleep(0)
        seen = TAG.get("none")
        TAG.set("changed by the work")  # stays in the work's copy
        return n, seen

    workers: Workers[int, tuple[int, str]] = Workers(asyncio.get_running_loop(), work, 2)

    async def caller(n: int) -> tuple[int, str]:
        TAG.set(f"caller {n}")
        outcome = await workers.submit(n)
        assert TAG.get() == f"caller {n}"
        return outcome

    outcomes = await asyncio.gather(*(caller(n) for n in range(7)))  # most of them queued
    assert outcomes == [(n, f"caller {n}") for n in range(7)]


async def test_work_queued_from_one_context_does_not_see_the_changes_of_other_work() -> None:
    async def work(n: int) -> str:
        await asyncio.sleep(0)
        seen = TAG.get("none")
        TAG.set(f"changed by work {n}")
        return seen

    workers: Workers[int, str] = Workers(asyncio.get_running_loop(), work, 1)
    TAG.set("caller")
    assert await asyncio.gather(*(workers.submit(n) for n in range(5))) == ["caller"] * 5
    assert TAG.get() == "caller"


async def test_many_waits_with_different_deadlines_each_end_their_own_way(
    kie_async_client: kieframe.AsyncClient, kie_emulator: Emulator
) -> None:
    # Tasks that finish, tasks that never do (their waits end at their own deadline), and one wait
    # cancelled midway: the others do not notice.
    outcomes: list[Any] = ["success", "never", "success", "never", "success", "never"] * 3
    tasks = []
    for outcome in outcomes:
        kie_emulator.script(outcome=outcome)
        tasks.append(await kie_async_client.submit(WAN, INPUT))
    deadlines = [60.0 if o == "success" else 0.2 + 0.05 * n for n, o in enumerate(outcomes)]
    cancelled = asyncio.ensure_future(kie_async_client.wait(tasks[0], timeout=3_600))
    waits = [
        kie_async_client.wait(task, timeout=deadline)
        for task, deadline in zip(tasks, deadlines, strict=True)
    ]
    gathered = asyncio.gather(*waits, return_exceptions=True)
    cancelled.cancel()
    results = await gathered
    for task, outcome, result in zip(tasks, outcomes, results, strict=True):
        if outcome == "success":
            assert isinstance(result, kieframe.TaskRecord)
            assert result.succeeded
            assert result.task_id == task.task_id
        else:
            assert isinstance(result, kieframe.WaitTimeout)
            assert result.task_id == task.task_id
    with pytest.raises(asyncio.CancelledError):
        await cancelled
