"""Run an operation: perform each effect it yields and send back the result or the error.

The one loop behind both clients and both downloaders. Every exception an effect raises,
``KeyboardInterrupt`` and ``asyncio.CancelledError`` included, is thrown back into the operation
at the point that yielded the effect, so its cleanup (a journal entry marked uncertain, a partial
file kept for resuming) runs before the exception reaches the caller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

__all__ = ["drive", "drive_async"]

E = TypeVar("E")
T = TypeVar("T")


def drive(op: Generator[E, Any, T], perform: Callable[[E], Any]) -> T:
    """Run ``op`` to its end, performing its effects with blocking ``perform``."""
    result: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = op.throw(error) if error is not None else op.send(result)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]  # the op's declared result
            finally:
                del error  # break the frame cycle of a thrown traceback
            result, error = None, None
            try:
                result = perform(effect)
            except BaseException as failure:  # the op decides; see the module docstring
                error = failure
    finally:
        op.close()  # an interrupt between two steps still runs the op's cleanup, now


async def drive_async(op: Generator[E, Any, T], perform: Callable[[E], Awaitable[Any]]) -> T:
    """Run ``op`` to its end, performing its effects with awaited ``perform``."""
    result: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = op.throw(error) if error is not None else op.send(result)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]  # the op's declared result
            finally:
                del error
            result, error = None, None
            try:
                result = await perform(effect)
            except BaseException as failure:  # the op decides; see the module docstring
                error = failure
    finally:
        op.close()
