"""Shared helpers for the benchmarks: timing, repetition and a side-by-side table.

Every benchmark measures kieframe next to a baseline doing the same work the plain way, in the
same process and run, and reports the ratio. Absolute numbers vary between machines; ratios
measured side by side are what to compare across commits.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured pair: kieframe and its baseline, in the same unit."""

    name: str
    unit: str
    kieframe: float
    baseline: float
    target: float  # the ratio kieframe should stay under

    @property
    def ratio(self) -> float:
        return self.kieframe / self.baseline if self.baseline else float("inf")

    @property
    def ok(self) -> bool:
        return self.ratio <= self.target


def best_of(repeat: int, work: Callable[[], object]) -> float:
    """The median of ``repeat`` timings of ``work``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def table(figures: list[Figure]) -> str:
    """The figures as a plain-text table."""
    lines = [
        f"{'benchmark':<44} {'kieframe':>12} {'baseline':>12} {'ratio':>7} {'target':>7}",
        "-" * 86,
    ]
    for f in figures:
        mark = "" if f.ok else "  <-- over target"
        lines.append(
            f"{f.name:<44} {f.kieframe:>9.3g} {f.unit:<2} {f.baseline:>9.3g} {f.unit:<2}"
            f" {f.ratio:>7.2f} {f.target:>7.2f}{mark}"
        )
    return "\n".join(lines)
