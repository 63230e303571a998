"""Start-up, in fresh processes: ``import kieframe`` and ``kieframe --help`` vs ``import httpx``."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from ._common import Figure, alternate, python_cmd


def _wall(command: list[str]) -> Callable[[], float]:
    """A measurement: milliseconds for ``command`` to run to its end."""

    def measure() -> float:
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return (time.perf_counter() - start) * 1e3

    return measure


def run(*, quick: bool) -> list[Figure]:
    repeat = 3 if quick else 7
    httpx = _wall(python_cmd("-c", "import httpx"))
    figures = []
    for name, command, goal in (
        ("import kieframe", python_cmd("-c", "import kieframe"), 1.2),
        ("kieframe --help", python_cmd("-m", "kieframe", "--help"), 1.5),
    ):
        mine, other = alternate(repeat, _wall(command), httpx)
        figures.append(Figure(name, "ms", mine, "import httpx", other, ("<=", goal)))
    return figures
