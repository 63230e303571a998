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
from .._records import TaskRecord
from ._effects import Blocking, Call, Fetch, Op
from ._fileplan import DownloadProgress, FilePlan, Step

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
            break
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
