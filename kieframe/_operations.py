"""The client's operations, written once as generators and driven by both clients.

An operation yields *effects* (:class:`Call` a kie.ai endpoint, :class:`Sleep`) and receives their
results; it never does I/O itself. :class:`~kieframe.Client` performs effects with blocking I/O,
:class:`~kieframe.AsyncClient` with ``await``; the lifecycle logic (what to send, when to resend,
when to stop) lives here only, in the spirit of h11's sans-I/O design.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, Protocol, TypeVar

import msgspec

from ._callbacks._hub import Delivery
from ._envelope import is_not_visible
from ._errors import (
    APIError,
    InputValidationError,
    KieError,
    NotFoundError,
    Problem,
    RateLimitError,
    ServerError,
    SubmissionUncertain,
    TransportError,
    UnknownModelError,
)
from ._fields import HttpUrl
from ._files._local import PendingUpload, stage_input
from ._journal import SubmissionLog
from ._lifecycle import PollPlan, Waiter
from ._records import RawInput, Task, TaskRecord, parse_record
from ._registry import Registry

__all__ = [
    "AwaitCallback",
    "Blocking",
    "Call",
    "Op",
    "Sleep",
    "callback_wait_op",
    "credits_op",
    "encode_body",
    "get_op",
    "prepare_submission",
    "submit_op",
    "wait_op",
]

logger = logging.getLogger("kieframe")

T = TypeVar("T")

CREATE_TASK = "/api/v1/jobs/createTask"
RECORD_INFO = "/api/v1/jobs/recordInfo"
CREDIT = "/api/v1/chat/credit"


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """Send one request to kie.ai and return the envelope's ``data`` (or raise its error).

    The body is ``json`` (encoded by httpx) or ``content`` (JSON already encoded).
    ``budget`` names the rate limit it counts against; ``retry`` allows the driver to resend it
    with backoff (only for requests that are safe to repeat), until ``deadline`` (monotonic
    seconds) if one is given.
    """

    method: str
    path: str
    host: Literal["api", "upload"] = "api"
    params: Mapping[str, str] | None = None
    json: Any = None
    content: bytes | None = None
    files: Any = None
    data: Mapping[str, str] | None = None
    budget: Literal["create", "read"] | None = None
    retry: bool = False
    task_id: str | None = None
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait this many seconds."""

    seconds: float


@dataclass(frozen=True, slots=True)
class AwaitCallback:
    """Wait up to ``timeout`` seconds for a callback of the task newer than delivery ``after``.

    The driver answers the client's callback hub's :class:`~kieframe._callbacks._hub.Delivery`,
    or None when the time ran out.
    """

    task_id: str
    timeout: float
    after: int = 0


@dataclass(frozen=True, slots=True)
class Blocking:
    """Call ``function`` (local disk I/O, such as a journal write) and return its result.

    The async client runs it on a worker thread, so a disk sync never stalls the event loop.
    """

    function: Callable[[], Any]


Effect = Call | Sleep | AwaitCallback | Blocking
Op = Generator[Effect, Any, T]


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """A create, ready to send: the JSON body and what it was built from.

    ``uploads`` are local inputs still to upload; until then their fields hold a placeholder.
    """

    model: str
    input: Mapping[str, Any]
    body: Mapping[str, Any]
    validated: bool
    uploads: tuple[PendingUpload, ...] = ()


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
            problem = Problem("callBackUrl", f"{callback_url!r} is not an http(s) URL")
            raise InputValidationError(model, [problem]) from None
    if isinstance(input, RawInput):
        logger.warning("sending an unvalidated input for %s: no plugin checked it", model)
        body: dict[str, Any] = {"model": model, "input": dict(input.data)}
        if callback_url is not None:
            body["callBackUrl"] = callback_url
        return Submission(model=model, input=body["input"], body=body, validated=False)
    try:
        spec = registry.get_model(model)
    except UnknownModelError as error:
        error.message += "; to send it anyway, wrap the input in kieframe.RawInput(...)"
        error.args = (error.message,)
        raise
    value, uploads = stage_input(spec, input)
    body = spec.to_request(value, callback_url=callback_url)
    return Submission(model=model, input=body["input"], body=body, validated=True, uploads=uploads)


def submit_op(
    submission: Submission,
    *,
    attempts: int,
    rate_window: float,
    journal: SubmissionLog | None = None,
    host: str | None = None,
) -> Op[Task]:
    """Create the task; resend only after a definite non-acceptance.

    A 429 (the request was dropped) is resent once the rate window has passed, and a connection
    that could not be opened is resent at once; both at most ``attempts`` times in all. Anything
    else after the request may have reached kie.ai raises :class:`~kieframe.SubmissionUncertain`.
    With a ``journal``, the create (to ``host``) is written down before it is sent and its
    outcome after.
    """
    content = encode_body(submission)  # a body that cannot be sent fails here, before the journal
    if journal is None:
        return (yield from _create(submission, content, attempts=attempts, rate_window=rate_window))
    entry: int = yield Blocking(
        partial(journal.begin, model=submission.model, input=submission.input, host=host)
    )
    try:
        task = yield from _create(submission, content, attempts=attempts, rate_window=rate_window)
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


def _definitely_refused(error: KieError) -> bool:
    if isinstance(error, TransportError):
        return not error.request_sent
    return isinstance(error, APIError) and error.code in _REFUSALS


def encode_body(submission: Submission) -> bytes:
    """The createTask body as the UTF-8 JSON that is sent; InputValidationError if it cannot be.

    A lone surrogate, a NaN or a value nested too deep (possible in a
    :class:`~kieframe.RawInput`) fails here, before the journal or the network sees anything.
    """
    try:
        text = json.dumps(
            submission.body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as error:  # UnicodeEncodeError is a ValueError
        problem = Problem("input", f"cannot be sent as JSON ({type(error).__name__}: {error})")
        raise InputValidationError(submission.model, [problem]) from None


def _create(
    submission: Submission, content: bytes, *, attempts: int, rate_window: float
) -> Op[Task]:
    attempt = 0
    while True:
        attempt += 1
        sent_at = time.time()
        try:
            data = yield Call(method="POST", path=CREATE_TASK, content=content, budget="create")
        except RateLimitError as error:
            if attempt == attempts:
                raise
            wait = error.retry_after if error.retry_after is not None else rate_window
            logger.info(
                "create for %s was rate limited; resending in %.1f s", submission.model, wait
            )
            yield Sleep(wait)
            continue
        except TransportError as error:
            if not error.request_sent and attempt < attempts:
                logger.info("could not connect to create a %s task; retrying", submission.model)
                continue
            if not error.request_sent:
                raise
            raise _uncertain(submission, sent_at, error) from error
        except APIError as error:
            if error.code in _REFUSALS:  # kie.ai said no: no task exists
                raise
            raise _uncertain(submission, sent_at, error) from error
        task_id = data.get("taskId") if isinstance(data, Mapping) else None
        if not task_id:
            raise _uncertain(submission, sent_at, ValueError(f"no taskId in {data!r}"))
        logger.info("created task %s (%s)", task_id, submission.model)
        return Task(
            task_id=str(task_id),
            model=submission.model,
            input=submission.input,
            callback_url=submission.body.get("callBackUrl"),
            submitted_at=sent_at,
            validated=submission.validated,
        )


def _uncertain(submission: Submission, sent_at: float, cause: Exception) -> SubmissionUncertain:
    return SubmissionUncertain(
        f"the create for {submission.model} may or may not have started a task ({cause}); "
        "it was not resent, to avoid paying twice: check for the task before submitting again",
        model=submission.model,
        input=submission.input,
        sent_at=sent_at,
    )


def _record_call(task_id: str, deadline: float | None = None) -> Call:
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
        data = yield _record_call(task_id)
    except APIError as error:
        if not is_not_visible(error):
            raise
        raise NotFoundError(
            f"kie.ai shows no task {task_id} (yet): it answers {error.message!r}",
            code=error.code,
            task_id=task_id,
        ) from error
    return _record(task_id, data)


def _record(task_id: str, data: Any) -> TaskRecord:
    if not isinstance(data, Mapping):
        raise ServerError(f"recordInfo answered {data!r} instead of a record", task_id=task_id)
    return parse_record({**data, "taskId": task_id})


def credits_op() -> Op[int]:
    """Read the account's remaining credits."""
    data = yield Call(method="GET", path=CREDIT, budget="read", retry=True)
    if isinstance(data, bool) or not isinstance(data, int | float):
        raise ServerError(f"credit answered {data!r} instead of a number")
    return int(data)


class UpdateHook(Protocol):
    """Called by a wait with each record whose state differs from the previous one."""

    def __call__(self, record: TaskRecord, /) -> None: ...


#: The visibility grace of a wait on a bare task id (not a Task this client submitted): a
#: mistyped or foreign id is reported as unknown after this many seconds, not after the full grace.
UNKNOWN_ID_GRACE = 10.0


@dataclass(slots=True)
class WaitOptions:
    """How one wait runs: its deadline in seconds, poll plan, visibility grace, update hook.

    ``grace`` applies to a task whose submission time is known; a wait on a bare id gets at most
    :data:`UNKNOWN_ID_GRACE` seconds, counted from the wait's start.
    """

    timeout: float
    plan: PollPlan = field(default_factory=PollPlan)
    grace: float = 60.0
    on_update: UpdateHook | None = None


def _waiter(
    task_id: str, since: float | None, options: WaitOptions, plan: PollPlan
) -> tuple[Waiter, float]:
    """A waiter placed on the monotonic clock, and ``now``; ``since`` is Unix seconds or None."""
    now = time.monotonic()
    deadline = now + options.timeout
    if since is None:  # an id from elsewhere, maybe mistyped: only a short grace
        started, grace = now, min(options.grace, UNKNOWN_ID_GRACE)
    else:
        started, grace = now - max(0.0, time.time() - since), options.grace
    waiter = Waiter(
        task_id,
        started=started,
        deadline=deadline,
        plan=plan,
        grace=grace,
        submitted=since is not None,
    )
    return waiter, now


class _StateChanges:
    """Calls the wait's ``on_update`` hook once per state."""

    def __init__(self, hook: UpdateHook | None) -> None:
        self.hook = hook
        self.previous: str | None = None

    def __call__(self, record: TaskRecord | None) -> None:
        if record is not None and self.hook is not None and record.state != self.previous:
            self.previous = str(record.state)
            self.hook(record)


def wait_op(task_id: str, *, since: float | None, options: WaitOptions) -> Op[TaskRecord]:
    """Poll until the task succeeds (return its record), fails, or the deadline passes.

    ``since`` is when the task was submitted (Unix seconds) if known: it places the poll schedule
    and the visibility grace window, and a task submitted moments ago is first polled after the
    schedule's first interval, not at once (it cannot have finished yet). Without ``since`` the
    first poll is immediate.
    """
    waiter, now = _waiter(task_id, since, options, options.plan)
    if since is not None:
        first = waiter.started + options.plan.delay(0.0) - now
        if first > 0:
            yield Sleep(min(first, options.timeout))
    changes = _StateChanges(options.on_update)
    while True:
        record = yield from _read_visible(waiter)
        changes(record)
        final = waiter.observe(record, time.monotonic())
        if final is not None:
            return final
        yield Sleep(waiter.next_delay(time.monotonic()))


def _read_visible(waiter: Waiter) -> Op[TaskRecord | None]:
    """Read the task's record; None while kie.ai answers "recordInfo is null".

    A read retries on its own (with backoff, within the wait's deadline). When its retries run
    out during a longer outage (5xx, 429, 455, no connection), the wait reads again after a
    backoff that doubles each time, up to the deadline: it ends then with
    :class:`~kieframe.WaitTimeout` (the task is not lost), never early with the read's error.
    """
    outages = 0
    while True:
        try:
            return _record(waiter.task_id, (yield _record_call(waiter.task_id, waiter.deadline)))
        except APIError as error:
            if is_not_visible(error):
                return None
            if not error.retryable:
                raise
            delay = _after_outage(waiter, error, outages)
        except TransportError as error:
            delay = _after_outage(waiter, error, outages)
        outages += 1
        yield Sleep(delay)


#: The longest pause between two reads of a task during an outage, in seconds.
_OUTAGE_PAUSE_MAX = 60.0


def _after_outage(waiter: Waiter, error: KieError, outages: int) -> float:
    """How long to pause before reading again after a read's retries ran out.

    Called inside the ``except`` block, so the WaitTimeout raised at the deadline carries the
    read's error as its context.
    """
    pause = waiter.next_delay(time.monotonic())  # raises WaitTimeout past the deadline
    remaining = waiter.deadline - time.monotonic()
    pause = max(0.0, min(pause * 2.0 ** min(outages, 16), _OUTAGE_PAUSE_MAX, remaining))
    logger.warning(
        "reading task %s failed (%s); reading again in %.1f s", waiter.task_id, error, pause
    )
    return pause


def callback_wait_op(
    task_id: str, *, since: float | None, options: WaitOptions, watchdog: float
) -> Op[TaskRecord]:
    """Wait for the task's callback, polling only as a watchdog every ``watchdog`` seconds.

    The same :class:`~kieframe._lifecycle.Waiter` as :func:`wait_op` judges every record and the
    deadline; only the "sleep" differs: an :class:`AwaitCallback` that a callback ends early.
    The first watchdog poll comes ``watchdog`` seconds after submission (at once when ``since``
    is unknown: the task may have finished long ago). A record the receiver could not confirm
    is re-read here before it is trusted.
    """
    # Jittered, so that the watchdogs of many tasks submitted together do not poll together.
    waiter, now = _waiter(task_id, since, options, PollPlan.every(watchdog, watchdog * 1.25))
    next_poll = now if since is None else min(waiter.started + watchdog, waiter.deadline)
    seen = 0
    changes = _StateChanges(options.on_update)
    while True:
        now = time.monotonic()
        delivery: Delivery | None = None
        if now < next_poll:
            delivery = yield AwaitCallback(task_id, timeout=next_poll - now, after=seen)
        if delivery is not None:
            seen = delivery.seq
        polled = delivery is None or not delivery.confirmed
        if delivery is not None and delivery.confirmed:
            record: TaskRecord | None = delivery.record
        else:
            record = yield from _read_visible(waiter)
        changes(record)
        final = waiter.observe(record, time.monotonic())
        if final is not None:
            return final
        if polled:
            next_poll = time.monotonic() + waiter.next_delay(time.monotonic())
