"""Error codes on a task's read that are the task's own failure, not an outage.

kie.ai lists 408 ("upstream gave no result for 10 minutes") and 501 ("generation failed") among
its codes. Read during a wait, either is the task's end: the wait raises
:class:`~kieframe.TaskFailed`, as for a record in state ``fail``, with the code as its
``failCode``. (A 501 answer that carries the failed record itself is read as that record.)
"""

from __future__ import annotations

from .._errors import APIError, TaskFailed
from .._records import parse_record

__all__ = ["TASK_FAILURE_CODES", "task_failure"]

#: Codes a task's recordInfo answers when the task itself failed.
TASK_FAILURE_CODES = frozenset({408, 501})


def task_failure(task_id: str, error: APIError) -> TaskFailed:
    """The TaskFailed a wait raises for ``error``, one of :data:`TASK_FAILURE_CODES`."""
    code = str(error.code)
    record = parse_record(
        {"taskId": task_id, "state": "fail", "failCode": code, "failMsg": error.message}
    )
    return TaskFailed(
        f"task failed: {error.message} (code {code})",
        task_id=task_id,
        fail_code=code,
        record=record,
    )
