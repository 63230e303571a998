"""End-to-end cost against the emulator: kieframe's AsyncClient against a hand-written httpx loop.

Both submit the same tasks to one emulator and poll at the same pace until every task succeeds.
Figures: wall time for the batch (dominated by the emulated task time, so near 1 is the goal) and
the number of HTTP requests each needed (kieframe must not poll more than the naive loop).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

import kieframe
from kieframe.lifecycle import PollPlan, RateLimits
from kieframe.testing import Emulator, Timing

from ._common import Figure, best_of

MODEL = "wan/2-5-image-to-video"
INPUT = {"prompt": "a fox in the snow", "image_url": "https://example.com/fox.png"}
TIMING = Timing(invisible=0.05, waiting=0.05, queuing=0.05, generating=0.3)
INTERVAL = 0.05


async def _kieframe(emu: Emulator, tasks: int) -> float:
    start = time.perf_counter()
    async with kieframe.AsyncClient(
        Emulator.API_KEY,
        base_url=emu.base_url,
        poll=PollPlan.every(INTERVAL),
        rate_limits=RateLimits.off(),
    ) as client:
        results = await asyncio.gather(*(client.run(MODEL, INPUT) for _ in range(tasks)))
    assert all(r.record.succeeded for r in results)
    return time.perf_counter() - start


async def _baseline(emu: Emulator, tasks: int) -> float:
    headers = {"Authorization": f"Bearer {Emulator.API_KEY}", "User-Agent": "baseline"}

    async def one(http: httpx.AsyncClient) -> dict[str, Any]:
        created = await http.post("/api/v1/jobs/createTask", json={"model": MODEL, "input": INPUT})
        task_id = created.json()["data"]["taskId"]
        while True:
            await asyncio.sleep(INTERVAL)
            body = (await http.get("/api/v1/jobs/recordInfo", params={"taskId": task_id})).json()
            if body["code"] == 200 and body["data"]["state"] in ("success", "fail"):
                return dict(body["data"])

    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=emu.base_url, headers=headers) as http:
        records = await asyncio.gather(*(one(http) for _ in range(tasks)))
    assert all(r["state"] == "success" for r in records)
    return time.perf_counter() - start


def _per_read(emu: Emulator, reads: int) -> tuple[float, float]:
    """Seconds per sequential recordInfo read: ``Client.get`` and a bare httpx GET."""
    with kieframe.Client(
        Emulator.API_KEY, base_url=emu.base_url, rate_limits=RateLimits.off()
    ) as client:
        task = client.submit(MODEL, INPUT)
        client.wait(task)
        ours = best_of(3, lambda: [client.get(task) for _ in range(reads)]) / reads
    headers = {"Authorization": f"Bearer {Emulator.API_KEY}", "User-Agent": "baseline"}
    with httpx.Client(base_url=emu.base_url, headers=headers) as http:
        params = {"taskId": task.task_id}
        base = (
            best_of(
                3,
                lambda: [
                    http.get("/api/v1/jobs/recordInfo", params=params).json() for _ in range(reads)
                ],
            )
            / reads
        )
    return ours, base


def run(*, quick: bool) -> list[Figure]:
    tasks = 20 if quick else 200
    figures = []
    timings: dict[str, float] = {}
    requests: dict[str, int] = {}
    for name, job in (("kieframe", _kieframe), ("baseline", _baseline)):
        with Emulator(timing=TIMING, rate_limits=False) as emu:
            timings[name] = asyncio.run(job(emu, tasks))
            requests[name] = sum(emu.stats.requests.values())
    figures.append(
        Figure(
            f"{tasks} tasks end to end, wall time",
            "s",
            timings["kieframe"],
            timings["baseline"],
            1.5,
        )
    )
    figures.append(
        Figure(
            f"{tasks} tasks end to end, HTTP requests",
            "#",
            requests["kieframe"],
            requests["baseline"],
            1.1,
        )
    )
    with Emulator(timing=TIMING, rate_limits=False) as emu:
        ours, base = _per_read(emu, 100 if quick else 500)
    figures.append(Figure("one record read, sequential", "ms", ours * 1e3, base * 1e3, 1.3))
    return figures
