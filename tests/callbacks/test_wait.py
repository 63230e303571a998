"""wait() by callback: resolved by the receiver, with polling only as a slow watchdog."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from waiting import wait_for

import kieframe
from kieframe.callbacks import CallbackHub, CallbackReceiver, CallbackServer
from kieframe.testing._emulator import Emulator, Timing

from ._support import HAILUO, INPUT, KEY, NO_WATCHDOG, async_client, client, record_count


@pytest.fixture
def plain(emulator: Emulator) -> Iterator[kieframe.Client]:
    with client(emulator) as polling:
        yield polling


def test_submit_sends_the_callback_url(emulator: Emulator, plain: kieframe.Client) -> None:
    task = plain.submit(HAILUO, INPUT, callback_url="https://hooks.example.com/kie?x=1")
    assert task.callback_url == "https://hooks.example.com/kie?x=1"
    (info,) = emulator.tasks
    assert info.callback_url == "https://hooks.example.com/kie?x=1"
    record = wait_for(lambda: emulator.record(task.task_id))
    assert json.loads(record["param"])["callBackUrl"] == task.callback_url


@pytest.mark.parametrize("url", ["ftp://example.com/cb", "not a url", "/relative", ""])
def test_a_callback_url_that_is_not_http_is_refused_before_sending(
    emulator: Emulator, plain: kieframe.Client, url: str
) -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        plain.submit(HAILUO, INPUT, callback_url=url)
    assert caught.value.fields == ("callback_url",)
    assert emulator.stats.requests.get("createTask", 0) == 0


def test_wait_returns_on_the_callback_without_polling(
    emulator: Emulator,
    receiver: CallbackReceiver,
    server: CallbackServer,
) -> None:
    updates: list[kieframe.TaskRecord] = []
    with client(emulator, callbacks=receiver) as waiting:
        task = waiting.submit(HAILUO, INPUT, callback_url=server.url)
        record = waiting.wait(task, timeout=30, on_update=updates.append)
    assert (record.task_id, record.succeeded) == (task.task_id, True)
    assert [u.state for u in updates] == ["success"]
    assert record_count(emulator) == 1  # the receiver's re-read; the wait itself never polled


def test_wait_after_the_callback_arrived_returns_at_once(
    emulator: Emulator,
    receiver: CallbackReceiver,
    server: CallbackServer,
) -> None:
    with client(emulator, callbacks=receiver.hub) as waiting:
        task = waiting.submit(HAILUO, INPUT, callback_url=server.url)
        wait_for(lambda: receiver.stats.delivered)
        assert waiting.wait(task, timeout=30).task_id == task.task_id
        assert receiver.hub.waiting == 0
    assert record_count(emulator) == 1


def test_a_failure_callback_raises_task_failed(
    emulator: Emulator,
    receiver: CallbackReceiver,
    server: CallbackServer,
) -> None:
    emulator.script(outcome="fail", fail_code="500", fail_msg="boom")
    with client(emulator, callbacks=receiver) as waiting:
        task = waiting.submit(HAILUO, INPUT, callback_url=server.url)
        with pytest.raises(kieframe.TaskFailed) as caught:
            waiting.wait(task, timeout=30)
    assert (caught.value.task_id, caught.value.fail_code) == (task.task_id, "500")
    assert record_count(emulator) == 1


def test_a_lost_callback_is_recovered_by_the_watchdog(emulator: Emulator) -> None:
    emulator.callbacks_mode(lose=True)
    # The task is finished when it is created, so the first watchdog poll finds it, however
    # late the busy machine runs that poll.
    emulator.script(timing=Timing(invisible=0, waiting=0, queuing=0, generating=0))
    receiver = CallbackReceiver(hmac_key=KEY, hub=CallbackHub(watchdog=0.3))
    with (
        CallbackServer(receiver) as server,
        client(emulator, receiver) as waiting,
    ):
        task = waiting.submit(HAILUO, INPUT, callback_url=server.url)
        record = waiting.wait(task, timeout=30)
    assert record.succeeded
    (attempt,) = wait_for(lambda: emulator.callback_log)  # logged on the emulator's own loop
    assert attempt.lost
    assert receiver.stats.accepted == 0
    assert record_count(emulator) == 1


def test_the_watchdog_times_out_a_task_that_never_ends(emulator: Emulator) -> None:
    emulator.script(outcome="never")
    hub = CallbackHub(watchdog=0.1)
    with client(emulator, callbacks=hub) as waiting:
        task = waiting.submit(HAILUO, INPUT, callback_url="https://hooks.example.com/kie")
        with pytest.raises(kieframe.WaitTimeout) as caught:
            waiting.wait(task, timeout=1.0)
    assert caught.value.task_id == task.task_id
    assert caught.value.last_state == "generating"
    # A few watchdog polls, at least 0.1 s apart (one more at the deadline): at most 12 in the
    # second, however the machine schedules them; the client's 0.05 s poll loop would make ~20.
    assert 2 <= record_count(emulator) <= 12


def test_an_unconfirmed_callback_is_reread_by_the_wait(emulator: Emulator) -> None:
    # No client on the receiver: it cannot re-read, so each wait re-reads its own task.
    receiver = CallbackReceiver(hmac_key=KEY, hub=CallbackHub(watchdog=600))
    with (
        CallbackServer(receiver) as server,
        client(emulator, receiver) as waiting,
    ):
        tasks = [waiting.submit(HAILUO, INPUT, callback_url=server.url) for _ in range(3)]
        records = [waiting.wait(task, timeout=30) for task in tasks]
    assert all(r.succeeded for r in records)
    assert record_count(emulator) == 3


def test_a_task_id_without_a_handle_is_polled(
    emulator: Emulator,
    receiver: CallbackReceiver,
    server: CallbackServer,
) -> None:
    with client(emulator, callbacks=receiver) as waiting:
        task = waiting.submit(HAILUO, INPUT, callback_url=server.url)
        assert waiting.wait(task.task_id, timeout=30).succeeded


def test_many_blocking_waits_share_one_receiver(
    emulator: Emulator,
    receiver: CallbackReceiver,
    server: CallbackServer,
) -> None:
    count = 100
    with client(emulator, callbacks=receiver) as waiting:
        tasks = [waiting.submit(HAILUO, INPUT, callback_url=server.url) for _ in range(count)]
        with ThreadPoolExecutor(count) as pool:
            records = list(pool.map(lambda task: waiting.wait(task, timeout=60), tasks))
    assert [r.task_id for r in records] == [t.task_id for t in tasks]
    assert all(r.succeeded for r in records)
    assert record_count(emulator) == count  # re-reads only


async def test_hundreds_of_tasks_resolve_by_callback_with_no_polling(
    emulator: Emulator, reader: kieframe.Client
) -> None:
    count = 250  # five times the submit concurrency; thousands are benchmarks/bench_receiver.py's
    receiver = CallbackReceiver(hmac_key=KEY, client=reader, hub=CallbackHub(watchdog=NO_WATCHDOG))
    started = time.monotonic()
    with CallbackServer(receiver) as server:
        async with async_client(emulator, callbacks=receiver) as waiting:
            gate = asyncio.Semaphore(50)

            async def one() -> kieframe.TaskRecord:
                async with gate:
                    task = await waiting.submit(HAILUO, INPUT, callback_url=server.url)
                return await waiting.wait(task, timeout=120)

            records = await asyncio.gather(*(one() for _ in range(count)))
    assert len({r.task_id for r in records}) == count
    assert all(r.succeeded for r in records)
    assert emulator.stats.requests["createTask"] == count
    assert record_count(emulator) == count  # the receiver's re-reads; no wait polled
    assert receiver.stats.delivered == count
    assert receiver.hub.waiting == 0
    print(f"\n{count} tasks by callback in {time.monotonic() - started:.1f} s")


async def test_an_async_wait_is_woken_by_the_callback(
    emulator: Emulator,
    receiver: CallbackReceiver,
    server: CallbackServer,
) -> None:
    seen: list[str] = []

    async def on_update(record: kieframe.TaskRecord) -> None:  # awaited, as a polled wait's
        await asyncio.sleep(0)
        seen.append(str(record.state))

    async with async_client(emulator, callbacks=receiver) as waiting:
        task = await waiting.submit(HAILUO, INPUT, callback_url=server.url)
        record = await waiting.wait(task, timeout=30, on_update=on_update)
    assert record.task_id == task.task_id
    assert record_count(emulator) == 1
    assert seen[-1] == "success"  # the callback's record, hook awaited


def test_the_default_watchdog_is_a_minute_or_half_the_typical_run() -> None:
    hub = CallbackHub()
    assert hub.watchdog_interval(30) == 60
    assert hub.watchdog_interval(600) == 300
    assert CallbackHub(watchdog=5).watchdog_interval(600) == 5
