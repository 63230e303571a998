"""The receiver over real sockets: statuses, dedupe, the re-read, unknown tasks, mounting."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import httpx
import pytest
from waiting import wait_for

import kieframe
from kieframe.callbacks import CallbackReceiver, CallbackServer
from kieframe.lifecycle import RateLimits
from kieframe.testing._emulator import Emulator

from ._support import FAST, HAILUO, INPUT, KEY, client, record_count, served, signed_headers


def finished_task(emu: Emulator, reader: kieframe.Client) -> kieframe.TaskRecord:
    """A task that has already succeeded (submitted without a callback)."""
    task = reader.submit(HAILUO, INPUT)
    return reader.wait(task, timeout=10)


def callback_body(emu: Emulator, task_id: str) -> bytes:
    record = emu.record(task_id)
    assert record is not None
    return json.dumps({"code": 200, "msg": "success", "data": record}).encode()


@pytest.fixture
def http(server: CallbackServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as session:
        yield session


def test_a_signed_callback_is_accepted_reread_and_handled_once(
    emulator: Emulator,
    reader: kieframe.Client,
    receiver: CallbackReceiver,
    server: CallbackServer,
    handled: list[kieframe.TaskRecord],
) -> None:
    task = reader.submit(HAILUO, INPUT, callback_url=f"{server.url}/kie/callback")
    (attempt,) = wait_for(lambda: emulator.callback_log)
    assert attempt.status == 200
    (record,) = wait_for(lambda: handled)
    assert (record.task_id, record.succeeded) == (task.task_id, True)
    assert record.result_urls
    assert receiver.hub.received(task.task_id) == record
    stats = receiver.stats
    assert (stats.accepted, stats.delivered, stats.duplicates, stats.refused) == (1, 1, 0, {})


def test_the_credits_only_the_callback_carries_survive_the_reread(
    emulator: Emulator,
    reader: kieframe.Client,
    server: CallbackServer,
    handled: list[kieframe.TaskRecord],
) -> None:
    task = reader.submit(HAILUO, INPUT, callback_url=server.url)
    (record,) = wait_for(lambda: handled)
    assert record.task_id == task.task_id
    assert "consumeCredits" not in (emulator.record(task.task_id) or {})  # recordInfo lacks them
    assert record.credits_consumed == Emulator.TASK_COST
    assert record.credits_remaining == reader.credits()


def test_an_unsigned_callbacks_credits_are_not_put_on_the_confirmed_record() -> None:
    """With no key to check its signature, nothing of the body is trusted: not even credits."""
    handled: list[kieframe.TaskRecord] = []
    with Emulator(timing=FAST, rate_limits=False, result_size=4096) as unsigned:
        with client(unsigned) as reading:
            receiver = CallbackReceiver(client=reading, handler=handled.append)
            with CallbackServer(receiver) as server:
                task = reading.submit(HAILUO, INPUT, callback_url=server.url)
                (record,) = wait_for(lambda: handled)
    assert (record.task_id, record.succeeded) == (task.task_id, True)
    assert (record.credits_consumed, record.credits_remaining) == (None, None)


def test_a_duplicated_callback_runs_the_handler_once(
    emulator: Emulator,
    reader: kieframe.Client,
    receiver: CallbackReceiver,
    server: CallbackServer,
    handled: list[kieframe.TaskRecord],
) -> None:
    emulator.callbacks_mode(duplicate=3)
    tasks = [reader.submit(HAILUO, INPUT, callback_url=server.url) for _ in range(5)]
    log = wait_for(lambda: len(emulator.callback_log) == 20 and emulator.callback_log)
    assert {attempt.status for attempt in log} == {200}
    wait_for(lambda: receiver.stats.delivered == 5)
    time.sleep(0.2)  # give a wrongly repeated handler call the time to show up
    assert sorted(r.task_id for r in handled) == sorted(t.task_id for t in tasks)
    assert receiver.stats.duplicates == 15
    assert record_count(emulator) == 5  # one re-read per task, none for the duplicates


def test_a_forged_signature_is_401(
    emulator: Emulator, reader: kieframe.Client, receiver: CallbackReceiver,
    http: httpx.Client, handled: list[kieframe.TaskRecord],
) -> None:  # fmt: skip
    done = finished_task(emulator, reader)
    body = callback_body(emulator, done.task_id)
    forged = signed_headers(done.task_id, key="not-the-key")
    assert http.post("/cb", content=body, headers=forged).status_code == 401
    unsigned = {"content-type": "application/json"}
    assert http.post("/cb", content=body, headers=unsigned).status_code == 401
    other = signed_headers("another-task")
    assert http.post("/cb", content=body, headers=other).status_code == 401
    assert receiver.stats.refused == {401: 3}
    assert (receiver.stats.accepted, handled) == (0, [])


@pytest.mark.parametrize("skew", [-3600, 3600])
def test_a_stale_callback_from_the_past_or_future_is_400(
    emulator: Emulator, reader: kieframe.Client, receiver: CallbackReceiver,
    http: httpx.Client, skew: int,
) -> None:  # fmt: skip
    done = finished_task(emulator, reader)
    headers = signed_headers(done.task_id, at=time.time() + skew)
    answer = http.post("/", content=callback_body(emulator, done.task_id), headers=headers)
    assert answer.status_code == 400
    assert "timestamp" in answer.json()["error"]
    assert receiver.stats.refused == {400: 1}


def test_malformed_bodies_are_400_and_other_methods_405(
    receiver: CallbackReceiver, http: httpx.Client
) -> None:
    headers = signed_headers("a")
    assert http.post("/", content=b"{nope", headers=headers).status_code == 400
    assert http.post("/", json={"data": {"state": "success"}}, headers=headers).status_code == 400
    answer = http.get("/")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert http.put("/", content=b"{}").status_code == 405
    assert receiver.stats.refused == {400: 2, 405: 2}


def test_an_oversized_body_is_413_declared_or_streamed(
    reader: kieframe.Client, emulator: Emulator
) -> None:
    receiver = CallbackReceiver(hmac_key=KEY, client=reader, max_body_size=4096)
    big = b'{"data": {"taskId": "a"}, "pad": "' + b"x" * 8192 + b'"}'
    with (
        CallbackServer(receiver) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        headers = signed_headers("a")
        assert http.post("/", content=big, headers=headers).status_code == 413
        chunks = iter([big[:3000], big[3000:]])  # chunked: no Content-Length to go by
        assert http.post("/", content=chunks, headers=headers).status_code == 413
    assert receiver.stats.refused == {413: 2}
    assert record_count(emulator) == 0


def test_several_keys_accept_callbacks_during_a_rotation(
    emulator: Emulator, reader: kieframe.Client, handled: list[kieframe.TaskRecord]
) -> None:
    receiver = CallbackReceiver(
        hmac_key=["the-new-key", KEY], client=reader, handler=handled.append
    )
    with CallbackServer(receiver) as server:
        task = reader.submit(HAILUO, INPUT, callback_url=server.url)
        (record,) = wait_for(lambda: handled)
    assert record.task_id == task.task_id


def test_a_callback_for_a_task_kie_does_not_know_is_acknowledged_and_recorded(
    emulator: Emulator, receiver: CallbackReceiver, http: httpx.Client,
    handled: list[kieframe.TaskRecord],
) -> None:  # fmt: skip
    body = json.dumps({"code": 200, "data": {"taskId": "no-such-task", "state": "success"}})
    answer = http.post("/", content=body, headers=signed_headers("no-such-task"))
    assert answer.status_code == 200
    wait_for(lambda: receiver.stats.unknown == 1)
    assert handled == []
    assert receiver.hub.received("no-such-task") is None


def test_a_callback_claiming_a_result_kie_does_not_show_reaches_the_waits_unconfirmed(
    emulator: Emulator, reader: kieframe.Client, receiver: CallbackReceiver,
    http: httpx.Client, handled: list[kieframe.TaskRecord],
) -> None:  # fmt: skip
    emulator.script(outcome="never")
    task = reader.submit(HAILUO, INPUT)
    wait_for(lambda: emulator.record(task.task_id))
    data = {"taskId": task.task_id, "state": "success", "resultJson": '{"resultUrls": ["x"]}'}
    body = json.dumps({"code": 200, "data": data})
    assert http.post("/", content=body, headers=signed_headers(task.task_id)).status_code == 200
    wait_for(lambda: receiver.stats.unconfirmed == 1)
    assert handled == []  # the handler gets trusted records only
    delivery = receiver.hub.wait(task.task_id, timeout=0)  # its waits read the task themselves
    assert delivery is not None
    assert not delivery.confirmed
    # Forgotten, not deduplicated: a genuine callback later is still handled.
    assert http.post("/", content=body, headers=signed_headers(task.task_id)).status_code == 200
    wait_for(lambda: receiver.stats.unconfirmed == 2)


def test_without_reread_the_body_is_trusted_and_no_record_is_read(emulator: Emulator) -> None:
    handled: list[kieframe.TaskRecord] = []
    receiver = CallbackReceiver(hmac_key=KEY, reread=False, handler=handled.append)
    with client(emulator) as submitting, CallbackServer(receiver) as server:
        task = submitting.submit(HAILUO, INPUT, callback_url=server.url)
        (record,) = wait_for(lambda: handled)
    assert record.task_id == task.task_id
    assert record.credits_consumed == Emulator.TASK_COST  # the callback's own body
    assert record_count(emulator) == 0


def test_without_reread_an_unfinished_body_is_not_handled_as_finished() -> None:
    handled: list[kieframe.TaskRecord] = []
    receiver = CallbackReceiver(hmac_key=KEY, reread=False, handler=handled.append)
    running = {"code": 200, "msg": "ok", "data": {"taskId": "t7", "state": "generating"}}
    with CallbackServer(receiver) as server, httpx.Client(base_url=server.url) as http:
        answer = http.post("/", json=running, headers=signed_headers("t7"))
        assert answer.status_code == 200  # acknowledged; the waits read the task themselves
        wait_for(lambda: receiver.stats.unconfirmed == 1)
        no_state = {"code": 200, "msg": "ok", "task_id": "t8", "data": None}
        assert http.post("/", json=no_state, headers=signed_headers("t8")).status_code == 400
    assert handled == []


def test_a_handler_needs_a_client_to_reread() -> None:
    with pytest.raises(ValueError, match="client"):
        CallbackReceiver(handler=print)


def test_an_unsigned_receiver_warns_once(
    caplog: pytest.LogCaptureFixture, emulator: Emulator
) -> None:
    unsigned = Emulator(timing=FAST, rate_limits=False, result_size=4096)
    receiver = CallbackReceiver(reread=False)
    with (
        caplog.at_level(logging.WARNING, logger="kieframe"),
        unsigned,
        client(unsigned) as submitting,
        CallbackServer(receiver) as server,
    ):
        for _ in range(3):
            submitting.submit(HAILUO, INPUT, callback_url=server.url)
        wait_for(lambda: receiver.stats.delivered == 3)
    assert sum("unsigned" in r.getMessage() for r in caplog.records) == 1


async def test_an_async_handler_runs_on_the_serving_loop(emulator: Emulator) -> None:
    seen: list[str] = []

    async def handler(record: kieframe.TaskRecord) -> None:
        seen.append(record.task_id)

    async with (
        kieframe.AsyncClient(
            Emulator.API_KEY,
            base_url=emulator.base_url,
            rate_limits=RateLimits.off(),
        ) as submitting,
    ):
        receiver = CallbackReceiver(hmac_key=KEY, reread=False, handler=handler)
        with CallbackServer(receiver) as server:
            task = await submitting.submit(HAILUO, INPUT, callback_url=server.url)
            wait_for(lambda: seen)
    assert seen == [task.task_id]


def test_the_receiver_mounts_in_starlette(emulator: Emulator, reader: kieframe.Client) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    handled: list[kieframe.TaskRecord] = []
    receiver = CallbackReceiver(hmac_key=KEY, client=reader, handler=handled.append)
    app = Starlette(routes=[Mount("/kie/callbacks", app=receiver)])
    with served(app) as url:
        task = reader.submit(HAILUO, INPUT, callback_url=f"{url}/kie/callbacks/")
        (record,) = wait_for(lambda: handled)
    assert record.task_id == task.task_id
    assert emulator.callback_log[0].status == 200
