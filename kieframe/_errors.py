"""The exception tree of kieframe, drawn by one question: did kie.ai answer?

Every error kieframe raises derives from :class:`KieError`, so one ``except`` catches them all:

    KieError                          message, code, task_id, retryable
    ├── NoAnswerError                 no answer from kie.ai: connect, read or protocol failure
    │   └── DatabaseUnavailable       the shared PostgreSQL database is down: nothing was sent
    ├── APIError                      kie.ai answered with an error code (HTTP status or body)
    │   ├── BadRequestError           400, 422  kie.ai refused the request or its parameters
    │   ├── AuthenticationError       401       the API key is missing or wrong
    │   ├── InsufficientCreditsError  402, 433  too few credits, or a sub-key over its usage cap
    │   ├── NotFoundError             404       no such task (also one kie.ai never shows)
    │   ├── RateLimitError            429       dropped, not queued: send again later
    │   └── ServerError               455, 5xx  kie.ai failed or is under maintenance
    ├── SubmissionUncertain           a create may or may not have started a paid task
    ├── TaskFailed                    the task ran and ended in state "fail"
    ├── WaitTimeout                   no result before the wait's deadline (also TimeoutError)
    ├── InputValidationError          bad input, caught before anything is sent (also ValueError)
    ├── UnknownModelError             no plugin provides that model id (also LookupError)
    ├── PluginError                   a plugin failed to load, or two plugins claim one model id
    ├── ConfigurationError            a setting (config file, environment) is unreadable or wrong
    ├── DownloadError                 a result file could not be downloaded completely
    ├── JournalError                  the journal file cannot be opened, read or written
    ├── BatchInvalid                  batch lines are invalid, or its file unreadable (ValueError)
    ├── BatchConflict                 batch lines came back with another input (also ValueError)
    ├── BatchCancelled                the batch was not confirmed: nothing was paid
    ├── BatchBusy                     another process is running the batch
    ├── StaleTransition               a batch line was not where a transition expected it
    └── CallbackError                 a callback request was refused; status is the HTTP answer
        ├── CallbackSignatureError    401  signature missing or wrong
        ├── CallbackStaleError        400  timestamp outside the tolerance (a replay, a bad clock)
        ├── CallbackMalformedError    400  not JSON, or no task id
        └── CallbackTooLargeError     413  body over the size limit

One warning, not an error: :class:`ConfigurationWarning`, a config file key this kieframe does
not take (the command line refuses it: a :class:`ConfigurationError`).

Other codes (408, 501, 505, ...) raise a plain :class:`APIError`; branch on its ``code``. A wait
whose read kie.ai answers 408 ("no result upstream for 10 minutes") or 501 ("generation failed")
raises :class:`TaskFailed` instead: kie.ai failed the task.
``retryable`` says whether sending the same *read* again later can succeed: true for
:class:`NoAnswerError`, :class:`RateLimitError`, :class:`ServerError` and :class:`WaitTimeout`.

:class:`SubmissionUncertain` sits on a branch of its own on purpose: no retry idiom
(``except NoAnswerError``, ``except APIError``, ``except (OSError, TimeoutError)``) catches it, so
an uncertain create is never resent by accident, which could pay for the task twice.

Every class reports ``kieframe`` as its module (as httpx does) and is reachable as
``kieframe.<Name>``, so reprs and pickles name the public home, not this private module (the
batch's errors are importable from :mod:`kieframe.batch` too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

from ._plural import counted

if TYPE_CHECKING:
    from ._records import TaskRecord

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "BatchBusy",
    "BatchCancelled",
    "BatchConflict",
    "BatchInvalid",
    "CallbackError",
    "CallbackMalformedError",
    "CallbackSignatureError",
    "CallbackStaleError",
    "CallbackTooLargeError",
    "ConfigurationError",
    "ConfigurationWarning",
    "DatabaseUnavailable",
    "DownloadError",
    "InputValidationError",
    "InsufficientCreditsError",
    "JournalError",
    "KieError",
    "NoAnswerError",
    "NotFoundError",
    "PluginError",
    "Problem",
    "RateLimitError",
    "ServerError",
    "StaleTransition",
    "SubmissionUncertain",
    "TaskFailed",
    "UnknownModelError",
    "WaitTimeout",
    "error_for_code",
]


def _restore(cls: type[KieError], args: tuple[Any, ...], state: dict[str, Any]) -> KieError:
    """Rebuild a pickled error without calling its (keyword-only) constructor."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class KieError(Exception):
    """The base of every error kieframe raises."""

    #: Whether the same request, sent again later, can succeed.
    retryable: ClassVar[bool] = False

    def __init__(
        self, message: str, *, code: int | None = None, task_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.task_id = task_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"(code {self.code})")
        if self.task_id is not None:
            parts.append(f"[task {self.task_id}]")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, code={self.code!r}, task_id={self.task_id!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong with an input: where it is, what is wrong, and the documented limit.

    Immutable, compared and hashed by its fields. (A frozen msgspec Struct, not a dataclass: made
    by the dozen when an input is explained, and a Struct is made in C at once.)
    """

    field: str
    message: str
    limit: str | None = None

    def __str__(self) -> str:
        if self.limit:
            return f"{self.field}: {self.message} (expected {self.limit})"
        return f"{self.field}: {self.message}"


class InputValidationError(KieError, ValueError):
    """An input broke a model's documented limits; nothing was sent to kie.ai."""

    # Neither is ever set: an input problem has no code and no task.
    code: int | None = None
    task_id: str | None = None
    # The problems or, until they are first read, what finds them and in what. Slots, not the
    # instance dict: set on every refusal, they cost less.
    __slots__ = ("_message", "_pending", "_problems")
    _problems: tuple[Problem, ...]
    _pending: tuple[Callable[[Any], Iterable[Problem]], Any] | None
    _message: str | None

    def __init__(self, model_id: str, problems: Iterable[Problem]) -> None:
        Exception.__init__(self, model_id)
        self._problems = tuple(problems)
        self._pending = self._message = None

    @property
    def model_id(self) -> str:
        """The id of the model the input was for."""
        model_id: str = self.args[0]
        return model_id

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Every problem, in the order of the fields."""
        pending = self._pending
        if pending is None:
            return self._problems
        # (two threads reading at once may both explain: each sets the same problems)
        explain, data = pending
        problems = self._problems = tuple(explain(data))
        self._pending = None  # the input it kept is let go
        return problems

    def __str__(self) -> str:
        """Every problem, one per line, under the model's id (no code, no task)."""
        text = self._message
        if text is None:
            pending = self._pending
            if pending is None:
                problems = self._problems
            else:  # explained here as in problems, without its call
                explain, data = pending
                problems = self._problems = tuple(explain(data))
                self._pending = None
            # (!s: str() at once, without format() looking for a __format__ first)
            if len(problems) == 1:  # the usual case, worded at once
                problem = problems[0]
                if type(problem) is not Problem:
                    worded = str(problem)
                elif problem.limit:  # as Problem.__str__ words it, without its call
                    worded = f"{problem.field}: {problem.message} (expected {problem.limit})"
                else:
                    worded = f"{problem.field}: {problem.message}"
                text = f"invalid input for {self.args[0]} (1 problem):\n  - {worded}"
            else:
                lines = [f"invalid input for {self.args[0]} ({len(problems)} problems):"]
                lines += [f"  - {problem!s}" for problem in problems]
                text = "\n".join(lines)
            self._message = text
        return text

    #: The same, worded when first read.
    message = property(__str__)

    @property
    def fields(self) -> tuple[str, ...]:
        """The field paths named by the problems, in order."""
        return tuple(problem.field for problem in self.problems)

    def __reduce__(self) -> tuple[Any, ...]:
        # Explained before it travels: the explanation stays here.
        return (_restore_input, (type(self), self.args, dict(self.__dict__), self.problems))


_new_error = BaseException.__new__


def explained_later(
    model_id: str, explain: Callable[[Any], Iterable[Problem]], data: Any
) -> InputValidationError:
    """An :class:`InputValidationError` whose problems ``explain(data)`` finds when first read.

    Raising it costs no more than the refusal: code that catches it and goes on does not pay
    for the explanation, nor for its wording (as pydantic words its errors when read).
    """
    error: InputValidationError = _new_error(InputValidationError, model_id)
    error._pending = (explain, data)
    error._message = None
    return error


def _restore_input(
    cls: type[InputValidationError],
    args: tuple[Any, ...],
    state: dict[str, Any],
    problems: tuple[Problem, ...],
) -> InputValidationError:
    """Rebuild a pickled :class:`InputValidationError` (its problems are in a slot)."""
    error = _new_error(cls, *args)
    error.__dict__.update(state)
    error._problems = problems
    error._pending = error._message = None
    return error


class UnknownModelError(KieError, LookupError):
    """No installed plugin provides the model id; suggests close matches.

    ``failed_plugins`` holds a line per plugin that failed to load (its name and why): the
    model may be one of theirs, so the message names them.
    """

    def __init__(
        self,
        model_id: str,
        *,
        suggestions: Iterable[str] = (),
        failed_plugins: Iterable[str] = (),
    ) -> None:
        self.model_id = model_id
        self.suggestions = tuple(suggestions)
        self.failed_plugins = tuple(failed_plugins)
        text = f"no installed plugin provides the model {model_id!r}"
        if self.suggestions:
            text += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        for failure in self.failed_plugins:
            text += f"\n  (it may be a model of the plugin {failure})"
        super().__init__(text)


class PluginError(KieError):
    """A plugin could not be loaded, or two plugins register the same model id."""


class ConfigurationError(KieError, ValueError):
    """A setting is unreadable or malformed: the config file, ``KIE_BASE_URL``, an argument.

    Raised when a client is built, so nothing was sent; the message names where the value came
    from.
    """


class ConfigurationWarning(UserWarning):
    """The config file has a key this kieframe does not take: a typo, or a newer kieframe's.

    Named with the key it resembles (never its value), and ignored: a program's clients keep
    working. The command line refuses such a file instead (a :class:`ConfigurationError`).
    Not a :class:`KieError`: a warning, never raised unless warnings are made errors.
    """


class NoAnswerError(KieError):
    """kie.ai gave no usable answer: the connection was refused, timed out, or cut.

    Always safe to retry for a read. ``request_sent`` is False only when the request certainly
    never reached kie.ai (the connection could not be opened), which is what makes resending a
    create safe; a create that was sent and got no answer raises :class:`SubmissionUncertain`
    instead, never this.
    """

    retryable = True

    def __init__(
        self, message: str, *, task_id: str | None = None, request_sent: bool = True
    ) -> None:
        super().__init__(message, task_id=task_id)
        self.request_sent = request_sent


class DatabaseUnavailable(NoAnswerError):
    """The shared PostgreSQL database could not be reached, so the request was not sent.

    Raised before a request goes out when its budget slot or (for a create) its journal entry
    cannot be written: nothing reached kie.ai and nothing is paid for, so ``request_sent`` is
    always False and sending again once the database is back is safe. A wait treats it as a
    read that got no answer and tries again.
    """

    def __init__(self, message: str, *, task_id: str | None = None) -> None:
        super().__init__(message, task_id=task_id, request_sent=False)


class SubmissionUncertain(KieError):
    """A create was sent, but whether kie.ai accepted it is unknown.

    kie.ai has no idempotency key, so kieframe never resends such a create on its own: that could
    start (and pay for) a second task. ``model`` and ``input`` say what was sent, ``sent_at``
    when (Unix seconds); reconcile by looking for the task (for example in kie.ai's dashboard or
    the journal) before submitting again. The error that made it uncertain is its ``__cause__``.
    """

    def __init__(
        self, message: str, *, model: str, input: Mapping[str, Any], sent_at: float
    ) -> None:
        super().__init__(message)
        self.model = model
        self.input = dict(input)
        self.sent_at = sent_at


class APIError(KieError):
    """kie.ai answered with an error ``code``, in the HTTP status or inside an HTTP 200 body.

    ``http_status`` is the HTTP status of the answer and ``retry_after`` the seconds kie.ai asked
    to wait, if it did. Codes without a subclass of their own raise this class.
    """

    default_code: ClassVar[int] = 0

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        task_id: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=self.default_code if code is None else code, task_id=task_id)
        self.http_status = http_status
        self.retry_after = retry_after


class BadRequestError(APIError):
    """400 or 422: kie.ai refused the request or its parameters; nothing was created."""

    default_code = 400


class AuthenticationError(APIError):
    """401: the API key is missing or wrong; or 403 without kie.ai's answer: Cloudflare refused it.

    Either way the request was refused before anything was created.
    """

    default_code = 401


class InsufficientCreditsError(APIError):
    """402: the account has too few credits for this task; or 433: the key is over its usage cap."""

    default_code = 402


class NotFoundError(APIError):
    """404: no such task (also raised for a task kie.ai keeps answering "recordInfo is null")."""

    default_code = 404


class RateLimitError(APIError):
    """429: too many requests; the request was dropped, not queued."""

    default_code = 429
    retryable = True


class ServerError(APIError):
    """455 or a 5xx (other than 501 and 505): kie.ai failed, or is under maintenance."""

    default_code = 500
    retryable = True


class TaskFailed(KieError):
    """The task ran and ended in state ``fail``; ``record`` is its final record.

    ``fail_code`` is kie.ai's ``failCode`` as sent (a string); ``code`` is the same as a number,
    when it is one.
    """

    def __init__(
        self, message: str, *, task_id: str, fail_code: str | None, record: TaskRecord
    ) -> None:
        super().__init__(message, code=_number_or_none(fail_code), task_id=task_id)
        self.fail_code = fail_code
        self.record = record

    def __str__(self) -> str:  # the message names the failCode already
        return f"{self.message} [task {self.task_id}]"


def _number_or_none(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


class DownloadError(KieError):
    """A result file could not be downloaded: refused, a wrong size, or retries used up.

    Nothing half-written is left under the file's name; a partial file stays hidden next to it
    (``.<name>.kieframe-part``) and the next download of the same task resumes from it.
    """


class JournalError(KieError):
    """The journal file cannot be opened, read or written (corrupt, not SQLite, no access).

    Raised before a create is sent, so nothing was submitted; the message names the file.
    """


class WaitTimeout(KieError, TimeoutError):
    """The task did not finish before the deadline; it may still finish later.

    The task is not lost: ``task_id`` names it, and waiting again resumes.
    """

    retryable = True

    def __init__(self, message: str, *, task_id: str, last_state: str | None) -> None:
        super().__init__(message, task_id=task_id)
        self.last_state = last_state


@dataclass(frozen=True, slots=True, kw_only=True)
class LineProblem:
    """One thing wrong with one line of a batch's file (``line``: as an editor numbers it)."""

    line: int
    id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" (id {self.id})" if self.id is not None else "")
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class BatchInvalid(KieError, ValueError):
    """Some input lines are invalid, or the file cannot be read; nothing was sent.

    ``problems`` lists every one. A file that is not UTF-8 is one problem, at its first byte
    that is not (``unreadable`` is then True): ``skip_invalid`` does not skip it.
    """

    def __init__(self, problems: Iterable[LineProblem], *, unreadable: bool = False) -> None:
        self.problems = tuple(problems)
        self.unreadable = unreadable
        lines = {problem.line for problem in self.problems}
        body = "\n".join(f"  - {problem}" for problem in self.problems)
        if unreadable:
            head = "the input file cannot be read (nothing was sent)"
        else:
            head = counted(len(lines), "invalid input line")
            head += " (nothing was sent; --skip-invalid sends the others)"
        super().__init__(f"{head}:\n{body}")


class BatchConflict(KieError, ValueError):
    """Lines already in the batch came back with a different input; ``ids`` names them."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = tuple(ids)
        shown = ", ".join(self.ids[:10]) + (" ..." if len(self.ids) > 10 else "")
        super().__init__(
            f"{counted(len(self.ids), 'line id')} {'is' if len(self.ids) == 1 else 'are'} already"
            f" in the batch with a different input ({shown});"
            " use another --out/--state, or --replace to send the new inputs (lines in flight"
            " are never replaced)"
        )


class BatchCancelled(KieError):
    """The batch was not confirmed, so nothing was paid."""


class BatchBusy(KieError):
    """Another process is running this batch (its SQLite state's run lock is taken)."""


class StaleTransition(KieError):
    """A line was not where a transition expected it (another runner or a person moved it)."""


class CallbackError(KieError):
    """A callback request was refused; ``status`` is the HTTP status a receiver answers with."""

    status: ClassVar[int] = 400


class CallbackSignatureError(CallbackError):
    """401: the callback's signature headers are missing or match none of the keys."""

    status = 401


class CallbackStaleError(CallbackError):
    """400: the callback's timestamp is outside the tolerance (a replay, or a skewed clock)."""


class CallbackMalformedError(CallbackError):
    """400: the callback body is not a JSON object with a task id in ``data``."""


class CallbackTooLargeError(CallbackError):
    """413: the callback body is over the receiver's size limit."""

    status = 413


_BY_CODE: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
    433: InsufficientCreditsError,
    455: ServerError,
}
# Server-side codes that are final answers, not outages: "generation failed", "feature disabled".
_FINAL_5XX = frozenset({501, 505})
#: Codes that say a task failed ("upstream gave no result for 10 minutes", "generation failed")
#: when kie.ai's envelope carries them. As a bare HTTP status without an envelope (a proxy's
#: Request Timeout, Not Implemented) they are an outage, retried: a task is never taken for failed
#: (and paid again by a rerun) on a proxy's word.
TASK_FAILURE_CODES = frozenset({408, 501})


def error_for_code(code: int) -> type[APIError]:
    """The exception class for a kie.ai error code; other 5xx codes map to :class:`ServerError`."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if 500 <= code < 600 and code not in _FINAL_5XX:
        return ServerError
    return APIError


for _name in __all__:  # reprs, tracebacks and pickles name the public home (as httpx does)
    _public = globals()[_name]
    if isinstance(_public, type) and issubclass(_public, KieError):
        _public.__module__ = "kieframe"
LineProblem.__module__ = "kieframe.batch"
ConfigurationWarning.__module__ = "kieframe"
del _name, _public
