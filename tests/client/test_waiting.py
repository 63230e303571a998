"""Waiting: deadlines, unknown states, the "not visible yet" window, and interrupted waits."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import traceback
from pathlib import Path
from typing import Any

import httpx
import pytest

import kieframe
from kieframe._core import _wait
from kieframe._journal import Journal
from kieframe.errors import NotFoundError, ServerError
from kieframe.lifecycle import PollPlan, RateLimits
from kieframe.testing import Emulator, Timing
from kieframe.testing.pytest_plugin import FAST_POLL

WAN = "wan/2-5-image-to-video"
INPUT = {"prompt": "a fox in the snow", "image_url": "https://example.com/f.png"}


def test_deadline_raises_wait_timeout_with_the_task_id(
    kie_client: kieframe.Client, kie_emulator: Emulator
) -> None:
    kie_emulator.script(outcome="never")
    task = kie_client.submit(WAN, INPUT)
    with pytest.raises(kieframe.WaitTimeout) as caught:
        kie_client.wait(task, timeout=0.3)
    assert caught.value.task_id == task.task_id
    assert caught.value.last_state == "generating"
    assert isinstance(caught.value, TimeoutError)
    assert kie_client.get(task).state == "generating"  # the task was not lost


async def test_async_deadline(
    kie_async_client: kieframe.AsyncClient, kie_emulator: Emulator
) -> None:
    kie_emulator.script(outcome="never")
    task = await kie_async_client.submit(WAN, INPUT)
    with pytest.raises(kieframe.WaitTimeout) as caught:
        await kie_async_client.wait(task, timeout=0.2)
    assert caught.value.task_id == task.task_id


def test_an_unknown_state_counts_as_running(
    kie_client: kieframe.Client, kie_emulator: Emulator
) -> None:
    # A phase long enough that a poll every 0.02 s sees it however busy the machine is.
    kie_emulator.script(
        state="rendering", timing=Timing(invisible=0, waiting=0, queuing=0, generating=1.0)
    )
    seen: list[str] = []
    record = kie_client.run(WAN, INPUT, on_update=lambda r: seen.append(str(r.state))).record
    assert "rendering" in seen
    assert record.succeeded


def test_not_visible_yet_is_not_a_failure(kie_emulator: Emulator) -> None:
    kie_emulator.script(timing=Timing(invisible=600))  # not visible during this test
    kie_emulator.script(timing=Timing(invisible=0.4, waiting=0.02, queuing=0.02, generating=0.02))
    with kieframe.Client(
        Emulator.API_KEY, base_url=kie_emulator.base_url, poll=FAST_POLL
    ) as client:
        with pytest.raises(NotFoundError, match="yet"):
            client.get(client.submit(WAN, INPUT))  # a single read says so plainly
        assert client.wait(client.submit(WAN, INPUT)).succeeded


def test_a_task_that_never_appears_is_not_found_after_the_grace_window(
    kie_emulator: Emulator,
) -> None:
    with (
        kieframe.Client(
            Emulator.API_KEY, base_url=kie_emulator.base_url, poll=FAST_POLL, visibility_grace=0.2
        ) as client,
        pytest.raises(NotFoundError) as caught,
    ):
        client.wait("0123456789abcdef0123456789abcdef", timeout=60)  # the grace ends it
    assert caught.value.task_id == "0123456789abcdef0123456789abcdef"
    assert "check the task id" in caught.value.message
    assert "submitted" not in caught.value.message  # this client submitted nothing


def test_a_submitted_task_that_stays_invisible_is_not_found_after_its_grace(
    kie_emulator: Emulator,
) -> None:
    kie_emulator.script(timing=Timing(invisible=600))
    with kieframe.Client(
        Emulator.API_KEY, base_url=kie_emulator.base_url, poll=FAST_POLL, visibility_grace=0.2
    ) as client:
        task = client.submit(WAN, INPUT)
        with pytest.raises(NotFoundError) as caught:
            client.wait(task, timeout=30)
    assert caught.value.task_id == task.task_id
    assert "after it was submitted" in caught.value.message


def _journaled(emulator: Emulator, journal: Path, **options: Any) -> kieframe.Client:
    return kieframe.Client(
        Emulator.API_KEY, base_url=emulator.base_url, poll=FAST_POLL, journal=journal, **options
    )


def test_a_bare_id_the_journal_has_gets_the_grace_from_its_submission(
    kie_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kieframe download ID`` right after ``kieframe submit``: kie.ai may still hide the task."""
    monkeypatch.setattr(_wait, "UNKNOWN_ID_GRACE", 0.05)  # an id from elsewhere: unknown at once
    kie_emulator.script(timing=Timing(invisible=0.6, waiting=0.02, queuing=0.02, generating=0.02))
    with _journaled(kie_emulator, tmp_path / "journal.sqlite3") as client:
        task_id = client.submit(WAN, INPUT).task_id
        assert client.wait(task_id, timeout=30).succeeded
        with pytest.raises(NotFoundError, match="check the task id"):  # not in the journal
            client.wait("0123456789abcdef0123456789abcdef", timeout=30)


async def test_an_async_bare_id_the_journal_has_gets_the_grace_from_its_submission(
    kie_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_wait, "UNKNOWN_ID_GRACE", 0.05)
    kie_emulator.script(timing=Timing(invisible=0.6, waiting=0.02, queuing=0.02, generating=0.02))
    async with kieframe.AsyncClient(
        Emulator.API_KEY,
        base_url=kie_emulator.base_url,
        poll=FAST_POLL,
        journal=tmp_path / "journal.sqlite3",
    ) as client:
        task_id = (await client.submit(WAN, INPUT)).task_id
        assert (await client.wait(task_id, timeout=30)).succeeded


def test_a_journaled_task_that_stays_invisible_is_not_found_after_its_grace(
    kie_emulator: Emulator, tmp_path: Path
) -> None:
    kie_emulator.script(timing=Timing(invisible=600))
    with _journaled(kie_emulator, tmp_path / "journal.sqlite3", visibility_grace=0.2) as client:
        task_id = client.submit(WAN, INPUT).task_id
        with pytest.raises(NotFoundError) as caught:
            client.wait(task_id, timeout=30)
    assert caught.value.task_id == task_id
    assert "after it was submitted" in caught.value.message  # not "check the task id"


def test_a_journal_that_cannot_be_read_leaves_a_bare_id_its_short_grace(
    kie_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def unreadable(*args: object, **kwargs: object) -> float:
        raise OSError("disk gone")

    monkeypatch.setattr(_wait, "UNKNOWN_ID_GRACE", 0.05)
    kie_emulator.script(timing=Timing(invisible=600))
    with _journaled(kie_emulator, tmp_path / "journal.sqlite3") as client:
        task_id = client.submit(WAN, INPUT).task_id
        monkeypatch.setattr(Journal, "submission", unreadable)
        with caplog.at_level(logging.WARNING, logger="kieframe"):
            with pytest.raises(NotFoundError, match="check the task id"):
                client.wait(task_id, timeout=30)
    assert "disk gone" in caplog.text


def test_an_interrupted_wait_keeps_the_task_id(
    kie_client: kieframe.Client, kie_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    kie_emulator.script(outcome="never")
    task = kie_client.submit(WAN, INPUT)

    def interrupt(record: kieframe.TaskRecord) -> None:
        raise KeyboardInterrupt  # what Ctrl-C raises inside the wait

    with caplog.at_level(logging.WARNING, logger="kieframe"):
        with pytest.raises(KeyboardInterrupt) as caught:
            kie_client.wait(task, on_update=interrupt)
    assert any(task.task_id in note for note in caught.value.__notes__)
    assert task.task_id in caplog.text


async def test_a_cancelled_wait_keeps_the_task_id(
    kie_async_client: kieframe.AsyncClient, kie_emulator: Emulator
) -> None:
    kie_emulator.script(outcome="never")
    task = await kie_async_client.submit(WAN, INPUT)
    polled = asyncio.Event()
    waiting = asyncio.create_task(kie_async_client.wait(task, on_update=lambda _: polled.set()))
    await polled.wait()  # the wait is under way
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError) as caught:
        await waiting
    assert any(task.task_id in note for note in caught.value.__notes__)
    assert not (await kie_async_client.get(task.task_id)).finished  # still there, still running

    # asyncio.timeout (wait_for, asyncio.run's Ctrl-C) raises its own exception from the wait's
    # CancelledError: the traceback shows the note on that cause.
    polled.clear()
    waiting = asyncio.create_task(kie_async_client.wait(task, on_update=lambda _: polled.set()))
    await polled.wait()
    with pytest.raises(TimeoutError) as timed_out:
        async with asyncio.timeout(0):  # expired: what it awaits is cancelled at once
            await waiting
    shown = "".join(traceback.format_exception(timed_out.value))
    assert f"task {task.task_id} is still running" in shown


def test_many_concurrent_async_runs(kie_emulator: Emulator) -> None:
    async def main() -> list[kieframe.Result]:
        async with kieframe.AsyncClient(
            Emulator.API_KEY,
            base_url=kie_emulator.base_url,
            poll=FAST_POLL,
            rate_limits=RateLimits.off(),
        ) as client:
            return await asyncio.gather(*(client.run(WAN, INPUT) for _ in range(40)))

    results = asyncio.run(main())
    assert len({r.task_id for r in results}) == 40
    assert all(r.record.succeeded for r in results)
    assert len(kie_emulator.tasks) == 40


def test_client_side_read_limit_avoids_429s() -> None:
    limits = RateLimits()
    assert (limits.reads, limits.read_window) == (10, 1.1)  # kie.ai's 10 per second, plus 10 %
    # The emulator's window is half kie.ai's: a read the busy machine delays by more than the
    # client's 0.1 s margin cannot make the emulator see 11 in a window; an unlimited client would.
    with (
        Emulator(rate_limits=True, window_scale=0.5) as emu,
        kieframe.Client(Emulator.API_KEY, base_url=emu.base_url, poll=FAST_POLL) as client,
    ):
        task = client.submit(WAN, INPUT)
        client.wait(task)
        for _ in range(25):  # more than kie.ai's 10 reads per second
            client.get(task)
        assert emu.stats.rate_limited.get("recordInfo", 0) == 0


def test_the_deadline_holds_while_reads_keep_failing(kie_emulator: Emulator) -> None:
    """Retries of a failing read stop at the wait's deadline, which ends in WaitTimeout."""
    with kieframe.Client(
        Emulator.API_KEY, base_url=kie_emulator.base_url, poll=FAST_POLL, read_retry_timeout=600
    ) as client:
        task = client.submit(WAN, INPUT)
        kie_emulator.fault("recordInfo", "code", code=455, times=10_000)
        with pytest.raises(kieframe.WaitTimeout) as caught:
            client.wait(task, timeout=0.5)
    assert caught.value.task_id == task.task_id
    assert isinstance(caught.value.__context__, ServerError)


@pytest.mark.parametrize("kind", ["http_500", "rate_limited", "drop_before"])
def test_a_wait_outlasts_an_outage_longer_than_one_reads_retries(
    kie_emulator: Emulator, kind: str
) -> None:
    """When one read's retries run out before the deadline, the wait keeps reading."""
    with kieframe.Client(
        Emulator.API_KEY,
        base_url=kie_emulator.base_url,
        poll=FAST_POLL,
        rate_limits=RateLimits.off(),
        read_attempts=2,  # one read gives up after two tries: the outage is longer
    ) as client:
        task = client.submit(WAN, INPUT)
        if kind == "rate_limited":
            kie_emulator.fault("recordInfo", "code", code=429, retry_after=0, times=5)
        else:
            kie_emulator.fault("recordInfo", kind, times=5)  # type: ignore[arg-type]
        assert client.wait(task, timeout=60).succeeded


def _unlimited_async(emu: Emulator, **options: Any) -> kieframe.AsyncClient:
    """An asyncio client for ``emu`` that polls fast, with no client-side rate limits."""
    return kieframe.AsyncClient(
        Emulator.API_KEY,
        base_url=emu.base_url,
        poll=FAST_POLL,
        rate_limits=RateLimits.off(),
        **options,
    )


async def test_an_async_wait_outlasts_an_outage(kie_emulator: Emulator) -> None:
    async with _unlimited_async(kie_emulator, read_attempts=2) as client:
        task = await client.submit(WAN, INPUT)
        kie_emulator.fault("recordInfo", "code", code=455, times=5)
        assert (await client.wait(task, timeout=60)).succeeded


#: Set by each wait below: what its reads should see in httpx's event hooks.
WAITING_FOR: contextvars.ContextVar[str] = contextvars.ContextVar("waiting_for")


async def test_many_waits_at_once_all_finish_each_reading_in_its_own_context(
    kie_emulator: Emulator,
) -> None:
    """More waits than API requests allowed in flight: the rest queue, none is lost.

    Each read runs in its wait's context, whichever wait's read ran before it: a tracing or
    logging context variable reaches httpx's event hooks.
    """
    seen: list[tuple[str, str]] = []

    async def hook(request: httpx.Request) -> None:
        if request.url.path.endswith("/recordInfo"):
            seen.append((request.url.params["taskId"], WAITING_FOR.get("no context")))

    async def wait(client: kieframe.AsyncClient, task: kieframe.Task) -> kieframe.TaskRecord:
        WAITING_FOR.set(task.task_id)
        return await client.wait(task)

    http = httpx.AsyncClient(event_hooks={"request": [hook]})
    async with http, _unlimited_async(kie_emulator, http_client=http) as client:
        tasks = [await client.submit(WAN, INPUT) for _ in range(3)]
        records = await asyncio.gather(*(wait(client, tasks[n % 3]) for n in range(250)))
    assert all(record.succeeded for record in records)
    assert {record.task_id for record in records} == {task.task_id for task in tasks}
    assert len(seen) >= 250
    assert [(read, context) for read, context in seen if read != context] == []


async def test_a_cancelled_wait_cancels_its_read_in_flight() -> None:
    reading, cancelled = asyncio.Event(), asyncio.Event()

    async def kie(request: httpx.Request) -> httpx.Response:
        reading.set()
        try:
            await asyncio.Event().wait()  # an answer that never comes
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    async with kieframe.AsyncClient(
        Emulator.API_KEY, transport=httpx.MockTransport(kie), rate_limits=RateLimits.off()
    ) as client:
        waiting = asyncio.create_task(client.wait("task-1", timeout=3_600))
        await reading.wait()
        waiting.cancel()
        await cancelled.wait()  # the read itself was stopped, not just its answer dropped
        with pytest.raises(asyncio.CancelledError):
            await waiting


async def test_many_sleeping_waits_hold_few_objects_for_the_garbage_collector() -> None:
    # Every full pass of the collector walks every object it tracks: with 10,000 waits in
    # flight, what each sleeping wait holds is the event loop's pause. The caller's own task
    # brings six (the task, its context, asyncio's weak reference to it, its coroutine, the
    # future it awaits and the wake-up call on it); kieframe adds the operation, and no driver
    # (its loop runs in the wait's own coroutine) nor an iterator over the awaited future.
    waits = 500
    read: set[str] = set()
    all_read = asyncio.Event()

    def kie(request: httpx.Request) -> httpx.Response:
        task_id = request.url.params["taskId"]
        read.add(task_id)
        if len(read) > waits:  # and the warm-up's
            all_read.set()
        record = {"taskId": task_id, "state": "generating"}
        return httpx.Response(200, json={"code": 200, "msg": "success", "data": record})

    async with kieframe.AsyncClient(
        Emulator.API_KEY,
        transport=httpx.MockTransport(kie),
        poll=PollPlan.every(3_600.0),
        rate_limits=RateLimits.off(),
    ) as client:
        await client.get("warm-up")  # the connection pool, the reader tasks, the timers
        gc.collect()
        before = len(gc.get_objects())
        tasks = [
            asyncio.ensure_future(client.wait(f"task-{n}", timeout=7_200)) for n in range(waits)
        ]
        await all_read.wait()
        for _ in range(20):  # the last answers are read and the waits go to sleep
            await asyncio.sleep(0)
        gc.collect()
        held = (len(gc.get_objects()) - before) / waits
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert held < 8


async def test_an_async_wait_ended_by_system_exit_names_the_task(
    kie_async_client: kieframe.AsyncClient, kie_emulator: Emulator
) -> None:
    kie_emulator.script(outcome="never")
    task = await kie_async_client.submit(WAN, INPUT)

    def leave(record: kieframe.TaskRecord) -> None:
        raise SystemExit(3)  # an update hook calling sys.exit, as the blocking client is told

    with pytest.raises(SystemExit) as caught:
        await kie_async_client.wait(task, on_update=leave)
    assert any(task.task_id in note for note in caught.value.__notes__)


async def test_the_async_client_awaits_an_async_update_hook(
    kie_async_client: kieframe.AsyncClient,
) -> None:
    seen: list[str] = []

    async def hook(record: kieframe.TaskRecord) -> None:
        await asyncio.sleep(0)
        seen.append(str(record.state))

    result = await kie_async_client.run(WAN, INPUT, on_update=hook)
    assert seen[-1] == "success" == result.record.state
    assert seen == list(dict.fromkeys(seen))  # once per state, in order


async def test_an_async_update_hook_failing_ends_the_async_wait(
    kie_async_client: kieframe.AsyncClient,
) -> None:
    async def hook(record: kieframe.TaskRecord) -> None:
        raise LookupError(record.task_id)

    task = await kie_async_client.submit(WAN, INPUT)
    with pytest.raises(LookupError, match=task.task_id):
        await kie_async_client.wait(task, on_update=hook)


def test_the_blocking_client_refuses_an_async_hook_before_submitting(
    kie_client: kieframe.Client, kie_emulator: Emulator
) -> None:
    async def hook(record: kieframe.TaskRecord) -> None: ...

    with pytest.raises(TypeError, match=r"on_update=.*hook is an async function.*AsyncClient"):
        kie_client.run(WAN, INPUT, on_update=hook)  # type: ignore[arg-type]
    assert kie_emulator.stats.requests.get("createTask", 0) == 0
    task = kie_client.submit(WAN, INPUT)
    with pytest.raises(TypeError, match="async function"):
        kie_client.wait(task, on_update=hook)  # type: ignore[arg-type]


def test_the_blocking_client_refuses_a_hook_returning_an_awaitable(
    kie_client: kieframe.Client,
) -> None:
    async def later(record: kieframe.TaskRecord) -> None: ...

    task = kie_client.submit(WAN, INPUT)
    with pytest.raises(TypeError, match=r"returned coroutine, an awaitable.*AsyncClient"):
        kie_client.wait(task, on_update=lambda record: later(record))  # type: ignore[arg-type]


def test_a_paid_run_stopped_by_an_awaitable_from_a_plain_hook_names_its_task(
    kie_client: kieframe.Client, kie_emulator: Emulator
) -> None:
    # A plain function returning an awaitable can only be refused once it returns one: after the
    # create. The TypeError then names the task, which exists and is paid for.
    async def later(record: kieframe.TaskRecord) -> None: ...

    with pytest.raises(TypeError, match="an awaitable") as caught:
        kie_client.run(WAN, INPUT, on_update=lambda record: later(record))  # type: ignore[arg-type]
    [task] = kie_emulator.tasks
    assert any(task.task_id in note for note in caught.value.__notes__)


@pytest.mark.parametrize("client_kind", ["blocking", "async"])
async def test_any_exception_out_of_a_wait_names_its_task(
    client_kind: str,
    kie_client: kieframe.Client,
    kie_async_client: kieframe.AsyncClient,
    kie_emulator: Emulator,
) -> None:
    kie_emulator.script(outcome="never")

    def broken(record: kieframe.TaskRecord) -> None:
        raise ValueError("the hook's own bug")

    if client_kind == "blocking":
        task = kie_client.submit(WAN, INPUT)
        with pytest.raises(ValueError, match="own bug") as caught:
            kie_client.wait(task, on_update=broken)
    else:
        task = await kie_async_client.submit(WAN, INPUT)
        with pytest.raises(ValueError, match="own bug") as caught:
            await kie_async_client.wait(task, on_update=broken)
    assert any(task.task_id in note for note in caught.value.__notes__)


def test_an_error_that_names_its_task_gets_no_second_note(
    kie_client: kieframe.Client, kie_emulator: Emulator
) -> None:
    kie_emulator.script(outcome="never")
    task = kie_client.submit(WAN, INPUT)
    with pytest.raises(kieframe.WaitTimeout) as caught:
        kie_client.wait(task, timeout=0.01)
    assert caught.value.task_id == task.task_id
    assert not getattr(caught.value, "__notes__", ())
