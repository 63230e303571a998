"""``Client`` and ``AsyncClient``: the public API over the lifecycle core (``_core``).

A client holds the options (hosts, key, poll plan, rate limits, journal, callbacks), builds each
operation of ``_core`` and hands it to its performer: :class:`~._core._perform.SyncPerformer` for
:class:`Client`, :class:`~._core._perform.AsyncPerformer` for :class:`AsyncClient`. All I/O
happens there; the lifecycle itself is written once, in ``_core``.
"""

from __future__ import annotations

import abc
import asyncio
import functools
import inspect
import logging
import os
import platform
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

import httpx

from ._arguments import (
    check_instance,
    check_number,
    check_path,
    check_path_or,
    check_str,
    check_whole,
)
from ._callbacks._hub import CallbackHub, HubOwner
from ._config import DEFAULT_VISIBILITY_GRACE, resolve_settings
from ._core._download import download_op, plans_op
from ._core._effects import Blocking, Op
from ._core._fileplan import DownloadProgress
from ._core._perform import AsyncPerformer, Connection, SyncPerformer
from ._core._poll import PollPlan
from ._core._read import credits_op, get_op
from ._core._submit import Submission, submit_op
from ._core._wait import (
    AsyncUpdateHook,
    UpdateHook,
    WaitOptions,
    callback_wait_op,
    journaled_wait,
    wait_op,
)
from ._errors import (
    BadRequestError,
    ConfigurationError,
    DownloadError,
    InputValidationError,
    KieError,
    NotFoundError,
)
from ._files._cache import CACHE_ENV, UploadCache
from ._files._finish import check_folder, check_path_text
from ._journal import Journal, SqlJournal, SubmissionLog
from ._postgres._backend import account_label, backend_from_url
from ._ratelimit import RateLimits, shared_budgets
from ._records import Result, Task, TaskRecord
from ._registry import Registry, default_registry, model_key
from ._spec import ModelSpec
from ._version import __version__

__all__ = ["AsyncClient", "Client"]

logger = logging.getLogger("kieframe")

HttpT = TypeVar("HttpT", bound=httpx.Client | httpx.AsyncClient)
TransportT = TypeVar("TransportT", bound=httpx.BaseTransport | httpx.AsyncBaseTransport)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: Files downloaded at once by default.
DEFAULT_CONCURRENCY = 4
_DEFAULT_DEADLINE = 900.0

_USER_AGENT = f"kieframe/{__version__} httpx/{httpx.__version__} python/{platform.python_version()}"


def _tls() -> ssl.SSLContext:
    """httpx's default TLS context, made once per process (and trust store) for every client.

    Making one reads the whole CA bundle, tens of milliseconds: a visible share of a short
    command, or of a download's time.
    """
    return _tls_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _tls_for(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()  # reads the two variables itself


class _Secret:
    """Holds the API key so that it never shows in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "_Secret('********')"


@dataclass(frozen=True, slots=True)
class _UntaggedLog:
    """A journal seen as a plain :class:`SubmissionLog`: its creates carry no submission token.

    The create writes down an SQL journal's entry with a token, and adds the token to the callback
    URL, only for an SQL journal: through this view the callback URL goes to kie.ai as given.
    """

    journal: SubmissionLog

    def begin(self, *, model: str, input: Mapping[str, Any], host: str | None = None) -> int:
        return self.journal.begin(model=model, input=input, host=host)

    def accepted(self, entry: int, *, task_id: str) -> None:
        self.journal.accepted(entry, task_id=task_id)

    def rejected(self, entry: int, *, reason: str) -> None:
        self.journal.rejected(entry, reason=reason)

    def uncertain(self, entry: int, *, reason: str) -> None:
        self.journal.uncertain(entry, reason=reason)

    def finished(
        self, task_id: str, *, succeeded: bool, detail: str | None = None, host: str | None = None
    ) -> None:
        self.journal.finished(task_id, succeeded=succeeded, detail=detail, host=host)


class _BaseClient(abc.ABC, Generic[HttpT, TransportT]):
    """The options both clients share, and the operations they build (see :class:`Client`)."""

    #: The httpx classes ``http_client`` and ``transport`` take: sync or async, as the client.
    _HTTP_KINDS: ClassVar[tuple[type, type]]

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        upload_base_url: str | None = None,
        timeout: httpx.Timeout | float | None = DEFAULT_TIMEOUT,
        http_client: HttpT | None = None,
        transport: TransportT | None = None,
        registry: Registry | None = None,
        poll: PollPlan | None = None,
        rate_limits: RateLimits | None = None,
        visibility_grace: float = DEFAULT_VISIBILITY_GRACE,
        create_attempts: int = 3,
        read_attempts: int = 6,
        read_retry_timeout: float = 120.0,
        callbacks: CallbackHub | HubOwner | None = None,
        journal: SubmissionLog | str | os.PathLike[str] | None = None,
        upload_cache: str | os.PathLike[str] | None = None,
        database_url: str | None = None,
        tag_callback_urls: bool = True,
    ) -> None:
        _check_options(locals())
        _check_http(self._HTTP_KINDS, http_client, transport)
        settings = resolve_settings(
            api_key=api_key,
            base_url=base_url,
            upload_base_url=upload_base_url,
            database_url=database_url,
        )
        self._key = _Secret(settings.api_key)
        self.base_url = httpx.URL(settings.base_url)
        self.upload_base_url = httpx.URL(settings.upload_base_url)
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.registry = registry or default_registry()
        self.poll = poll or PollPlan()
        self.visibility_grace = visibility_grace
        #: Where callbacks reach waits (a receiver's hub): see :meth:`Client.wait`.
        self.callbacks = callbacks if isinstance(callbacks, CallbackHub | None) else callbacks.hub
        self._uploads = UploadCache(
            namespace=str(self.upload_base_url), path=upload_cache or os.environ.get(CACHE_ENV)
        )
        self._create_attempts = create_attempts
        limits = rate_limits or RateLimits()
        self._rate_window = limits.create_window
        limiter = shared_budgets(str(self.base_url), self._key.reveal(), limits)
        backend = backend_from_url(settings.database_url) if settings.database_url else None
        if backend is not None:  # one database for every process: see docs/guide/postgres.md
            limiter = backend.budgets(account_label(self._key.reveal()), limits)
            if upload_cache is None:
                self._uploads = backend.upload_cache(str(self.upload_base_url))
            if self.callbacks is None:
                self.callbacks = backend.hub
        self._connection = Connection(
            base_url=self.base_url,
            upload_base_url=self.upload_base_url,
            timeout=self.timeout,
            headers=self._headers,
            user_agent=_USER_AGENT,
            limiter=limiter,
            callbacks=self.callbacks,
            read_attempts=read_attempts,
            read_retry_timeout=read_retry_timeout,
        )

        if http_client is not None and transport is not None:
            raise TypeError("pass http_client or transport, not both (the transport belongs in it)")
        #: Where every create is written down before and after it is sent (see Journal).
        self.journal: SubmissionLog | None
        self._owned_journal: Journal | None = None
        if journal is None and backend is not None:
            self.journal = backend.journal
        elif journal is None or isinstance(journal, SubmissionLog):
            self.journal = journal
        else:  # a path: the client opens it (a JournalError if it cannot) and closes it
            self.journal = self._owned_journal = Journal(journal)
        #: Whether a journaled create's callback URL carries its submission token (see Client).
        self.tag_callback_urls = tag_callback_urls
        self._create_log = (
            self.journal
            if tag_callback_urls or self.journal is None
            else _UntaggedLog(self.journal)
        )
        self._owns_http = http_client is None
        # Last: no later failure can leak the connection pool.
        self._http: HttpT = http_client or self._new_http(transport)

    @abc.abstractmethod
    def _new_http(self, transport: TransportT | None) -> HttpT:
        """The client's own httpx client (sync or async)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} base_url={str(self.base_url)!r}>"

    def _headers(self) -> Mapping[str, str]:
        """The API's headers, with the key (file hosts never get them)."""
        return {
            "Authorization": f"Bearer {self._key.reveal()}",
            "User-Agent": _USER_AGENT,
            "Accept": "application/json",
        }

    def _close_journal(self) -> None:
        if self._owned_journal is not None:
            self._owned_journal.close()

    def _submit_op(
        self,
        model: str,
        input: Any,
        callback_url: str | None,
        prepared: Submission | None = None,
    ) -> Op[Task]:
        _check_callback_url(callback_url)
        return submit_op(
            self.registry,
            model,
            input,
            callback_url=callback_url,
            cache=self._uploads,
            journal=self._create_log,
            host=str(self.base_url),
            attempts=self._create_attempts,
            rate_window=self._rate_window,
            prepared=prepared,
        )

    def _wait_op(
        self, task: Task | str, timeout: float | None, on_update: AsyncUpdateHook | None
    ) -> Op[TaskRecord]:
        task_id = _task_id(task)
        since = task.submitted_at if isinstance(task, Task) else None
        if timeout is None:
            timeout = self._default_deadline(task)
        options = WaitOptions(
            timeout=timeout, plan=self.poll, grace=self.visibility_grace, on_update=on_update
        )
        if self.callbacks is not None and isinstance(task, Task) and task.callback_url:
            watchdog = self.callbacks.watchdog_interval(self._typical_seconds(task))
            op = callback_wait_op(task_id, since=since, options=options, watchdog=watchdog)
        elif since is None and isinstance(self.journal, SqlJournal):
            op = _journal_placed_wait(self.journal, task_id, str(self.base_url), options)
        else:
            op = wait_op(task_id, since=since, options=options)
        if self.journal is None:
            return op
        return journaled_wait(op, self.journal, task_id, str(self.base_url))

    def _journaled(self, task_id: str) -> Task | None:
        """``task_id`` as this client's journal has it to collect, else None (blocking: reads
        the journal). Waiting on it, not on the bare id, reads the journal no second time."""
        return _journaled_task(self.journal, task_id, str(self.base_url))

    def _spec_for(self, task: Task | str) -> ModelSpec[Any] | None:
        """The spec of a task's model, if the task handle names an installed one."""
        if not isinstance(task, Task):
            return None
        try:
            return self.registry.get_model(task.model)
        except KieError:
            return None

    def _typical_seconds(self, task: Task) -> float:
        spec = self._spec_for(task)
        return spec.typical_seconds if spec else _DEFAULT_DEADLINE / 2

    def _default_deadline(self, task: Task | str) -> float:
        spec = self._spec_for(task)
        return spec.deadline if spec else _DEFAULT_DEADLINE


def _check_options(options: Mapping[str, Any]) -> None:
    """A client's arguments of the wrong type (a TypeError) or out of range (ConfigurationError)."""
    for name in ("api_key", "base_url", "upload_base_url", "database_url"):
        check_str(name, options[name])
    timeout = options["timeout"]
    if not isinstance(timeout, httpx.Timeout):
        check_number("timeout", timeout, optional=True, error=ConfigurationError)
    check_instance("registry", options["registry"], Registry, "a kieframe.registry.Registry")
    check_instance("poll", options["poll"], PollPlan, "a kieframe.lifecycle.PollPlan")
    check_instance(
        "rate_limits", options["rate_limits"], RateLimits, "a kieframe.lifecycle.RateLimits"
    )
    check_number(
        "visibility_grace", options["visibility_grace"], positive=False, error=ConfigurationError
    )
    check_whole(
        "create_attempts",
        options["create_attempts"],
        least=1,
        what="creates sent at most, the first included",
        error=ConfigurationError,
    )
    check_whole(
        "read_attempts",
        options["read_attempts"],
        least=1,
        what="reads sent at most, the first included",
        error=ConfigurationError,
    )
    check_number("read_retry_timeout", options["read_retry_timeout"], error=ConfigurationError)
    callbacks = options["callbacks"]
    if not (callbacks is None or isinstance(callbacks, CallbackHub) or hasattr(callbacks, "hub")):
        raise TypeError(
            "callbacks takes a kieframe.callbacks.CallbackReceiver or CallbackHub, "
            f"not {type(callbacks).__name__}"
        )
    check_path("upload_cache", options["upload_cache"])
    journal_kind = "a kieframe.journal.SubmissionLog (a journal object)"
    check_path_or("journal", options["journal"], SubmissionLog, journal_kind)


def _check_http(kinds: tuple[type, type], http_client: object, transport: object) -> None:
    """An ``http_client`` or ``transport`` of the other flavour (async for the sync client, or
    the reverse) is a TypeError naming the class the client takes."""
    client, transport_kind = kinds
    check_instance("http_client", http_client, client, f"an httpx.{client.__name__}")
    check_instance("transport", transport, transport_kind, f"an httpx.{transport_kind.__name__}")


def _check_wait(timeout: object, on_update: object) -> None:
    """A wait's options of the wrong type (a TypeError) or out of range (a ValueError)."""
    check_number("timeout", timeout, optional=True)
    if on_update is not None and not callable(on_update):
        raise TypeError(
            f"on_update takes a function of each new record, not {type(on_update).__name__}"
        )


def _check_callback_url(callback_url: object) -> None:
    check_str("callback_url", callback_url, "an http(s) URL (a str)")


def _task_id(task: object) -> str:
    """The id of a task given as a :class:`Task` or its id; else a ``TypeError``, before sending."""
    if isinstance(task, Task | str):
        return str(task)
    raise TypeError(f"give a Task or a task id (a str), not {type(task).__name__}")


def _journal_placed_wait(
    journal: SqlJournal, task_id: str, host: str, options: WaitOptions
) -> Op[TaskRecord]:
    """Wait on a bare task id, placed at its submission when the journal has it.

    A task this journal sent (still ``accepted``) gets the full visibility grace, counted from its
    submission, not the short grace of an id from elsewhere: kie.ai may still hide it.
    """
    task = yield Blocking(functools.partial(_journaled_task, journal, task_id, host))
    since = task.submitted_at if task is not None else None
    return (yield from wait_op(task_id, since=since, options=options))


def _journaled_task(journal: SubmissionLog | None, task_id: str, host: str) -> Task | None:
    """``task_id`` as the journal has it to collect (its model, input and submission time); None
    if it is not there, the journal cannot be read, or it is no :class:`SqlJournal`."""
    if not isinstance(journal, SqlJournal):
        return None
    try:
        entry = journal.submission(task_id, host=host)
    except Exception as error:  # the wait goes on as for an id from elsewhere
        logger.warning("the journal could not be read for task %s (%s)", task_id, error)
        return None
    if entry is None:
        return None
    return Task(
        task_id=task_id,
        model=entry.model,
        input=entry.input,
        submitted_at=entry.created_at.timestamp(),
    )


#: Errors that mean the wait had no task to wait for: no "still running" note for those.
_NO_SUCH_TASK = (InputValidationError, NotFoundError, BadRequestError)


def _note_stopped(error: BaseException, task_id: str) -> None:
    """Make sure whatever ends a wait early (an interrupt, a cancellation, an error from an
    ``on_update`` hook, a bug) still tells the user which task it was waiting for: the task
    exists and is paid for. A kieframe error that already names the task is left as it is, and
    so is one that says there is no such task to wait for (a malformed id, one kie.ai does not
    know)."""
    if isinstance(error, _NO_SUCH_TASK) or (
        isinstance(error, KieError) and error.task_id == task_id
    ):
        return
    error.add_note(f"kieframe: task {task_id} is still running on kie.ai; wait for it again")
    logger.warning(
        "wait for task %s stopped (%s); the task keeps running on kie.ai",
        task_id,
        type(error).__name__,
    )


def _refuse_async_hook(hook: object) -> None:
    """An ``async def`` update hook given to the blocking client is a TypeError, not a warning."""
    if inspect.iscoroutinefunction(hook):
        name = getattr(hook, "__qualname__", repr(hook))
        raise TypeError(
            f"on_update={name} is an async function: the blocking Client cannot await it; "
            "use kieframe.AsyncClient, or a plain def"
        )


class Client(_BaseClient[httpx.Client, httpx.BaseTransport]):
    """The blocking client. Use it as a context manager, or call :meth:`close`.

    ``api_key``, ``base_url`` and ``upload_base_url`` come from the arguments, else the
    environment (``KIE_API_KEY``, ``KIE_BASE_URL``, ``KIE_UPLOAD_BASE_URL``), else the config
    file the command line reads (``$KIEFRAME_CONFIG``, else ``~/.config/kieframe/config.toml``),
    else kie.ai's hosts; a custom ``base_url`` serves uploads too unless ``upload_base_url`` is
    set. A missing key is an :class:`~kieframe.AuthenticationError` with no code, a bad setting (an
    option out of range: ``read_attempts=0``) a :class:`~kieframe.ConfigurationError`, an option
    of the wrong type a ``TypeError`` naming it. Every other option is keyword-only.

    ``http_client`` (an ``httpx.Client``) or ``transport`` (an ``httpx.BaseTransport``) inject a
    configured client or transport: proxies, mocks, tests. ``poll`` replaces kie.ai's polling
    schedule, ``rate_limits`` the client-side budgets, ``visibility_grace`` how long "recordInfo is
    null" counts as "not visible yet" after a submission (a wait on a bare task id counts it from
    the submission the journal has, else allows at most 10 s: the id may be mistyped).
    ``create_attempts`` bounds resends of a create kie.ai certainly did not take; ``read_attempts``
    and ``read_retry_timeout`` bound retries of reads. ``callbacks`` (a receiver or hub) lets
    waits resolve on callbacks; ``journal`` (a path or a
    :class:`~kieframe.SubmissionLog`) records every create; ``upload_cache`` names a file that
    keeps upload links across runs. ``database_url`` (else ``$KIEFRAME_DATABASE_URL``, else the
    config file's ``database_url``) names a PostgreSQL database that every process shares: then
    the budgets, the journal, the upload cache and the callbacks (unless given) live there
    (``pip install "kieframe[postgres]"``, ``kieframe db init``; see the PostgreSQL guide).

    With a SQLite or PostgreSQL journal, a create sent with a callback URL adds its submission
    token to that URL's query string (``?kieframe_submission=...``), so that the callback settles
    the create if its answer was lost. ``tag_callback_urls=False`` sends the callback URL exactly
    as given (for an endpoint that refuses unknown query parameters); such a lost create is then
    left ``uncertain`` for ``kieframe journal resolve``.
    """

    _HTTP_KINDS = (httpx.Client, httpx.BaseTransport)

    def _new_http(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(transport=transport, timeout=self.timeout, verify=_tls())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool and the journal (unless they were passed in built)."""
        if self._owns_http:
            self._http.close()
        self._close_journal()

    @functools.cached_property
    def _performer(self) -> SyncPerformer:
        return SyncPerformer(self._http, self._connection)

    # -- the API ----------------------------------------------------------------------------

    def submit(
        self, model: str | ModelSpec[Any], input: Any, *, callback_url: str | None = None
    ) -> Task:
        """Validate ``input`` for ``model`` and create the task; return its handle.

        ``input`` is a dict or the model's input Struct (or :class:`~kieframe.RawInput` for a
        model no plugin describes). Raises :class:`~kieframe.InputValidationError` before
        anything is sent, and :class:`~kieframe.SubmissionUncertain` when the create may or may
        not have reached kie.ai.
        """
        return self._performer.run(self._submit_op(model_key(model), input, callback_url))

    def _submit_prepared(self, submission: Submission) -> Task:
        """:meth:`submit` an input :func:`prepare_submission` validated: it is not read again."""
        op = self._submit_op(submission.model, None, submission.callback_url, prepared=submission)
        return self._performer.run(op)

    def get(self, task: Task | str) -> TaskRecord:
        """Read a task's current record (a task kie.ai does not show yet is a NotFoundError)."""
        return self._performer.run(get_op(_task_id(task)))

    def wait(
        self,
        task: Task | str,
        *,
        timeout: float | None = None,
        on_update: UpdateHook | None = None,
    ) -> TaskRecord:
        """Wait until the task finishes and return its final record.

        Polls on kie.ai's schedule; with ``callbacks=...`` on the client and a task submitted
        with a ``callback_url``, returns when its callback arrives and polls only as a slow
        watchdog (see :class:`~kieframe.CallbackHub`). ``timeout`` defaults to the model's
        deadline. Raises
        :class:`~kieframe.TaskFailed` if the task failed and :class:`~kieframe.WaitTimeout`
        (with the task id) at the deadline. ``on_update`` is called on every state change (a
        plain function: an ``async def`` hook needs :class:`AsyncClient`, which awaits it).
        """
        task_id = _task_id(task)  # a TypeError for anything else, before any read
        _check_wait(timeout, on_update)
        _refuse_async_hook(on_update)
        try:
            return self._performer.run(self._wait_op(task, timeout, on_update))
        except BaseException as error:
            _note_stopped(error, task_id)
            raise

    def run(
        self,
        model: str,
        input: Any,
        *,
        callback_url: str | None = None,
        timeout: float | None = None,
        on_update: UpdateHook | None = None,
        download_to: str | os.PathLike[str] | None = None,
        progress: DownloadProgress | None = None,
    ) -> Result:
        """Submit, wait for the result and (with ``download_to``) download its files.

        The options are those of :meth:`submit`, :meth:`wait` and :meth:`download`. A
        ``download_to`` that cannot hold files (not a path, a file, no write access) raises
        :class:`~kieframe.DownloadError` before anything is sent; a failure while saving, after
        the task is paid for, raises it with the task id.
        """
        _check_wait(timeout, on_update)  # before the task is paid for
        _refuse_async_hook(on_update)
        folder = _destination(download_to)
        task = self.submit(model, input, callback_url=callback_url)
        record = self.wait(task, timeout=timeout, on_update=on_update)
        files: tuple[Path, ...] = ()
        if folder is not None:
            try:
                files = self.download(record, to=folder, progress=progress)
            except DownloadError as error:
                _note_undownloaded(error, record)
                raise
        return Result(task=task, record=record, files=files)

    def credits(self) -> float:
        """The account's remaining credits: an int when whole, else a float (``12.5``)."""
        return self._performer.run(credits_op())

    def download(
        self,
        record: TaskRecord,
        *,
        to: str | os.PathLike[str],
        progress: DownloadProgress | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> tuple[Path, ...]:
        """Download a finished task's result files into the folder ``to``; return their paths.

        Each file is streamed to a hidden partial file and renamed when complete, as
        ``<task_id>-<n><ext>`` (made safe; never replacing a different file) with a
        ``<name>.json`` of the task's id, model, input, cost and times beside it. A cut transfer
        resumes with a Range request, transient errors are retried, an expired link is
        refreshed through kie.ai, and the size is checked. ``progress`` is told the bytes as they
        arrive; up to ``concurrency`` files download at once. Raises
        :class:`~kieframe.DownloadError`.
        """
        _check_download(record, concurrency)
        folder = _folder(to, "to")
        told = _Told(progress) if progress is not None else None
        try:
            plans = self._performer.run(plans_op(record, folder))
            ops = [download_op(plan, record, progress=told) for plan in plans]
            return self._performer.run_all(ops, concurrency=concurrency)
        except KieError:  # WaitTimeout is a TimeoutError, so an OSError: already kieframe's
            raise
        except OSError as error:
            if told is not None and error is told.raised:  # the callback's own: not ours to name
                raise
            raise _save_failed(error, record, folder) from error


def _check_record(record: object) -> None:
    """Refuse what is no finished task's record (a Task, an id) with a message saying what is."""
    if not isinstance(record, TaskRecord):
        raise TypeError(
            f"download() takes the TaskRecord that wait() returns, not {type(record).__name__}: "
            "record = client.wait(task); client.download(record, to=...)"
        )


def _check_download(record: object, concurrency: object) -> None:
    """Refuse what is no finished task's record, and a ``concurrency`` that is no count."""
    _check_record(record)
    check_whole("concurrency", concurrency, least=1, what="the files downloaded at once")


def _folder(to: object, name: str) -> Path:
    """The folder ``to`` names; a ``TypeError`` if it is no path, a ``DownloadError`` (with no
    task id) if its text can be no file name (a NUL byte, a lone surrogate)."""
    if not isinstance(to, str | os.PathLike):
        raise TypeError(
            f"{name} takes a folder path (a str or os.PathLike), not {type(to).__name__}"
        )
    folder = Path(to)
    check_path_text(folder)
    return folder


def _destination(download_to: object) -> Path | None:
    """``run``'s folder, checked before anything is sent: a ``TypeError`` if it is no path, a
    ``DownloadError`` (with no task id) if files cannot be saved there."""
    if download_to is None:
        return None
    folder = _folder(download_to, "download_to")
    check_folder(folder)
    return folder


class _Told:
    """A ``progress`` callback that remembers what it raised: the user's own error (a broken
    pipe while printing, say) is theirs, not a file that could not be saved."""

    __slots__ = ("progress", "raised")

    def __init__(self, progress: DownloadProgress) -> None:
        self.progress = progress
        self.raised: BaseException | None = None

    def __call__(self, path: Path, received: int, total: int | None, /) -> None:
        try:
            self.progress(path, received, total)
        except BaseException as error:
            self.raised = error
            raise


def _save_failed(error: OSError, record: TaskRecord, folder: Path) -> DownloadError:
    """A file system error while saving a task's files, as the ``DownloadError`` it is."""
    reason = error.strerror or str(error) or type(error).__name__
    where = f" ({error.filename})" if error.filename else ""
    return DownloadError(
        f"the results could not be saved in {folder}: {reason}{where}", task_id=record.task_id
    )


def _note_undownloaded(error: DownloadError, record: TaskRecord) -> None:
    """Tell the user of ``run`` that the task is done and paid for, and how to save its files."""
    error.add_note(
        f"kieframe: task {record.task_id} finished; save its files with "
        f"client.download(client.wait({record.task_id!r}), to=...)"
    )


class AsyncClient(_BaseClient[httpx.AsyncClient, httpx.AsyncBaseTransport]):
    """The asyncio client: the same API and options as :class:`Client`, with ``await``.

    ``http_client`` is an ``httpx.AsyncClient``, ``transport`` an ``httpx.AsyncBaseTransport``.
    """

    _files_twin = False  # whether result files come through a blocking twin of the client

    _HTTP_KINDS = (httpx.AsyncClient, httpx.AsyncBaseTransport)

    def _new_http(self, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        # With httpx's own transport, result files come through a blocking twin of it on a
        # worker thread: asyncio's socket reads cannot keep up with a fast file host.
        self._files_twin = transport is None
        return httpx.AsyncClient(transport=transport, timeout=self.timeout, verify=_tls())

    @functools.cached_property
    def _files_http(self) -> httpx.Client:
        """The blocking client result files are fetched with (made on first download)."""
        return httpx.Client(timeout=self.timeout, verify=_tls())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool and the journal (unless they were passed in built)."""
        if self._owns_http:
            await self._http.aclose()
        if "_files_http" in self.__dict__:
            self._files_http.close()
        self._close_journal()

    @functools.cached_property
    def _performer(self) -> AsyncPerformer:
        twin = self._owns_http and self._files_twin
        files = (lambda: self._files_http) if twin else None
        return AsyncPerformer(self._http, self._connection, files=files)

    async def submit(
        self, model: str | ModelSpec[Any], input: Any, *, callback_url: str | None = None
    ) -> Task:
        """Validate ``input`` for ``model`` and create the task; see :meth:`Client.submit`."""
        return await self._performer.run(self._submit_op(model_key(model), input, callback_url))

    async def get(self, task: Task | str) -> TaskRecord:
        """Read a task's current record (a task kie.ai does not show yet is a NotFoundError)."""
        return await self._performer.run(get_op(_task_id(task)))

    async def wait(
        self,
        task: Task | str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the task's deadline, per the API contract
        on_update: AsyncUpdateHook | None = None,
    ) -> TaskRecord:
        """Wait until the task finishes and return its final record; see :meth:`Client.wait`.

        ``on_update`` may be a plain function or an ``async def``: the wait awaits it before it
        reads the task again.
        """
        task_id = _task_id(task)  # a TypeError for anything else, before any read
        _check_wait(timeout, on_update)
        performer = self._performer
        try:
            await performer.start()  # 10,000 waits started at once build their state later
            op = self._wait_op(task, timeout, on_update)
            # drive_async's loop, run in this coroutine (see AsyncPerformer.handoff): a sleeping
            # wait holds its task's objects and its operation, no driver of its own.
            handoff = performer.handoff()
            result: Any = None
            error: BaseException | None = None
            try:
                while True:
                    try:
                        effect = op.throw(error) if error is not None else op.send(result)
                    except StopIteration as stop:
                        return stop.value  # type: ignore[no-any-return]  # the op's result
                    finally:
                        del error  # break the frame cycle of a thrown traceback
                    result, error = None, None
                    try:
                        awaited = performer.perform(effect)
                        del effect  # not kept while it is awaited: a wait sleeps for seconds
                        if isinstance(awaited, asyncio.Future):
                            if not awaited.done():
                                await handoff.on(awaited)
                            result = awaited.result()
                        else:
                            result = await awaited
                    except BaseException as failure:  # the op decides, as in drive_async
                        error = failure
            finally:
                op.close()
        except BaseException as stopped:
            _note_stopped(stopped, task_id)
            raise

    async def run(
        self,
        model: str,
        input: Any,
        *,
        callback_url: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the task's deadline, per the API contract
        on_update: AsyncUpdateHook | None = None,
        download_to: str | os.PathLike[str] | None = None,
        progress: DownloadProgress | None = None,
    ) -> Result:
        """Submit, wait for the result and (with ``download_to``) download its files.

        The options are those of :meth:`submit`, :meth:`wait` and :meth:`download`; a bad
        ``download_to`` is refused before anything is sent, as by :meth:`Client.run`.
        """
        _check_wait(timeout, on_update)  # before the task is paid for
        folder = await asyncio.to_thread(_destination, download_to)  # a probe file: off the loop
        task = await self.submit(model, input, callback_url=callback_url)
        record = await self.wait(task, timeout=timeout, on_update=on_update)
        files: tuple[Path, ...] = ()
        if folder is not None:
            try:
                files = await self.download(record, to=folder, progress=progress)
            except DownloadError as error:
                _note_undownloaded(error, record)
                raise
        return Result(task=task, record=record, files=files)

    async def credits(self) -> float:
        """The account's remaining credits: an int when whole, else a float (``12.5``)."""
        return await self._performer.run(credits_op())

    async def download(
        self,
        record: TaskRecord,
        *,
        to: str | os.PathLike[str],
        progress: DownloadProgress | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> tuple[Path, ...]:
        """Download a finished task's result files into ``to``; see :meth:`Client.download`.

        The files download as asyncio tasks, at most ``concurrency`` at once.
        """
        _check_download(record, concurrency)
        folder = _folder(to, "to")
        told = _Told(progress) if progress is not None else None
        try:
            plans = await self._performer.run(plans_op(record, folder))
            ops = [download_op(plan, record, progress=told) for plan in plans]
            return await self._performer.run_all(ops, concurrency=concurrency)
        except KieError:  # WaitTimeout is a TimeoutError, so an OSError: already kieframe's
            raise
        except OSError as error:
            if told is not None and error is told.raised:  # the callback's own: not ours to name
                raise
            raise _save_failed(error, record, folder) from error
