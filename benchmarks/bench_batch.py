"""A batch with callbacks against the emulator: how close it gets to the create budget's floor.

The emulator's rate windows (and its Retry-After) are scaled down (``window_scale``) so 10,000
lines take minutes, not hours; the client's windows are scaled alike. Figures: wall time against
the floor the create budget sets (lines / creates per window x window: the best any client can
do), and recordInfo reads per line against one (the receiver's re-read of each callback; polling
would need many).

The scale is 0.05 (40 creates a second, 20 times kie.ai's budget). At 0.02 (100 a second) the run
measured one process's CPU, not how well the batch follows the budget: the emulator, the callback
receiver and the client share one interpreter (about 27 ms of CPU a line, all of it together), so
a 300-line run held the GIL 87 % of the time and took 2-2.5 times the floor.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path

import kieframe.batch
from kieframe.lifecycle import RateLimits
from kieframe.testing import Emulator, Timing

from ._common import Figure

MODEL = "wan/2-5-image-to-video"
TIMING = Timing(invisible=0.02, waiting=0.02, queuing=0.02, generating=0.2)


def _batch(lines: int, scale: float) -> tuple[float, float, float, int, int]:
    """Run the batch; return wall and floor seconds, reads per line, 429s and uncertain lines."""
    # The client keeps its windows a little longer than the emulator's, as against kie.ai; scaled
    # down, that margin must stay a few tens of milliseconds (jitter does not scale), or creates
    # arrive bunched and are refused (429), then resent after Retry-After.
    limits = RateLimits(create_window=10 * scale + 0.05, read_window=1.1 * scale)
    with tempfile.TemporaryDirectory() as folder, Emulator(
        timing=TIMING, window_scale=scale, result_size=4096, credits=10 * lines
    ) as emu:  # fmt: skip
        source = Path(folder) / "in.jsonl"
        with source.open("w", encoding="utf-8") as handle:
            for n in range(lines):
                item = {
                    "id": f"l{n}",
                    "input": {"prompt": f"p{n}", "image_url": "https://e.com/a.png"},
                }
                handle.write(json.dumps(item) + "\n")
        start = time.perf_counter()
        result = kieframe.batch.run(
            source,
            out=Path(folder) / "out",
            model=MODEL,
            api_key=Emulator.API_KEY,
            base_url=emu.base_url,
            upload_base_url=emu.upload_base_url,
            rate_limits=limits,
            listen=("127.0.0.1", 0),
            concurrency=16,
            progress_every=60.0,
            settle_timeout=2.0,  # for a callback settling an uncertain create
            watchdog=30.0,
        )
        wall = time.perf_counter() - start
        counts = result.status.counts
        # A create whose connection was cut (rare: a keep-alive connection closed as it was
        # reused) stays uncertain, never resent; all others succeed.
        uncertain = counts.get("uncertain", 0)
        assert counts.get("succeeded", 0) + uncertain == lines, counts
        # With windows scaled down, the client's margin shrinks to milliseconds, and a loaded
        # machine's scheduling jitter can get a create refused (429, dropped): it is resent.
        refused = emu.stats.rate_limited.get("createTask", 0)
        assert len(emu.tasks) <= lines  # never a create twice
        reads = emu.stats.requests.get("recordInfo", 0) / lines
    floor = lines / 20 * 10 * scale  # kie.ai's budget, scaled: no client can do better
    return wall, floor, reads, refused, uncertain


def run(*, quick: bool) -> list[Figure]:
    lines = 200 if quick else 10_000
    logging.disable(logging.ERROR)
    wall, floor, reads, refused, uncertain = _batch(lines, 0.05)
    name = f"batch of {lines:,} lines with callbacks"
    return [
        Figure(f"{name}: wall time", "s", [wall], "create-budget floor", [floor], ("<=", 1.25)),
        Figure(f"{name}: recordInfo reads", "per line", [reads], "one re-read", [1.0], ("<=", 1.1)),
        Figure(
            f"{name}: creates refused (429), resent", "per line", [refused / lines],
            "every line", [1.0], ("<=", 0.01),
        ),
        Figure(
            f"{name}: uncertain creates (kept, never resent)", "per line", [uncertain / lines],
            "every line", [1.0], ("<=", 0.001),
        ),
    ]  # fmt: skip
