"""Error codes on a task's read that are the task's own failure, not an outage.

kie.ai lists 408 ("upstream gave no result for 10 minutes") and 501 ("generation failed") among
its codes. Read during a wait, either is the task's end: the wait raises
:class:`~kieframe.TaskFailed`, as for a record in state ``fail``, with the code as its
``failCode``. (A 501 answer that carries the failed record itself is read as that record.)
"""

from __future__ import annotations

from .._errors import TASK_FAILURE_CODES, APIError, TaskFailed
from .._records import parse_record

__all__ = ["is_task_failure", "task_failure"]


def is_task_failure(error: APIError) -> bool:
    """Whether ``error`` is kie.ai's word that the task failed (not a proxy's bare status)."""
    return error.code in TASK_FAILURE_CODES and not error.retryable


def task_failure(task_id: str, error: APIError) -> TaskFailed:
    """The TaskFailed a wait raises for ``error``, one that :func:`is_task_failure`."""
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
