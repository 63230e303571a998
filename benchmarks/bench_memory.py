"""Memory per waiting task: tasks awaited with ``AsyncClient.wait`` against bare asyncio sleepers.

Counts the Python heap (tracemalloc) held while N waits are in flight, per task, next to N bare
``asyncio`` tasks that hold an httpx response each (the least a hand-written poller keeps).
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

import httpx

import kieframe
from kieframe.lifecycle import PollPlan, RateLimits
from kieframe.testing import Emulator, Timing

from ._common import Figure

MODEL = "wan/2-5-image-to-video"
INPUT = {"prompt": "a fox in the snow", "image_url": "https://example.com/fox.png"}


async def _held_by_waits(emu: Emulator, tasks: int) -> float:
    async with kieframe.AsyncClient(
        Emulator.API_KEY,
        base_url=emu.base_url,
        poll=PollPlan.every(2.0),
        rate_limits=RateLimits.off(),
    ) as client:
        handles = [await client.submit(MODEL, INPUT) for _ in range(tasks)]
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        waits = [asyncio.create_task(client.wait(h, timeout=10.0)) for h in handles]
        await asyncio.sleep(3.0)  # every wait has polled once (at about 2 s) and is asleep
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        for w in waits:
            w.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    return held / tasks


async def _held_by_baseline(emu: Emulator, tasks: int) -> float:
    headers = {"Authorization": f"Bearer {Emulator.API_KEY}", "User-Agent": "baseline"}
    async with httpx.AsyncClient(base_url=emu.base_url, headers=headers) as http:
        ids = []
        for _ in range(tasks):
            created = await http.post(
                "/api/v1/jobs/createTask", json={"model": MODEL, "input": INPUT}
            )
            ids.append(created.json()["data"]["taskId"])

        async def poll(task_id: str) -> None:
            response = await http.get("/api/v1/jobs/recordInfo", params={"taskId": task_id})
            response.json()
            await asyncio.sleep(10)

        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        pollers = [asyncio.create_task(poll(i)) for i in ids]
        await asyncio.sleep(3.0)
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        for p in pollers:
            p.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
    return held / tasks


def run(*, quick: bool) -> list[Figure]:
    tasks = 100 if quick else 1000
    timing = Timing(invisible=0.0, waiting=30.0, queuing=30.0, generating=30.0)
    with Emulator(timing=timing, rate_limits=False) as emu:
        ours = asyncio.run(_held_by_waits(emu, tasks))
    with Emulator(timing=timing, rate_limits=False) as emu:
        base = asyncio.run(_held_by_baseline(emu, tasks))
    return [Figure(f"heap per in-flight wait ({tasks} tasks)", "B", ours, base, 3.0)]
