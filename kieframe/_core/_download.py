"""Downloading a finished task's result files, as an operation.

For each result URL: plan the file (resuming from a partial file an earlier attempt left), fetch
it (a :class:`~._effects.Fetch` the driver performs, resuming and retrying), ask kie.ai for a
fresh link when it has expired and fetch again, then finish it on disk (check its size, give it a
name that overwrites nothing, write its metadata): blocking file work done as
:class:`~._effects.Blocking` effects. The driver runs the files' operations side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path

from .._errors import DownloadError, KieError
from .._files._finish import finish, plan_downloads
from .._files._sniff import sniff
from .._records import TaskRecord
from ._effects import Blocking, Call, Fetch, Op
from ._fileplan import ERROR_BODY_MAX, Decision, DownloadProgress, FilePlan, Step

__all__ = ["DOWNLOAD_URL", "download_op", "plans_op"]

DOWNLOAD_URL = "/api/v1/common/download-url"


def plans_op(record: TaskRecord, folder: Path) -> Op[list[FilePlan]]:
    """One plan per result file of ``record``, in ``folder`` (created if needed)."""
    plans: list[FilePlan] = yield Blocking(partial(plan_downloads, record, folder))
    return plans


def download_op(
    plan: FilePlan, record: TaskRecord, *, progress: DownloadProgress | None = None
) -> Op[Path]:
    """Fetch one file until it is complete, refreshing its link when it has expired; its path."""
    while True:
        step = yield Fetch(plan, progress)
        if step is Step.DONE:
            if plan.head is not None and sniff(plan.head) is not None:
                break  # known media (the usual case): nothing to read back
            refused: Decision | None = yield Blocking(partial(_error_body, plan))
            if refused is None:
                break
            if refused.step is Step.FAIL:
                raise DownloadError(f"result {plan.index}: {refused.reason}", task_id=plan.task_id)
        try:
            fresh = yield Call(
                method="POST",
                path=DOWNLOAD_URL,
                json={"url": plan.source_url},
                budget="read",
                retry=True,
                task_id=plan.task_id,
            )
        except KieError as error:
            raise DownloadError(
                f"result {plan.index}: the link expired and kie.ai gave no fresh one ({error})",
                task_id=plan.task_id,
            ) from error
        if isinstance(fresh, Mapping):  # some servers wrap it: {"url": ...}
            fresh = fresh.get("url") or fresh.get("downloadUrl")
        if not isinstance(fresh, str) or not fresh.startswith(("http://", "https://")):
            raise DownloadError(
                f"result {plan.index}: download-url answered {fresh!r} instead of a link",
                task_id=plan.task_id,
            )
        plan.use(fresh)
    path: Path = yield Blocking(partial(finish, plan, record))
    return path


def _error_body(plan: FilePlan) -> Decision | None:
    """A complete file that is an error document rather than the result: removed, and what the
    plan makes of it (blocking). Only a small file that is no known media is read."""
    with plan.part.open("rb") as handle:
        body = handle.read(ERROR_BODY_MAX + 1)
    if len(body) > ERROR_BODY_MAX or sniff(body) is not None:
        return None
    decision = plan.on_body(body)
    if decision is not None:
        plan.part.unlink()  # never resumed, never saved
    return decision
