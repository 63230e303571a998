"""A helper the test packages share: wait until a condition holds, without a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, TypeVar

T = TypeVar("T")


def wait_for(probe: Callable[[], T | Literal[False] | None], *, timeout: float = 60.0) -> T:
    """Check ``probe`` until it returns something true, and return that.

    The timeout only ends a test that would otherwise hang: a busy machine can take seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)
