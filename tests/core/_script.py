"""Drive the core's operations with scripted answers and a fake clock: no sockets, no sleeping."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from kieframe._core._effects import (
    AwaitCallback,
    Blocking,
    Call,
    Delivery,
    Effect,
    Fetch,
    Op,
    Reserve,
    Sleep,
)
from kieframe._core._fileplan import Step
from kieframe._core._perform import drive
from kieframe._envelope import read_envelope

T = TypeVar("T")

WAN = "wan/2-5-image-to-video"
INPUT = {"prompt": "a cat", "image_url": "https://example.com/cat.png"}
#: Where the fake clocks start: any numbers do, far from zero so no sign mistake hides.
MONOTONIC_START = 5_000.0
UNIX_START = 1_750_000_000.0


@dataclass
class FakeClock:
    """A clock that moves only when the script sleeps or waits."""

    mono: float = MONOTONIC_START
    wall: float = UNIX_START

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


class LowJitter:
    """Always the low end of a jitter range: delays become exact."""

    def uniform(self, a: float, b: float, /) -> float:
        return a


def envelope(code: int = 200, data: Any = None, *, status: int = 200, msg: str = "") -> Any:
    """What the performer makes of an HTTP answer: its envelope's data, or the error it carries."""
    response = httpx.Response(status, json={"code": code, "msg": msg, "data": data})
    return read_envelope(response)


Answer = Callable[[Call], Any]


@dataclass
class Script:
    """Answers each effect as told, records every effect, and moves the clock for waits.

    ``calls`` answers :class:`Call` effects in order: a value is returned, an exception (or a
    callable that raises, such as :func:`envelope` bound with ``functools.partial``) is raised.
    ``callbacks`` answers :class:`AwaitCallback` effects in order (None: the timeout passed).
    ``fetches`` answers :class:`Fetch` effects (a function of the effect).
    """

    clock: FakeClock = field(default_factory=FakeClock)
    calls: list[Any] = field(default_factory=list)
    callbacks: list[Delivery | None] = field(default_factory=list)
    fetches: list[Callable[[Fetch], Step]] = field(default_factory=list)
    interrupt: Callable[[Effect], BaseException | None] = lambda effect: None
    effects: list[Effect] = field(default_factory=list)

    def perform(self, effect: Effect) -> Any:
        self.effects.append(effect)
        if (error := self.interrupt(effect)) is not None:
            raise error
        if isinstance(effect, Sleep):
            self.clock.advance(effect.seconds)
            return None
        if isinstance(effect, Blocking):
            return effect.function()
        if isinstance(effect, Reserve):
            return None
        if isinstance(effect, AwaitCallback):
            delivery = self.callbacks.pop(0)
            if delivery is None:
                self.clock.advance(effect.timeout)
            return delivery
        if isinstance(effect, Fetch):
            return self.fetches.pop(0)(effect)
        answer = self.calls.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer() if callable(answer) else answer

    def run(self, op: Op[T]) -> T:
        return drive(op, self.perform)

    def of(self, kind: type[Any]) -> list[Any]:
        """The effects of one kind, in order."""
        return [effect for effect in self.effects if isinstance(effect, kind)]


def record(task_id: str, state: str, **extra: Any) -> Mapping[str, Any]:
    """A recordInfo ``data`` object."""
    return {"taskId": task_id, "model": WAN, "state": state, **extra}
