"""Reading from kie.ai: a task's record (once) and the account's credits.

Reads are safe to repeat: the driver resends them with backoff on no answer, 429, 455 and 5xx.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._envelope import is_not_visible
from .._errors import APIError, InputValidationError, NotFoundError, Problem, ServerError
from .._records import TaskRecord, parse_number, parse_record
from ._effects import Call, Op

__all__ = [
    "CREDIT",
    "MAX_TASK_ID",
    "RECORD_INFO",
    "check_task_id",
    "credits_op",
    "get_op",
    "record_call",
    "to_record",
]

RECORD_INFO = "/api/v1/jobs/recordInfo"
CREDIT = "/api/v1/chat/credit"


#: The longest task id kieframe sends; kie.ai's are a few dozen characters.
MAX_TASK_ID = 256


def check_task_id(task_id: str) -> str:
    """``task_id`` if it can be a kie.ai task id; else an InputValidationError, before sending.

    A task id is what kie.ai handed out: printable ASCII (whose only white space is ``" "``),
    without spaces, short. Anything else (a
    pasted line with its newline, a lone surrogate no request can carry) is refused here rather
    than becoming a confusing answer from kie.ai or an encoding error from the HTTP stack.
    """
    limit = f"a kie.ai task id: 1 to {MAX_TASK_ID} printable characters, no spaces"
    if not 0 < len(task_id) <= MAX_TASK_ID:
        problem = f"is {len(task_id)} characters long"
    elif not (task_id.isascii() and task_id.isprintable()) or " " in task_id:
        problem = f"{task_id!r} has a character no task id has"
    else:
        return task_id
    raise InputValidationError("a task read", [Problem("task_id", problem, limit)])


def record_call(task_id: str, deadline: float | None = None) -> Call:
    """The recordInfo read of ``task_id``, retried by the driver until ``deadline`` if given."""
    check_task_id(task_id)
    return Call(
        method="GET",
        path=RECORD_INFO,
        params={"taskId": task_id},
        budget="read",
        retry=True,
        task_id=task_id,
        deadline=deadline,
    )


def get_op(task_id: str) -> Op[TaskRecord]:
    """Read a task's record once; a task kie.ai does not show (yet) is a NotFoundError."""
    try:
        data = yield record_call(task_id)
    except APIError as error:
        if not is_not_visible(error):
            raise
        raise NotFoundError(
            f"kie.ai shows no task {task_id} (yet): it answers {error.message!r}",
            code=error.code,
            task_id=task_id,
        ) from error
    if data is None:
        raise NotFoundError(
            f"kie.ai shows no task {task_id} (yet): it answers with no record", task_id=task_id
        )
    return to_record(task_id, data)


def to_record(task_id: str, data: Any) -> TaskRecord:
    """The record in recordInfo's ``data``; a ServerError if it is not one, or another task's."""
    if not isinstance(data, Mapping):
        raise ServerError(f"recordInfo answered {data!r} instead of a record", task_id=task_id)
    for name in ("taskId", "task_id"):  # a server's mix-up must never settle this task
        named = data.get(name)
        if named is not None and str(named).strip() not in ("", task_id):
            raise ServerError(
                f"recordInfo answered the record of task {named!r} instead of this one",
                task_id=task_id,
            )
    return parse_record({**data, "taskId": task_id})


def credits_op() -> Op[float]:
    """Read the account's remaining credits: an int when whole, else a float (``12.5``)."""
    data = yield Call(method="GET", path=CREDIT, budget="read", retry=True)
    number = parse_number(data)
    if number is None:
        raise ServerError(f"credit answered {data!r} instead of a number")
    return int(number) if number == int(number) else number
