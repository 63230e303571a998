"""A callback is never dropped: kie.ai's record lagging its callback, or a re-read that fails."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest
from waiting import wait_for

import kieframe
from kieframe.callbacks import CallbackHub, CallbackReceiver, CallbackServer
from kieframe.testing._emulator import Emulator

from ._support import HAILUO, INPUT, KEY, NO_WATCHDOG, async_client, client, signed_headers


def running_answer(task_id: str) -> bytes:
    """recordInfo's answer for a task still generating: what a lagging server says at first."""
    data = {"taskId": task_id, "state": "generating"}
    return json.dumps({"code": 200, "msg": "success", "data": data}).encode()


def awaiting_callback(task: kieframe.Task) -> kieframe.Task:
    """The task's handle as if submitted with a callback URL: its wait awaits the callback."""
    return dataclasses.replace(task, callback_url="http://127.0.0.1:9/never-called")


def post_callback(url: str, emu: Emulator, task_id: str) -> None:
    body = json.dumps({"code": 200, "msg": "success", "data": emu.record(task_id)})
    answer = httpx.post(url, content=body, headers=signed_headers(task_id), timeout=10)
    assert answer.status_code == 200


@pytest.fixture
def submitted(emulator: Emulator, reader: kieframe.Client) -> kieframe.Task:
    """A task that has succeeded (its callback not sent: the tests post it)."""
    task = reader.submit(HAILUO, INPUT)
    reader.wait(task, timeout=10)
    return task


def test_a_record_that_lags_its_callback_is_read_again_until_it_shows_the_end(
    emulator: Emulator, submitted: kieframe.Task, server: CallbackServer,
    receiver: CallbackReceiver, handled: list[kieframe.TaskRecord],
) -> None:  # fmt: skip
    emulator.fault("recordInfo", "raw", code=200, body=running_answer(submitted.task_id))
    post_callback(server.url, emulator, submitted.task_id)
    (record,) = wait_for(lambda: handled)
    assert record.succeeded
    delivery = receiver.hub.wait(submitted.task_id, timeout=0)
    assert delivery is not None
    assert delivery.confirmed


def test_a_record_kie_does_not_show_yet_is_read_again(
    emulator: Emulator, submitted: kieframe.Task, server: CallbackServer,
    handled: list[kieframe.TaskRecord],
) -> None:  # fmt: skip
    not_yet = {"code": 422, "msg": "recordInfo is null", "data": None}
    emulator.fault("recordInfo", "raw", code=200, body=json.dumps(not_yet).encode())
    post_callback(server.url, emulator, submitted.task_id)
    (record,) = wait_for(lambda: handled)
    assert record.succeeded


def test_a_wait_reads_the_task_itself_when_the_receiver_gave_up(
    emulator: Emulator, reader: kieframe.Client, submitted: kieframe.Task
) -> None:
    receiver = CallbackReceiver(
        hmac_key=KEY, client=reader, hub=CallbackHub(watchdog=NO_WATCHDOG), reread_pauses=()
    )
    emulator.fault("recordInfo", "raw", code=200, body=running_answer(submitted.task_id))
    with CallbackServer(receiver) as server, client(emulator, receiver) as waiting:
        post_callback(server.url, emulator, submitted.task_id)
        wait_for(lambda: receiver.stats.unconfirmed == 1)
        emulator.fault("recordInfo", "raw", code=200, body=running_answer(submitted.task_id))
        # Without the delivery, the wait would sleep until its deadline (its watchdog is 10
        # minutes away), read the task running there, and time out.
        assert waiting.wait(awaiting_callback(submitted), timeout=30).succeeded


def test_a_reread_failing_with_any_error_still_reaches_the_waits(
    emulator: Emulator, submitted: kieframe.Task
) -> None:
    closed = client(emulator)
    closed.close()  # its reads fail with httpx's RuntimeError, not a kieframe error
    receiver = CallbackReceiver(hmac_key=KEY, client=closed, hub=CallbackHub(watchdog=NO_WATCHDOG))
    with CallbackServer(receiver) as server:
        post_callback(server.url, emulator, submitted.task_id)
        wait_for(lambda: receiver.stats.errors == 1)
    delivery = receiver.hub.wait(submitted.task_id, timeout=0)
    assert delivery is not None
    assert not delivery.confirmed


async def test_a_callback_server_refuses_an_async_client_it_cannot_read_with(
    emulator: Emulator,
) -> None:
    async with async_client(emulator) as reader:
        receiver = CallbackReceiver(hmac_key=KEY, client=reader)
        with pytest.raises(ValueError, match="AsyncClient"):
            CallbackServer(receiver)


def test_a_wait_polls_on_kies_schedule_once_a_callback_is_ahead_of_the_record(
    emulator: Emulator, submitted: kieframe.Task
) -> None:
    hub = CallbackHub(watchdog=NO_WATCHDOG)
    # The callback came (unconfirmed); the wait's own read still shows the task running.
    claimed = kieframe.TaskRecord(task_id=submitted.task_id, model=None, state="success")
    hub.deliver(claimed, confirmed=False)
    emulator.fault("recordInfo", "raw", code=200, body=running_answer(submitted.task_id), times=2)
    with client(emulator, hub) as waiting:
        # Polled on the client's plan, not at the watchdog's next poll (10 minutes away): on that
        # schedule, the one read left before the deadline would show it running still.
        assert waiting.wait(awaiting_callback(submitted), timeout=30).succeeded
