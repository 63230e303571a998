"""Many waits in flight: memory per wait and the worst event-loop lag, against a bare poller.

Each side runs in a fresh process (:mod:`._waits`) against one emulator in another process, with
kieframe's default rate limits on (the emulator's are off, so the bare poller is not refused).
A third run, kieframe in a program that calls ``gc.freeze()`` once its waits are started (what
the docs suggest when pauses matter), goes in the lag figure's note: the program's choice, not
kieframe's, so not its figure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from kieframe.testing import Emulator

from ._common import Figure, python_cmd


@contextmanager
def emulator(kind: str = "emulator") -> Iterator[str]:
    """An emulator in its own process (see :mod:`._apps`); yields its URL."""
    command = python_cmd("-m", "benchmarks._apps", kind)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait(10)


def _side(kind: str, tasks: int, url: str) -> dict[str, float]:
    command = python_cmd("-m", "benchmarks._waits", kind, str(tasks), url)
    environment = {**os.environ, "KIEFRAME_BENCH_KEY": Emulator.API_KEY}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)  # why the side failed, not only that it did
        done.check_returncode()
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _worst(results: list[dict[str, float]], key: str = "gc") -> str:
    return f"{max(r[key] for r in results) * 1e3:.0f}"


def run(*, quick: bool) -> list[Figure]:
    # quick: enough for the collector's full passes to show. 10,000 waits (the figure) take
    # over 30 s a side on 2 cores, mostly creating the tasks: the full run only.
    tasks = 2_500 if quick else 10_000
    repeat = 1 if quick else 2
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    frozen: list[dict[str, float]] = []
    with emulator() as url:
        for n in range(repeat):
            order = [("kieframe", ours), ("bare", theirs), ("kieframe-frozen", frozen)]
            for kind, into in order if n % 2 == 0 else order[::-1]:
                into.append(_side(kind, tasks, url))
    name = f"{tasks:,} waits in flight"
    return [
        Figure(
            f"{name}: memory per wait",
            "KB",
            [r["per_wait"] / 1e3 for r in ours],
            "bare asyncio + httpx poller",
            [r["per_wait"] / 1e3 for r in theirs],
            ("<=", 1.2),
        ),
        Figure(
            f"{name}: worst event-loop lag",
            "ms",
            [r["lag"] * 1e3 for r in ours],
            "bare poller",
            [r["lag"] * 1e3 for r in theirs],
            ("<=", 1.0),
            note=(
                f"goal: under 50 ms; longest full GC pass {_worst(ours)} vs {_worst(theirs)} ms"
                f" (CPU {_worst(ours, 'gc_cpu')} vs {_worst(theirs, 'gc_cpu')} ms);"
                f" with gc.freeze() once the waits are started {_worst(frozen, 'lag')} ms"
                f" (pass {_worst(frozen)} ms)"
            ),
        ),
    ]
