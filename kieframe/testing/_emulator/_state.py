"""The emulator's task store, account, rate limits, request counters and clock.

Everything here is guarded by a lock: the ASGI app runs on uvicorn's loop thread while tests
read and script the state from theirs. Task states are not ticked by a thread; they are
computed from the clock each time they are read.
"""

from __future__ import annotations

import math
import random
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from ._records import Outcome, Stats, TaskInfo, Timing

__all__ = ["Clock", "Counters", "Phase", "Rejected", "Script", "Task", "TaskStore"]

_CREATE_LIMIT = 20
_CREATE_WINDOW = 10.0
_POLL_LIMIT = 10
_POLL_WINDOW = 1.0


class Clock:
    """Monotonic time for durations, mapped onto Unix time for the timestamps records carry."""

    def __init__(self) -> None:
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    def unix(self, mono: float | None = None) -> float:
        """Unix seconds at monotonic time ``mono`` (default: now)."""
        return self._wall0 + ((self.now() if mono is None else mono) - self._mono0)

    def unix_ms(self, mono: float | None = None) -> int:
        """Unix milliseconds at monotonic time ``mono`` (default: now)."""
        return round(self.unix(mono) * 1000)


class Rejected(Exception):
    """A request the account refuses: its kie.ai code, message and optional Retry-After."""

    def __init__(self, code: int, msg: str, *, retry_after: float | None = None) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Script:
    """How one task behaves; see :meth:`Emulator.script`."""

    outcome: Outcome = "success"
    fail_code: str = "500"
    fail_msg: str = "internal error"
    state: str | None = None
    timing: Timing | None = None


@dataclass(frozen=True, slots=True)
class Phase:
    """A task's state at one moment and when it entered that state (offset from creation)."""

    state: str
    since: float
    terminal: bool


@dataclass(slots=True)
class Task:
    """A created task; ``result_urls`` is filled once, the first time its success is read."""

    info: TaskInfo
    param: str
    created: float
    created_ms: int
    script: Script
    timing: Timing
    result_urls: tuple[str, ...] | None = field(default=None)
    result_object: Any = None  # a text model's answer

    @property
    def finishes_after(self) -> float | None:
        """Seconds from creation to the terminal state, or ``None`` if it never ends."""
        return None if self.script.outcome == "never" else self.timing.total

    def phase(self, now: float) -> Phase | None:
        """The state at monotonic time ``now``; ``None`` while recordInfo cannot see the task."""
        t = self.timing
        elapsed = now - self.created
        if elapsed < t.invisible:
            return None
        queuing = t.invisible + t.waiting
        generating = queuing + t.queuing
        if elapsed < queuing:
            return Phase("waiting", 0.0, terminal=False)
        if elapsed < generating:
            return Phase("queuing", queuing, terminal=False)
        running = self.script.state or "generating"
        if self.script.outcome == "never" or elapsed < t.total:
            return Phase(running, generating, terminal=False)
        return Phase(self.script.outcome, t.total, terminal=True)


def _window_wait(times: deque[float], now: float, *, limit: int, window: float) -> float | None:
    """Seconds until ``times`` (a rolling window) has room again, or ``None`` if it has room."""
    while times and times[0] <= now - window:
        times.popleft()
    if len(times) < limit:
        return None
    return times[0] + window - now


class TaskStore:
    """The account (credits, rate limits), the scripted outcomes and every created task."""

    def __init__(
        self,
        *,
        clock: Clock,
        seed: int,
        timing: Timing,
        credits: int,
        rate_limits: bool,
        window_scale: float = 1.0,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._ids = random.Random(f"{seed}:task-ids")
        # Fresh per emulator: two runs (a restart, the same seed) never hand out the same id, so
        # their journal entries and downloaded files never collide.
        self._id_prefix = secrets.token_hex(4)
        self._timing = timing
        self._credits = credits
        self._rate_limits = rate_limits
        self._create_window = _CREATE_WINDOW * window_scale
        self._poll_window = _POLL_WINDOW * window_scale
        self._scale = window_scale  # Retry-After too: whole seconds of kie.ai's time, scaled
        self._scripts: deque[Script] = deque()
        self._tasks: dict[str, Task] = {}
        self._creates: deque[float] = deque()
        self._polls: dict[str, deque[float]] = {}

    @property
    def credits(self) -> int:
        """Credits left on the account."""
        with self._lock:
            return self._credits

    @credits.setter
    def credits(self, value: int) -> None:
        with self._lock:
            self._credits = value

    def add_script(self, script: Script) -> None:
        """Queue ``script`` for the next created task."""
        with self._lock:
            self._scripts.append(script)

    def tasks(self) -> tuple[TaskInfo, ...]:
        """Every created task, oldest first."""
        with self._lock:
            return tuple(task.info for task in self._tasks.values())

    def create(
        self,
        *,
        model: str,
        input: dict[str, Any],
        param: str,
        callback_url: str | None,
        cost: int,
        result_object: Any = None,
    ) -> Task:
        """Accept a task, or raise :class:`Rejected` (429 rate limit, 402 credits)."""
        with self._lock:
            now = self._clock.now()
            if self._rate_limits:
                wait = _window_wait(
                    self._creates, now, limit=_CREATE_LIMIT, window=self._create_window
                )
                if wait is not None:
                    raise Rejected(
                        429,
                        f"rate limited: at most {_CREATE_LIMIT} new tasks per "
                        f"{self._create_window:g} seconds; the request was dropped",
                        retry_after=max(1, math.ceil(wait / self._scale)) * self._scale,
                    )
            if self._credits < cost:
                raise Rejected(402, "insufficient credits")
            self._credits -= cost
            self._creates.append(now)
            script = self._scripts.popleft() if self._scripts else Script()
            task_id = f"{self._id_prefix}{self._ids.getrandbits(96):024x}"
            info = TaskInfo(
                task_id=task_id,
                model=model,
                input=input,
                callback_url=callback_url,
                created_at=self._clock.unix(now),
                outcome=script.outcome,
            )
            task = Task(
                info=info,
                param=param,
                created=now,
                created_ms=self._clock.unix_ms(now),
                script=script,
                timing=script.timing or self._timing,
                result_object=result_object,
            )
            self._tasks[task_id] = task
            return task

    def check_poll(self, key_id: str) -> None:
        """Count one recordInfo request for ``key_id``; raise :class:`Rejected` past the limit."""
        if not self._rate_limits:
            return
        with self._lock:
            now = self._clock.now()
            times = self._polls.setdefault(key_id, deque())
            if _window_wait(times, now, limit=_POLL_LIMIT, window=self._poll_window) is not None:
                raise Rejected(
                    429,
                    f"rate limited: at most {_POLL_LIMIT} recordInfo requests per"
                    f" {self._poll_window:g} seconds",
                    retry_after=self._scale,
                )
            times.append(now)

    def record(
        self, task_id: str, *, links: Callable[[Task], tuple[str, ...]]
    ) -> dict[str, Any] | None:
        """The recordInfo ``data`` of a visible task, or ``None`` ("recordInfo is null").

        ``links`` issues the result URLs the first time a success is read; they are kept, as
        kie.ai keeps the URLs it stored, so later reads show the same (possibly expired) links.
        """
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None
            phase = task.phase(self._clock.now())
            if phase is None:
                return None
            if phase.state == "success" and task.result_urls is None:
                task.result_urls = links(task)
            return _record(task, phase)

    def callback_payload(
        self, task_id: str, *, links: Callable[[Task], tuple[str, ...]], cost: int
    ) -> dict[str, Any] | None:
        """The body of a finished task's callback, or ``None`` if it has not finished."""
        data = self.record(task_id, links=links)
        if data is None or data["state"] not in ("success", "fail"):
            return None
        success = data["state"] == "success"
        data["consumeCredits"] = cost
        data["remainedCredits"] = self.credits
        return {
            "code": 200 if success else 501,
            "msg": "success" if success else data["failMsg"],
            "data": data,
        }


def _result(task: Task) -> dict[str, Any]:
    """A successful task's ``resultJson``: file links, or a text model's ``resultObject``."""
    if task.result_object is not None:
        return {"resultObject": task.result_object}
    return {"resultUrls": task.result_urls or ()}


def _record(task: Task, phase: Phase) -> dict[str, Any]:
    """The record of ``task`` in ``phase``, shaped as in kie.ai's Query Task documentation."""
    created = task.created_ms
    ended = created + round(phase.since * 1000) if phase.terminal else None
    success = phase.state == "success"
    failed = phase.state == "fail"
    return {
        "taskId": task.info.task_id,
        "model": task.info.model,
        "state": phase.state,
        "param": task.param,
        "resultJson": msgspec.json.encode(_result(task)).decode() if success else "",
        "failCode": task.script.fail_code if failed else None,
        "failMsg": task.script.fail_msg if failed else None,
        "costTime": round(phase.since * 1000) if success else None,
        "completeTime": ended,
        "createTime": created,
        "updateTime": created + round(phase.since * 1000),
    }


class Counters:
    """Per-endpoint request counts, rate-limit refusals and User-Agent values."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._rate_limited: Counter[str] = Counter()
        self._agents: Counter[str] = Counter()
        self._missing_agent = 0

    def request(self, endpoint: str, user_agent: str | None) -> None:
        """Count a request that reached ``endpoint``."""
        with self._lock:
            self._requests[endpoint] += 1
            if user_agent is None:
                self._missing_agent += 1
            else:
                self._agents[user_agent] += 1

    def rate_limited(self, endpoint: str) -> None:
        """Count a 429 the emulated rate limits answered on ``endpoint``."""
        with self._lock:
            self._rate_limited[endpoint] += 1

    def snapshot(self) -> Stats:
        """A frozen copy of the counters."""
        with self._lock:
            return Stats(
                requests=self._requests.copy(),
                rate_limited=self._rate_limited.copy(),
                user_agents=self._agents.copy(),
                missing_user_agent=self._missing_agent,
            )
