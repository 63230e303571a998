"""Options that shape a task's lifecycle: where requests go, how fast, how often to poll.

Pass them to :class:`~kieframe.Client` or :class:`~kieframe.AsyncClient`: ``base_url`` and
``upload_base_url`` (defaults below), ``poll=PollPlan(...)``, ``rate_limits=RateLimits(...)``, and
an :class:`UpdateHook` as a wait's ``on_update`` (an :class:`AsyncUpdateHook`, which may be
``async def``, for :class:`~kieframe.AsyncClient`).
"""

from __future__ import annotations

from ._config import DEFAULT_BASE_URL, DEFAULT_UPLOAD_BASE_URL
from ._core._poll import PollPhase, PollPlan
from ._core._wait import AsyncUpdateHook, UpdateHook
from ._ratelimit import RateLimits

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_UPLOAD_BASE_URL",
    "AsyncUpdateHook",
    "PollPhase",
    "PollPlan",
    "RateLimits",
    "UpdateHook",
]
