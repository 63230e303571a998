"""The receiver under a burst: acknowledged before any work, never shed, re-read in the budget."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator

import httpx
import pytest
from waiting import wait_for

import kieframe
from kieframe.testing._emulator import Emulator

from ._support import FAST, HAILUO, INPUT, KEY, NO_WATCHDOG, record_count, signed_headers

BURST = 300


def _bodies(emu: Emulator, reader: kieframe.Client, count: int) -> dict[str, bytes]:
    """Callback bodies for ``count`` task ids, shaped like a real finished task's."""
    task = reader.wait(reader.submit(HAILUO, INPUT), timeout=10)
    record = emu.record(task.task_id)
    assert record is not None
    bodies = {}
    for n in range(count):
        task_id = f"burst{n:05d}"
        bodies[task_id] = json.dumps(
            {"code": 200, "msg": "success", "data": {**record, "taskId": task_id}}
        ).encode()
    return bodies


async def _post_all(url: str, bodies: dict[str, bytes]) -> list[int]:
    """POST every body at once (100 connections); the statuses.

    Like kie.ai, the sender tries again when a connection breaks before an answer (a pooled
    connection the server is closing just as it is reused gives a ``ReadError`` under a burst);
    the receiver takes a delivery it already has as a duplicate.
    """
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:

        async def post(task_id: str, body: bytes) -> httpx.Response:
            for _ in range(2):
                with contextlib.suppress(httpx.TransportError):
                    return await http.post("/", content=body, headers=signed_headers(task_id))
            return await http.post("/", content=body, headers=signed_headers(task_id))

        answers = await asyncio.gather(*(post(task, body) for task, body in bodies.items()))
    return [answer.status_code for answer in answers]


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Holds the handler until set (set at the end in any case, so no thread hangs)."""
    event = threading.Event()
    yield event
    event.set()


def test_a_burst_is_acknowledged_before_any_handler_finishes(
    emulator: Emulator, reader: kieframe.Client, gate: threading.Event
) -> None:
    started: list[str] = []

    def handler(record: kieframe.TaskRecord) -> None:
        started.append(record.task_id)
        gate.wait(30)

    receiver = kieframe.CallbackReceiver(
        hmac_key=KEY, handler=handler, reread=False, workers=4,
        hub=kieframe.CallbackHub(watchdog=NO_WATCHDOG),
    )  # fmt: skip
    bodies = _bodies(emulator, reader, BURST)
    with kieframe.CallbackServer(receiver, port=0) as server:
        statuses = asyncio.run(_post_all(server.url, bodies))
        assert statuses == [200] * BURST  # no 503: the burst fits the queue
        assert len(started) <= 4  # every handler that started is still held: no ack waited
        gate.set()
        wait_for(lambda: receiver.stats.delivered == BURST and len(started) == BURST)
    assert sorted(started) == sorted(bodies)
    assert receiver.stats.refused == {}


def test_a_failing_handler_loses_no_delivery(
    emulator: Emulator, reader: kieframe.Client, caplog: pytest.LogCaptureFixture
) -> None:
    handled: list[str] = []

    def handler(record: kieframe.TaskRecord) -> None:
        handled.append(record.task_id)
        if int(record.task_id[-1]) % 2:
            raise RuntimeError("the handler broke")

    hub = kieframe.CallbackHub(watchdog=NO_WATCHDOG)
    receiver = kieframe.CallbackReceiver(hmac_key=KEY, handler=handler, reread=False, hub=hub)
    bodies = _bodies(emulator, reader, 40)
    with kieframe.CallbackServer(receiver, port=0) as server:
        assert asyncio.run(_post_all(server.url, bodies)) == [200] * 40
        wait_for(lambda: len(handled) == 40)
    assert sorted(handled) == sorted(bodies)
    assert all(hub.received(task_id) is not None for task_id in bodies)
    stats = receiver.stats
    assert (stats.delivered, stats.errors) == (40, 20)
    assert "the handler broke" in caplog.text


def test_rereads_after_a_burst_stay_within_the_read_budget() -> None:
    # The emulator's windows are half kie.ai's, so the default client's budgets hold with a margin
    # that a request delayed by a busy machine does not eat up; an unlimited burst still breaks it.
    with Emulator(
        timing=FAST, hmac_key=KEY, rate_limits=True, window_scale=0.5, result_size=4096
    ) as emu:
        # The default client keeps kie.ai's budgets (the emulator answers 429 beyond them).
        with kieframe.Client(Emulator.API_KEY, base_url=emu.base_url) as budgeted:
            bodies = {}
            for task in [budgeted.submit(HAILUO, INPUT) for _ in range(12)]:
                budgeted.wait(task, timeout=20)
                record = emu.record(task.task_id)
                bodies[task.task_id] = json.dumps({"code": 200, "data": record}).encode()
            reads, refused = record_count(emu), emu.stats.rate_limited.get("recordInfo", 0)
            receiver = kieframe.CallbackReceiver(
                hmac_key=KEY, client=budgeted, hub=kieframe.CallbackHub(watchdog=NO_WATCHDOG)
            )
            with kieframe.CallbackServer(receiver, port=0) as server:
                assert asyncio.run(_post_all(server.url, bodies)) == [200] * 12
                wait_for(lambda: receiver.stats.delivered == 12, timeout=30)
        assert record_count(emu) - reads == 12  # one re-read each, none refused and resent
        assert emu.stats.rate_limited.get("recordInfo", 0) == refused
