"""Uploading staged local inputs through kie.ai's upload API, then creating the task.

Which route carries a file: content of at most :data:`BASE64_MAX` bytes goes as one JSON request
(``POST /api/file-base64-upload``), where base64's third of overhead is a few hundred KB at most;
larger content goes as multipart (``POST /api/file-stream-upload``), which sends the bytes as they
are. A :class:`~kieframe.Rehost` goes through ``POST /api/file-url-upload``. Files are stored under
``kieframe/`` with a name made of their SHA-256, so names never collide and a resent upload
rewrites the same bytes: that is what makes an upload safe to retry.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import InputValidationError, Problem, ServerError
from .._files._cache import UploadCache
from .._files._local import PendingUpload, describe_size
from .._files._names import upload_name
from .._journal import SubmissionLog
from .._records import Task
from ._wait import Call, Op, Submission, submit_op

__all__ = ["BASE64_MAX", "UPLOAD_FOLDER", "submit_with_uploads_op", "upload_op"]

logger = logging.getLogger("kieframe")

#: The largest content (bytes) sent through the base64 route; larger goes as multipart.
BASE64_MAX = 1 << 20
#: The ``uploadPath`` kieframe stores files under.
UPLOAD_FOLDER = "kieframe"

STREAM_UPLOAD = "/api/file-stream-upload"
BASE64_UPLOAD = "/api/file-base64-upload"
URL_UPLOAD = "/api/file-url-upload"


def upload_call(item: PendingUpload) -> Call:
    """The request that uploads ``item``, by its size (or by URL for a rehost)."""
    if item.source_url is not None:
        body = {"fileUrl": item.source_url, "uploadPath": UPLOAD_FOLDER}
        return Call(method="POST", path=URL_UPLOAD, host="upload", json=body, retry=True)
    name = upload_name(item.sha256, item.media_type)
    if len(item.data) <= BASE64_MAX:
        body = {
            "base64Data": base64.b64encode(item.data).decode("ascii"),
            "uploadPath": UPLOAD_FOLDER,
            "fileName": name,
        }
        return Call(method="POST", path=BASE64_UPLOAD, host="upload", json=body, retry=True)
    return Call(
        method="POST",
        path=STREAM_UPLOAD,
        host="upload",
        files={"file": (name, item.data, item.media_type)},
        data={"uploadPath": UPLOAD_FOLDER, "fileName": name},
        retry=True,
    )


def upload_op(
    model: str, uploads: Sequence[PendingUpload], *, cache: UploadCache | None
) -> Op[dict[str, str]]:
    """Upload each staged input (unless the cache still holds its link); field → download URL."""
    urls: dict[str, str] = {}
    for item in uploads:
        cached = cache.get(item.sha256) if cache is not None and item.sha256 else None
        if cached is not None:
            logger.info("%s: reusing the upload of %s", item.field, item.label)
            urls[item.field] = cached
            continue
        answer = yield upload_call(item)
        url = _download_url(answer)
        if item.source_url is not None:
            _check_rehosted(model, item, answer)
        elif cache is not None:
            cache.put(item.sha256, url)
        logger.info("%s: uploaded %s", item.field, item.label)
        urls[item.field] = url
    return urls


def _download_url(answer: Any) -> str:
    url = answer.get("downloadUrl") if isinstance(answer, Mapping) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ServerError(f"the upload API answered {answer!r} without a downloadUrl")
    return url


def _check_rehosted(model: str, item: PendingUpload, answer: Mapping[str, Any]) -> None:
    """A rehosted file is checked from kie.ai's answer: its content was never here."""
    media_type, size = answer.get("mimeType"), answer.get("fileSize")
    limits = item.limits
    if media_type not in limits.media_types:
        problem = Problem(item.field, f"{item.label} is {media_type}", limits.describe())
        raise InputValidationError(model, [problem])
    if isinstance(size, int) and size > limits.max_bytes:
        problem = Problem(item.field, f"{item.label} is {describe_size(size)}", limits.describe())
        raise InputValidationError(model, [problem])


def submit_with_uploads_op(
    submission: Submission,
    *,
    cache: UploadCache | None,
    journal: SubmissionLog | None,
    host: str | None = None,
    attempts: int,
    rate_window: float,
) -> Op[Task]:
    """Upload the submission's local inputs, put their links in the body, then create the task."""
    if submission.uploads:
        urls = yield from upload_op(submission.model, submission.uploads, cache=cache)
        data = {**submission.input, **urls}
        submission = dataclasses.replace(
            submission, input=data, body={**submission.body, "input": data}, uploads=()
        )
    return (
        yield from submit_op(
            submission, journal=journal, host=host, attempts=attempts, rate_window=rate_window
        )
    )
