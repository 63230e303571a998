"""Client CPU per full lifecycle (create, poll to the end, download): kieframe against bare httpx.

The emulator runs in its own process, so only the client's CPU is counted (``process_time``).
Tasks take 0.2 s and both sides poll every 0.05 s: the same 7 or so requests per lifecycle (the
requests per lifecycle are printed beside the figure). The bare loop writes the file too.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

import kieframe
from kieframe.lifecycle import PollPlan, RateLimits
from kieframe.testing import Emulator

from ._common import Figure, alternate
from .bench_waits import emulator

MODEL = "wan/2-5-image-to-video"
INPUT = {"prompt": "a fox in the snow", "image_url": "https://example.com/fox.png"}
INTERVAL = 0.05
HEADERS = {"Authorization": f"Bearer {Emulator.API_KEY}", "User-Agent": "benchmark"}


def _bare_sync(http: httpx.Client, folder: Path) -> None:
    created = http.post("/api/v1/jobs/createTask", json={"model": MODEL, "input": INPUT})
    task_id = created.json()["data"]["taskId"]
    while True:
        time.sleep(INTERVAL)
        data = http.get("/api/v1/jobs/recordInfo", params={"taskId": task_id}).json()["data"]
        if data["state"] == "success":
            break
    url = httpx.URL(_first_url(data))
    with http.stream("GET", url) as answer, (folder / f"{task_id}.mp4").open("wb") as handle:
        for chunk in answer.iter_raw():
            handle.write(chunk)


async def _bare_async(http: httpx.AsyncClient, folder: Path) -> None:
    created = await http.post("/api/v1/jobs/createTask", json={"model": MODEL, "input": INPUT})
    task_id = created.json()["data"]["taskId"]
    while True:
        await asyncio.sleep(INTERVAL)
        answer = await http.get("/api/v1/jobs/recordInfo", params={"taskId": task_id})
        data = answer.json()["data"]
        if data["state"] == "success":
            break
    async with http.stream("GET", _first_url(data)) as answer:
        body = b"".join([chunk async for chunk in answer.aiter_raw()])
    await asyncio.to_thread((folder / f"{task_id}.mp4").write_bytes, body)


def _first_url(data: dict[str, Any]) -> str:
    return str(json.loads(data["resultJson"])["resultUrls"][0])


def _cpu(lifecycles: int, work: Callable[[], object]) -> Callable[[], float]:
    """A measurement: CPU milliseconds of this process per lifecycle."""

    def measure() -> float:
        start = time.process_time()
        for _ in range(lifecycles):
            work()
        return (time.process_time() - start) / lifecycles * 1e3

    return measure


def run(*, quick: bool) -> list[Figure]:
    lifecycles = 10 if quick else 40
    repeat = 2 if quick else 3
    poll = PollPlan.every(INTERVAL)
    off = RateLimits.off()
    with emulator("emulator-fast") as url, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        sync_client = kieframe.Client(
            Emulator.API_KEY, base_url=url, poll=poll, rate_limits=off, journal=None
        )
        sync_http = httpx.Client(base_url=url, headers=HEADERS)
        with sync_client, sync_http:
            # One of each first, unmeasured: first-use imports, connections.
            sync_client.run(MODEL, INPUT, download_to=folder)
            _bare_sync(sync_http, folder)
            mine, other = alternate(
                repeat,
                _cpu(lifecycles, lambda: sync_client.run(MODEL, INPUT, download_to=folder)),
                _cpu(lifecycles, lambda: _bare_sync(sync_http, folder)),
            )
        sync = Figure("client CPU per lifecycle, sync", "ms", mine, "bare httpx loop", other,
                      ("<=", 1.1))  # fmt: skip

        async def ours_async() -> None:
            async with kieframe.AsyncClient(
                Emulator.API_KEY, base_url=url, poll=poll, rate_limits=off, journal=None
            ) as client:
                for _ in range(lifecycles):
                    await client.run(MODEL, INPUT, download_to=folder)

        async def theirs_async() -> None:
            async with httpx.AsyncClient(base_url=url, headers=HEADERS) as http:
                for _ in range(lifecycles):
                    await _bare_async(http, folder)

        async def warm_up() -> None:  # first-use imports of the asyncio path, on both sides
            async with (
                kieframe.AsyncClient(
                    Emulator.API_KEY, base_url=url, poll=poll, rate_limits=off, journal=None
                ) as client,
                httpx.AsyncClient(base_url=url, headers=HEADERS) as http,
            ):
                await client.run(MODEL, INPUT, download_to=folder)
                await _bare_async(http, folder)

        asyncio.run(warm_up())
        mine, other = alternate(
            repeat, _cpu(1, lambda: asyncio.run(ours_async())),
            _cpu(1, lambda: asyncio.run(theirs_async())),
        )  # fmt: skip
        per = 1 / lifecycles
        asynchronous = Figure("client CPU per lifecycle, async", "ms",
                              [m * per for m in mine], "bare httpx loop",
                              [o * per for o in other], ("<=", 1.1))  # fmt: skip
    return [asynchronous, sync]
