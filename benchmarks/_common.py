"""Shared helpers for the benchmarks: alternating repeats, ratios and the side-by-side table.

Every figure measures kieframe next to a baseline doing the same work the plain way, in the same
invocation, alternating the two a few times (so drift on a shared machine hits both), and reports
the ratio of each pair: median [min–max]. Absolute numbers vary between machines; ratios measured
side by side are what to compare across commits.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Figure", "alternate", "machine", "per_call", "python_cmd", "table"]


@dataclass(frozen=True, slots=True)
class Figure:
    """kieframe's samples and a baseline's, in one unit, paired by repeat.

    ``ratio`` is kieframe over the baseline (of times, speeds or sizes, as measured), and
    ``goal`` bounds it: ``("<=", 1.1)`` for a cost, ``(">=", 0.9)`` for a speed.
    """

    name: str
    unit: str
    ours: Sequence[float]
    baseline: str
    theirs: Sequence[float]
    goal: tuple[Literal["<=", ">="], float]
    note: str = ""

    @property
    def ratios(self) -> list[float]:
        return [o / t if t else float("inf") for o, t in zip(self.ours, self.theirs, strict=True)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def ok(self) -> bool:
        op, bound = self.goal
        return self.ratio <= bound if op == "<=" else self.ratio >= bound


def alternate(
    repeat: int, ours: Callable[[], float], theirs: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """Run ``ours`` and ``theirs`` in turn ``repeat`` times (which goes first alternates too)."""
    mine: list[float] = []
    other: list[float] = []
    for n in range(repeat):
        if n % 2:
            other.append(theirs())
            mine.append(ours())
        else:
            mine.append(ours())
            other.append(theirs())
    return mine, other


def per_call(loops: int, work: Callable[[], object]) -> Callable[[], float]:
    """A measurement: seconds per call of ``work``, over ``loops`` calls."""

    def measure() -> float:
        start = time.perf_counter()
        for _ in range(loops):
            work()
        return (time.perf_counter() - start) / loops

    return measure


def python_cmd(*args: str) -> list[str]:
    """A command running this interpreter."""
    return [sys.executable, *args]


def machine() -> str:
    """One line about the machine the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    tool = "no curl"
    if shutil.which("curl"):
        curl = subprocess.run(["curl", "--version"], capture_output=True, text=True, check=False)
        tool = curl.stdout.split(" (")[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, {tool}"
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def table(figures: Sequence[Figure]) -> str:
    """The figures as a Markdown table (readable as plain text too)."""
    lines = [
        "| figure | kieframe | baseline | ratio, median [min–max] | goal |",
        "|---|---|---|---|---|",
    ]
    for f in figures:
        low, high = min(f.ratios), max(f.ratios)
        mark = "" if f.ok else " **missed**"
        note = f" ({f.note})" if f.note else ""
        lines.append(
            f"| {f.name}{note} | {_number(statistics.median(f.ours))} {f.unit} "
            f"| {f.baseline} {_number(statistics.median(f.theirs))} {f.unit} "
            f"| {f.ratio:.2f}× [{low:.2f}–{high:.2f}] | {f.goal[0]} {f.goal[1]:g}×{mark} |"
        )
    return "\n".join(lines)
