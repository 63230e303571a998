"""Submitting a task, as one operation: validate, upload local files, journal, create.

The lifecycle of a submit, top to bottom (:func:`submit_op`):

1. **prepare** (:func:`prepare_submission`, blocking work: it reads local files): validate the
   input against the model's spec and build the createTask body; nothing is sent.
2. **upload** local inputs through kie.ai's upload API (:func:`upload_op`). Content of at most
   :data:`BASE64_MAX` bytes goes as one JSON request (``POST /api/file-base64-upload``), larger
   content as multipart (``POST /api/file-stream-upload``); a ``Rehost`` goes through
   ``POST /api/file-url-upload``. Files are stored under ``kieframe/`` with a name made of their
   SHA-256, so a resent upload rewrites the same bytes: that makes an upload safe to retry.
3. **journal** the create before it is sent (with a journal).
4. **create** the task (``POST /api/v1/jobs/createTask``), resent only after a definite
   non-acceptance (a 429, or a connection that never opened); anything ambiguous raises
   ``SubmissionUncertain``.
5. **journal** its outcome: accepted (with the task id), rejected, or uncertain.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import msgspec

from .._errors import (
    APIError,
    AuthenticationError,
    InputValidationError,
    KieError,
    NoAnswerError,
    Problem,
    RateLimitError,
    ServerError,
    SubmissionUncertain,
    UnknownModelError,
)
from .._fields import HttpUrl
from .._files._cache import UploadCache
from .._files._local import Location, PendingUpload, describe_size, put_urls, stage_input
from .._files._names import upload_name
from .._journal import SqlJournal, SubmissionLog, new_token, tag_callback_url
from .._records import RawInput, Task
from .._registry import Registry
from .._request_body import body_encoder, request_body
from .._validation_values import builtin_values
from ._effects import SYSTEM_CLOCK, Blocking, Call, Clock, Op, Reserve, Sleep

__all__ = [
    "BASE64_MAX",
    "CREATE_TASK",
    "UPLOAD_FOLDER",
    "Submission",
    "create_op",
    "encode_body",
    "prepare_submission",
    "submit_op",
    "upload_op",
]

logger = logging.getLogger("kieframe")

CREATE_TASK = "/api/v1/jobs/createTask"
STREAM_UPLOAD = "/api/file-stream-upload"
BASE64_UPLOAD = "/api/file-base64-upload"
URL_UPLOAD = "/api/file-url-upload"

#: Why a create of a model that kie.ai refuses without a callBackUrl is not sent.
_CALLBACK_REQUIRED = "the model requires a callback URL (callback_url=..., --callback-url)"

#: The largest content (bytes) sent through the base64 route; larger goes as multipart.
BASE64_MAX = 1 << 20
#: The ``uploadPath`` kieframe stores files under.
UPLOAD_FOLDER = "kieframe"


def submit_op(
    registry: Registry,
    model: str,
    input: Any,
    *,
    callback_url: str | None,
    cache: UploadCache | None,
    journal: SubmissionLog | None,
    host: str | None = None,
    attempts: int,
    rate_window: float,
    clock: Clock = SYSTEM_CLOCK,
    prepared: Submission | None = None,
) -> Op[Task]:
    """Validate, upload local inputs, then create the task (journaled); see the module docstring.

    ``prepared`` is ``input`` already validated (:func:`prepare_submission`): not read again.
    """
    submission: Submission
    if prepared is None:
        submission = yield Blocking(
            partial(prepare_submission, registry, model, input, callback_url=callback_url)
        )
    else:
        submission = prepared
    if (
        callback_url is None
        and submission.validated
        and registry.get_model(model).requires_callback
    ):
        raise InputValidationError(model, [Problem("callback_url", _CALLBACK_REQUIRED)])
    if submission.uploads:
        urls = yield from upload_op(submission.model, submission.uploads, cache=cache)
        data = put_urls(submission.input, urls)
        submission = Submission(
            model=submission.model,
            given=data,
            validated=submission.validated,
            callback_url=submission.callback_url,
        )
    return (
        yield from create_op(
            submission,
            journal=journal,
            host=host,
            attempts=attempts,
            rate_window=rate_window,
            clock=clock,
        )
    )


class Submission(msgspec.Struct, frozen=True, kw_only=True):
    """A create, ready to send: what its JSON body is built from.

    ``given`` is the ``input`` object, or a Struct that ``msgspec.to_builtins`` turns into it
    (built when it is asked for: a create sends ``input_json`` without it). ``uploads`` are local
    inputs still to upload; until then their fields hold a placeholder. ``input_json`` is the
    ``input`` object as the bytes to send, when it was encoded with the validation, and
    ``content`` the whole body's bytes around it; a body for another callback URL is put
    together around ``input_json`` again, without encoding the input twice (see
    :func:`encode_body`). (A frozen Struct, not a dataclass: one is made on every submit, and a
    Struct is made at once.)
    """

    model: str
    given: Mapping[str, Any] | msgspec.Struct
    validated: bool
    callback_url: str | None = None
    uploads: tuple[PendingUpload, ...] = ()
    input_json: bytes | None = None
    content: bytes | None = None

    @property
    def input(self) -> Mapping[str, Any]:
        """The ``input`` object of the createTask body."""
        if isinstance(self.given, msgspec.Struct):
            built: dict[str, Any] = msgspec.to_builtins(self.given)
            return built
        return self.given

    @property
    def body(self) -> dict[str, Any]:
        """The createTask body: model, input, callBackUrl (if any)."""
        return request_body(self.model, self.input, self.callback_url)


def prepare_submission(
    registry: Registry, model: str, input: Any, *, callback_url: str | None
) -> Submission:
    """Validate ``input`` for ``model`` and build the createTask body; nothing is sent.

    Local inputs (paths, bytes, file objects, :class:`~kieframe.Rehost`) in media fields are
    read and checked here, and listed in ``uploads``.
    """
    if callback_url is not None:
        try:
            msgspec.convert(callback_url, HttpUrl)
        except msgspec.ValidationError:
            problem = Problem("callback_url", f"{callback_url!r} is not an http(s) URL")
            raise InputValidationError(model, [problem]) from None
    if type(input) is not dict and isinstance(input, RawInput):
        logger.warning("sending an unvalidated input for %s: a RawInput, checked by nothing", model)
        return Submission(
            model=model, given=dict(input.data), validated=False, callback_url=callback_url
        )
    prepare = registry._preparers.get(model)
    if prepare is None:
        try:
            prepare = registry._preparer(model, Submission)
        except UnknownModelError as error:
            error.message += "; to send it anyway, wrap the input in kieframe.RawInput(...)"
            error.args = (error.message,)
            raise
    submission: Submission | None = prepare(input, callback_url)
    if submission is not None:  # an input of JSON values: validated and encoded in one pass each
        return submission
    # The full way: local files, and values of a str, int or float subclass taken as plain ones.
    spec = registry.get_model(model)
    staged = stage_input(spec, builtin_values(input))
    return Submission(
        model=model,
        given=spec.to_input(staged.value, extra=staged.extra),
        validated=True,
        callback_url=callback_url,
        uploads=staged.uploads,
    )


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
) -> Op[dict[Location, str]]:
    """Upload each staged input once (unless the cache holds its link); location → URL.

    The same content given in several fields (or twice in a list) is uploaded once.
    """
    urls: dict[Location, str] = {}
    done: dict[str, str] = {}  # sha256 (or rehosted URL) -> download URL, for this submission
    for item in uploads:
        key = item.sha256 or f"url:{item.source_url}"
        where = item.location or (item.field,)
        cached = done.get(key)
        if cached is None and cache is not None and item.sha256:
            cached = yield Blocking(partial(cache.get, item.sha256))
        if cached is not None:
            logger.info("%s: reusing the upload of %s", item.field, item.label)
            urls[where] = done[key] = cached
            continue
        answer = yield upload_call(item)
        url = _download_url(answer)
        if item.source_url is not None:
            _check_rehosted(model, item, answer)
        elif cache is not None:
            yield Blocking(partial(cache.put, item.sha256, url))
        logger.info("%s: uploaded %s", item.field, item.label)
        urls[where] = done[key] = url
    return urls


def _download_url(answer: Any) -> str:
    url = answer.get("downloadUrl") if isinstance(answer, Mapping) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ServerError(f"the upload API answered {answer!r} without a downloadUrl")
    return url


def _check_rehosted(model: str, item: PendingUpload, answer: Mapping[str, Any]) -> None:
    """A rehosted file is checked from kie.ai's answer: its content was never here."""
    media_type, size = _media_type(answer.get("mimeType")), answer.get("fileSize")
    limits = item.limits
    if media_type is not None and media_type not in limits.media_types:
        problem = Problem(item.field, f"{item.label} is {media_type}", limits.describe())
        raise InputValidationError(model, [problem])
    if isinstance(size, int) and size > limits.max_bytes:
        problem = Problem(item.field, f"{item.label} is {describe_size(size)}", limits.describe())
        raise InputValidationError(model, [problem])


#: Media types file hosts send under another name than the one the limits use.
_MEDIA_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
}


def _media_type(value: Any) -> str | None:
    """A ``mimeType`` as the limits spell it (lower-case, no parameters); None if not given."""
    if not isinstance(value, str) or not value.split(";", 1)[0].strip():
        return None
    media_type = value.split(";", 1)[0].strip().lower()
    return _MEDIA_ALIASES.get(media_type, media_type)


def create_op(
    submission: Submission,
    *,
    attempts: int,
    rate_window: float,
    journal: SubmissionLog | None = None,
    host: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Op[Task]:
    """Create the task; resend only after a definite non-acceptance.

    A 429 (the request was dropped) is resent once the rate window has passed, and a connection
    that could not be opened is resent at once; both at most ``attempts`` times in all. Anything
    else after the request may have reached kie.ai raises :class:`~kieframe.SubmissionUncertain`.
    With a ``journal``, the create (to ``host``) is written down before it is sent and its
    outcome after; its budget slot is taken first, so that a process that dies while it waits
    for one has written nothing down (nothing is left uncertain that never left).
    """
    content = encode_body(submission)  # a body that cannot be sent fails here, before the journal
    if journal is None:
        return (
            yield from _create(
                submission, content, attempts=attempts, rate_window=rate_window, clock=clock
            )
        )
    begin = partial(journal.begin, model=submission.model, input=submission.input, host=host)
    callback_url = submission.callback_url
    if isinstance(journal, SqlJournal) and callback_url is not None:
        # The callback names its submission, so that the receiver can settle an uncertain one.
        token = new_token()
        tagged = msgspec.structs.replace(
            submission, callback_url=tag_callback_url(callback_url, token), content=None
        )
        content = encode_body(tagged)
        begin = partial(begin, token=token)
    yield Reserve("create")
    entry: int = yield Blocking(begin)
    try:
        task = yield from _create(
            submission,
            content,
            attempts=attempts,
            rate_window=rate_window,
            clock=clock,
            reserved=True,
        )
    except KieError as error:
        if _definitely_refused(error):  # nothing was created, nothing to pay for
            yield Blocking(partial(journal.rejected, entry, reason=str(error)))
        else:
            reason = str(error.__cause__ or error)
            yield Blocking(partial(journal.uncertain, entry, reason=reason))
        raise
    except BaseException:  # interrupted mid-create: written at once, the op may not resume
        try:
            journal.uncertain(entry, reason="interrupted while sending")
        except Exception:  # the interrupt matters more than a failed journal write
            logger.exception("could not journal an interrupted create for %s", submission.model)
        raise
    try:
        yield Blocking(partial(journal.accepted, entry, task_id=task.task_id))
    except Exception:  # the task exists and is paid for: a journal failure must not hide it
        logger.exception("task %s was created but could not be journaled", task.task_id)
    except BaseException as interrupt:
        interrupt.add_note(f"kieframe: task {task.task_id} ({task.model}) was created on kie.ai")
        raise
    return task


# Codes with which kie.ai refuses a create outright (the request is dropped, no task exists).
_REFUSALS = frozenset({400, 401, 402, 404, 422, 429, 433, 455, 505})


def _refusal(error: APIError) -> bool:
    """Whether kie.ai (or Cloudflare in front of it, a 403 page) refused the create outright."""
    return error.code in _REFUSALS or isinstance(error, AuthenticationError)


def _definitely_refused(error: KieError) -> bool:
    if isinstance(error, NoAnswerError):
        return not error.request_sent
    return isinstance(error, APIError) and _refusal(error)


def encode_body(submission: Submission) -> bytes:
    """The createTask body as the UTF-8 JSON that is sent; InputValidationError if it cannot be.

    A lone surrogate, a NaN or a value nested too deep (possible in a
    :class:`~kieframe.RawInput`) fails here, before the journal or the network sees anything.
    A body encoded with its validation (``content``) is sent as it is; an ``input`` encoded
    with it (``input_json``) is not encoded again.
    """
    if submission.content is not None:
        return submission.content
    if submission.input_json is not None:
        return body_encoder(submission.model)(submission.input_json, submission.callback_url)
    try:
        text = json.dumps(
            submission.body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as error:  # UnicodeEncodeError is a ValueError
        problem = Problem("input", f"cannot be sent as JSON ({type(error).__name__}: {error})")
        raise InputValidationError(submission.model, [problem]) from None


def _create(
    submission: Submission,
    content: bytes,
    *,
    attempts: int,
    rate_window: float,
    clock: Clock,
    reserved: bool = False,
) -> Op[Task]:
    """Send the create, resending after a definite non-acceptance; ``reserved``: the first
    attempt's budget slot is already taken."""
    attempt = 0
    while True:
        attempt += 1
        sent_at = clock.time()
        try:
            data = yield Call(
                method="POST",
                path=CREATE_TASK,
                content=content,
                budget="create",
                reserved=reserved and attempt == 1,
            )
        except RateLimitError as error:
            if attempt == attempts:
                raise
            wait = error.retry_after if error.retry_after is not None else rate_window
            logger.info(
                "create for %s was rate limited; resending in %.1f s", submission.model, wait
            )
            yield Sleep(wait)
            continue
        except NoAnswerError as error:
            if not error.request_sent and attempt < attempts:
                logger.info("could not connect to create a %s task; retrying", submission.model)
                continue
            if not error.request_sent:
                raise
            raise _uncertain(submission, sent_at, error) from error
        except APIError as error:
            if _refusal(error):  # kie.ai said no: no task exists
                raise
            raise _uncertain(submission, sent_at, error) from error
        task_id = _task_id(data)
        if not task_id:
            missing = ValueError(f"no taskId in {data!r}")
            raise _uncertain(submission, sent_at, missing) from missing
        logger.info("created task %s (%s)", task_id, submission.model)
        return Task(
            task_id=str(task_id),
            model=submission.model,
            input=submission.input,
            callback_url=submission.callback_url,
            submitted_at=sent_at,
            validated=submission.validated,
        )


def _task_id(data: Any) -> str | None:
    """The id in a create's ``data``: ``taskId`` (kie.ai) or ``task_id`` (some stand-ins)."""
    if not isinstance(data, Mapping):
        return None
    for name in ("taskId", "task_id"):
        value = data.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None


def _uncertain(submission: Submission, sent_at: float, cause: Exception) -> SubmissionUncertain:
    return SubmissionUncertain(
        f"the create for {submission.model} may or may not have started a task ({cause}); "
        "it was not resent, to avoid paying twice: check for the task before submitting again",
        model=submission.model,
        input=submission.input,
        sent_at=sent_at,
    )
