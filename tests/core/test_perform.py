"""The performers: a request takes its budget's slot (off the event loop when that may block)."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from pathlib import Path

import httpx
import pytest

from kieframe._core._effects import Call, Fetch
from kieframe._core._fileplan import FilePlan, Step
from kieframe._core._perform import AsyncPerformer, Connection, SyncPerformer
from kieframe._ratelimit import Budgets
from kieframe.errors import APIError, RateLimitError


class RecordingWindow:
    """A window that records the threads slots are taken on, and the holds it is given."""

    window = 10.0

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.holds: list[float] = []
        self.hold_threads: list[threading.Thread] = []

    def reserve(self) -> float:
        self.threads.append(threading.current_thread())
        return 0.0

    def penalise(self, seconds: float) -> None:
        self.holds.append(seconds)
        self.hold_threads.append(threading.current_thread())


def answer(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/credit"):
        return httpx.Response(200, json={"code": 200, "msg": "ok", "data": 42})
    return httpx.Response(429, json={"code": 429, "msg": "slow down"}, headers={"Retry-After": "3"})


def connection(window: RecordingWindow, *, blocking: bool) -> Connection:
    return Connection(
        base_url=httpx.URL("https://api.example"),
        upload_base_url=httpx.URL("https://upload.example"),
        timeout=httpx.Timeout(5.0),
        headers=lambda: {"Authorization": "Bearer k"},
        user_agent="test",
        limiter=Budgets({"create": window, "read": window}, blocking=blocking),
    )


CREDIT = Call(method="GET", path="/api/v1/chat/credit", budget="read")
CREATE = Call(method="POST", path="/api/v1/jobs/createTask", json={}, budget="create")


def test_each_request_takes_a_slot_and_a_429_holds_its_budget_back() -> None:
    window = RecordingWindow()
    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        performer = SyncPerformer(http, connection(window, blocking=False))
        assert performer.perform(CREDIT) == 42
        with pytest.raises(RateLimitError):
            performer.perform(CREATE)
    assert len(window.threads) == 2
    assert window.holds == [3.0]  # the server's Retry-After


@pytest.mark.parametrize("blocking", [False, True])
async def test_a_blocking_budget_is_taken_and_held_back_off_the_event_loop(blocking: bool) -> None:
    window = RecordingWindow()
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        performer = AsyncPerformer(http, connection(window, blocking=blocking))
        assert await performer.perform(CREDIT) == 42
        with pytest.raises(RateLimitError):
            await performer.perform(CREATE)
    assert window.holds == [3.0]
    for thread in [*window.threads, *window.hold_threads]:  # a 429's hold too
        assert (thread is threading.current_thread()) is not blocking


BODY = bytes(range(256)) * 5000  # over one hashing batch


def file_host(request: httpx.Request) -> httpx.Response:
    """A file host that honours ``Range`` from an offset."""
    start = int(request.headers.get("range", "bytes=0-")[6:].rstrip("-") or 0)
    headers = {"content-length": str(len(BODY) - start)}
    if start:
        headers["content-range"] = f"bytes {start}-{len(BODY) - 1}/{len(BODY)}"
    body = httpx.ByteStream(BODY[start:])
    return httpx.Response(206 if start else 200, stream=body, headers=headers)


def plan_in(folder: Path, *, kept: int = 0) -> FilePlan:
    plan = FilePlan(task_id="t", index=1, source_url="https://files.example/r.bin", folder=folder)
    if kept:
        plan.part.write_bytes(BODY[:kept])
        plan.offset = kept
    return plan


@pytest.mark.parametrize("kept", [0, 12_345])
def test_a_fetch_writes_the_file_and_hashes_it_as_it_goes(tmp_path: Path, kept: int) -> None:
    plan = plan_in(tmp_path, kept=kept)
    with httpx.Client(transport=httpx.MockTransport(file_host)) as http:
        performer = SyncPerformer(http, connection(RecordingWindow(), blocking=False))
        assert performer.perform(Fetch(plan)) is Step.DONE
    assert plan.part.read_bytes() == BODY
    assert plan.sha256 == hashlib.sha256(BODY).hexdigest()


@pytest.mark.parametrize("kept", [0, 12_345])
async def test_an_async_fetch_writes_the_file_and_hashes_it(tmp_path: Path, kept: int) -> None:
    plan = plan_in(tmp_path, kept=kept)
    async with httpx.AsyncClient(transport=httpx.MockTransport(file_host)) as http:
        performer = AsyncPerformer(http, connection(RecordingWindow(), blocking=False))
        assert await performer.perform(Fetch(plan)) is Step.DONE
    assert plan.part.read_bytes() == BODY
    assert plan.sha256 == hashlib.sha256(BODY).hexdigest()


async def test_reads_past_the_in_flight_limit_wait_their_turn_and_failures_free_their_slot() -> (
    None
):
    in_flight = 0
    most = 0

    async def server(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        for _ in range(3):  # let the other reads run meanwhile
            await asyncio.sleep(0)
        in_flight -= 1
        if request.url.params["n"] == "bad":
            return httpx.Response(403, json={"code": 403, "msg": "forbidden"})
        return httpx.Response(200, json={"code": 200, "msg": "ok", "data": 42})

    def read(n: str) -> Call:
        return Call(method="GET", path="/api/v1/chat/credit", params={"n": n}, retry=True)

    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
        performer = AsyncPerformer(http, connection(RecordingWindow(), blocking=False))
        performer.in_flight_limit = 2
        names = ["bad" if n % 3 == 0 else str(n) for n in range(30)]
        reads = asyncio.gather(*(performer.perform(read(n)) for n in names), return_exceptions=True)
        answers = await asyncio.wait_for(reads, 60)  # a slot a failure kept would hang the rest
    assert [a == 42 for a in answers] == [n != "bad" for n in names]
    assert all(isinstance(a, APIError) for a, n in zip(answers, names, strict=True) if n == "bad")
    assert most <= 2
