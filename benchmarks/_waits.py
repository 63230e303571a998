"""Many waits in one process: ``python -m benchmarks._waits KIND N URL``.

``KIND`` is ``kieframe``, ``kieframe-limited`` (kieframe's default rate limits on),
``kieframe-frozen`` (``gc.freeze()`` once the waits are started, as the docs suggest to a program
that keeps many thousands of waits) or ``bare``.

The emulator's API key comes in ``KIEFRAME_BENCH_KEY`` (see :mod:`.bench_waits`).

Creates ``N`` tasks on the emulator at ``URL`` (not measured), then starts ``N`` waits that poll
every few seconds (kieframe's ``AsyncClient.wait``, or a bare asyncio + httpx poller), lets them
poll, and prints as JSON the memory they hold per wait (resident set growth), the worst
event-loop lag seen meanwhile (how late a 5 ms sleep woke up) and the longest full (generation 2)
pass of the garbage collector, the usual cause of that lag (its wall time, and the CPU time it
took).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from typing import Any

import httpx

import kieframe
from kieframe.lifecycle import PollPlan, RateLimits

MODEL = "wan/2-5-image-to-video"
INPUT = {"prompt": "a fox in the snow", "image_url": "https://example.com/fox.png"}
INTERVAL = 4.0
PAGE = os.sysconf("SC_PAGE_SIZE")
#: The emulator's key, from the environment: a program that waits does not import kieframe.testing
#: (and its emulator), whose objects every full pass of the garbage collector would walk too.
API_KEY = os.environ["KIEFRAME_BENCH_KEY"]
HEADERS = {"Authorization": f"Bearer {API_KEY}", "User-Agent": "benchmark"}


def _resident() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE


class _FullPasses:
    """The longest full pass of the garbage collector while installed (a ``gc`` callback).

    ``longest`` is wall time, what the event loop waited; ``longest_cpu`` the CPU time the
    process's thread spent in that pass. On a busy machine the first includes the time the
    thread was not running at all, which the second leaves out.
    """

    def __init__(self) -> None:
        self.longest = self.longest_cpu = 0.0
        self._start = self._start_cpu = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._start, self._start_cpu = time.perf_counter(), time.thread_time()
        elif (took := time.perf_counter() - self._start) > self.longest:
            self.longest, self.longest_cpu = took, time.thread_time() - self._start_cpu


async def _lag(stop: asyncio.Event) -> float:
    worst = 0.0
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.005)
        worst = max(worst, time.perf_counter() - start - 0.005)
    return worst


async def _create(url: str, tasks: int) -> list[str]:
    limits = httpx.Limits(max_connections=20)
    # Not measured, and not retried: a generous timeout, so a busy machine does not end the run.
    timeout = httpx.Timeout(60.0)
    async with httpx.AsyncClient(
        base_url=url, headers=HEADERS, limits=limits, timeout=timeout
    ) as http:
        sem = asyncio.Semaphore(20)

        async def one() -> str:
            async with sem:
                answer = await http.post(
                    "/api/v1/jobs/createTask", json={"model": MODEL, "input": INPUT}
                )
            return str(answer.json()["data"]["taskId"])

        return list(await asyncio.gather(*(one() for _ in range(tasks))))


async def _measure(kind: str, url: str, ids: list[str], window: float) -> dict[str, Any]:
    stop = asyncio.Event()
    if kind == "bare":
        client: Any = httpx.AsyncClient(base_url=url, headers=HEADERS)
    else:
        limits = RateLimits() if kind == "kieframe-limited" else RateLimits.off()
        client = kieframe.AsyncClient(
            API_KEY, base_url=url, poll=PollPlan.every(INTERVAL),
            rate_limits=limits,
        )  # fmt: skip
    # A careful poller queues its reads itself: httpcore's pool handles thousands of waiting
    # requests in quadratic time (seconds of loop lag at 1,000).
    gate = asyncio.Semaphore(100)
    async with client:

        async def bare(task_id: str) -> None:
            while True:
                await asyncio.sleep(INTERVAL)
                try:  # a careful poller reads again at the next interval after a failed read
                    async with gate:
                        answer = await client.get(
                            "/api/v1/jobs/recordInfo", params={"taskId": task_id}
                        )
                    state = answer.json()["data"]["state"]
                except (httpx.HTTPError, ValueError, KeyError, TypeError):
                    continue
                if state in ("success", "fail"):
                    return

        gc.collect()
        before = _resident()
        passes = _FullPasses()
        gc.callbacks.append(passes)
        lag = asyncio.ensure_future(_lag(stop))
        if kind != "bare":
            waits = [asyncio.ensure_future(client.wait(i, timeout=3600)) for i in ids]
        else:
            waits = [asyncio.ensure_future(bare(i)) for i in ids]
        if kind == "kieframe-frozen":  # start-up done: later full passes leave all this out
            gc.freeze()
        await asyncio.sleep(window)
        held = _resident() - before
        stop.set()
        worst = await lag
        gc.callbacks.remove(passes)
        gc.unfreeze()
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    return {
        "per_wait": held / len(ids),
        "lag": worst,
        "gc": passes.longest,
        "gc_cpu": passes.longest_cpu,
    }


def main() -> None:
    kind, tasks, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ids = asyncio.run(_create(url, tasks))
    window = INTERVAL * 2.5
    result = asyncio.run(_measure(kind, url, ids, window))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
