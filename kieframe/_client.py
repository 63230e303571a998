"""``Client`` and ``AsyncClient``: the unified API over httpx.

Both run the same operations (``_operations.py``); each only knows how to perform an effect: send a
request (with client-side rate limiting, and stamina retries for reads) or sleep.
"""

from __future__ import annotations

import abc
import asyncio
import functools
import logging
import os
import platform
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

import httpx
import stamina

from ._callbacks._hub import CallbackHub
from ._config import DEFAULT_BASE_URL, DEFAULT_UPLOAD_BASE_URL, resolve_settings
from ._drive import drive, drive_async
from ._envelope import read_envelope
from ._errors import (
    APIError,
    KieError,
    TaskFailed,
    TransportError,
)
from ._files._cache import CACHE_ENV, UploadCache
from ._files._downloads import DownloadProgress
from ._files._transfer import DEFAULT_CONCURRENCY, AsyncDownloader, SyncDownloader
from ._files._uploads import submit_with_uploads_op
from ._journal import Journal, SubmissionLog
from ._lifecycle import PollPlan
from ._operations import (
    AwaitCallback,
    Blocking,
    Call,
    Effect,
    Op,
    Sleep,
    Submission,
    UpdateHook,
    WaitOptions,
    callback_wait_op,
    credits_op,
    get_op,
    prepare_submission,
    wait_op,
)
from ._postgres._backend import account_label, backend_from_url
from ._postgres._budget import PostgresWindow
from ._postgres._connect import database_url as _database_url
from ._ratelimit import RateLimits, SlidingWindow, shared_windows
from ._records import Result, Task, TaskRecord
from ._registry import Registry, default_registry
from ._spec import ModelSpec
from ._version import __version__

if TYPE_CHECKING:
    from ._callbacks._receiver import CallbackReceiver

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_UPLOAD_BASE_URL", "AsyncClient", "Client"]

logger = logging.getLogger("kieframe")

T = TypeVar("T")
HttpT = TypeVar("HttpT", bound=httpx.Client | httpx.AsyncClient)
TransportT = TypeVar("TransportT", bound=httpx.BaseTransport | httpx.AsyncBaseTransport)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_DEFAULT_DEADLINE = 900.0

# httpx errors that prove the request never left this machine: resending cannot duplicate it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


_STATIC_HEADERS = {
    "User-Agent": (
        f"kieframe/{__version__} httpx/{httpx.__version__} python/{platform.python_version()}"
    ),
    "Accept": "application/json",
}


@functools.lru_cache(maxsize=64)
def _join(base: httpx.URL, path: str) -> httpx.URL:
    """An endpoint's URL; cached, as URL parsing is a visible share of a request's cost."""
    return base.join(path)


def _timeouts(timeout: httpx.Timeout, deadline: float | None) -> dict[str, float | None]:
    """The request's timeouts, none of them reaching past ``deadline`` (monotonic) if given."""
    limits = timeout.as_dict()
    if deadline is None:
        return limits
    left = max(deadline - time.monotonic(), 0.5)  # a last read still gets a fair chance
    return {name: left if value is None else min(value, left) for name, value in limits.items()}


def _read_backoff(error: Exception) -> bool | float:
    """stamina's retry hook for reads: transport errors, 429, 455 and 5xx; honours Retry-After."""
    if isinstance(error, APIError):
        if not error.retryable:
            return False
        return error.retry_after if error.retry_after is not None else True
    return isinstance(error, TransportError)


class _Secret:
    """Holds the API key so that it never shows in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "_Secret('********')"


class _BaseClient(abc.ABC, Generic[HttpT, TransportT]):
    """Options, configuration and request building shared by both clients (see :class:`Client`)."""

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
        visibility_grace: float = 60.0,
        create_attempts: int = 3,
        read_attempts: int = 6,
        read_retry_timeout: float = 120.0,
        callbacks: CallbackHub | CallbackReceiver | None = None,
        journal: SubmissionLog | str | os.PathLike[str] | None = None,
        upload_cache: str | os.PathLike[str] | None = None,
        database_url: str | None = None,
    ) -> None:
        settings = resolve_settings(
            api_key=api_key, base_url=base_url, upload_base_url=upload_base_url
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
        url = _database_url(database_url)
        backend = backend_from_url(url) if url else None
        self._shared = backend is not None  # budgets in the database: reserve() blocks
        self._uploads = UploadCache(
            namespace=str(self.upload_base_url), path=upload_cache or os.environ.get(CACHE_ENV)
        )
        self._create_attempts = create_attempts
        self._read_attempts = read_attempts
        self._read_retry_timeout = read_retry_timeout
        limits = rate_limits or RateLimits()
        self._rate_window = limits.create_window
        windows: tuple[SlidingWindow | PostgresWindow, ...]
        windows = shared_windows(str(self.base_url), self._key.reveal(), limits)
        if backend is not None:  # one database for every process: see docs/guide/postgres.md
            windows = backend.windows(account_label(self._key.reveal()), limits)
            if upload_cache is None:
                self._uploads = backend.upload_cache(str(self.upload_base_url))
            if self.callbacks is None:
                self.callbacks = backend.hub
        self._windows: dict[str, SlidingWindow | PostgresWindow] = dict(
            zip(("create", "read"), windows, strict=True)
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
        self._owns_http = http_client is None
        # Last: no later failure can leak the connection pool.
        self._http: HttpT = http_client or self._new_http(transport)

    @abc.abstractmethod
    def _new_http(self, transport: TransportT | None) -> HttpT:
        """The client's own httpx client (sync or async)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} base_url={str(self.base_url)!r}>"

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key.reveal()}", **_STATIC_HEADERS}

    def _request(self, call: Call) -> httpx.Request:
        base = self.base_url if call.host == "api" else self.upload_base_url
        headers = self._headers
        if call.content is not None:  # JSON the operation encoded itself
            headers["Content-Type"] = "application/json"
        return httpx.Request(
            call.method,
            _join(base, call.path),
            params=call.params,
            json=call.json,
            content=call.content,
            files=call.files,
            data=call.data,
            headers=headers,
            extensions={"timeout": _timeouts(self.timeout, call.deadline)},
        )

    def _reserve(self, call: Call) -> float:
        return self._windows[call.budget].reserve() if call.budget else 0.0

    def _after_error(self, call: Call, error: KieError) -> None:
        if isinstance(error, APIError) and error.code == 429 and call.budget:
            window = self._windows[call.budget]
            window.penalise(error.retry_after if error.retry_after is not None else window.window)

    @staticmethod
    def _transport_error(call: Call, error: httpx.TransportError) -> TransportError:
        sent = not isinstance(error, _NOT_SENT)
        what = f"{call.method} {call.path}"
        return TransportError(
            f"{what} failed: {type(error).__name__}: {error}".rstrip(": "),
            task_id=call.task_id,
            request_sent=sent,
        )

    def _close_journal(self) -> None:
        if self._owned_journal is not None:
            self._owned_journal.close()

    def _retry_options(self, deadline: float | None = None) -> dict[str, Any]:
        """stamina's options; a call with a ``deadline`` (monotonic) stops retrying by then."""
        attempts, budget, longest = self._read_attempts, self._read_retry_timeout, 10.0
        if deadline is not None:
            budget = min(budget, deadline - time.monotonic())
            if budget <= 0:  # past the deadline: one attempt, no retries
                attempts, budget = 1, self._read_retry_timeout
            longest = min(longest, max(budget, 0.01))  # no backoff sleeps far past the deadline
        return {
            "attempts": attempts,
            "timeout": budget,
            "wait_initial": min(0.5, longest),
            "wait_max": longest,
        }

    def _prepare(self, model: str, input: Any, callback_url: str | None) -> Submission:
        """Validate and read local files: CPU and disk only, nothing sent."""
        return prepare_submission(self.registry, model, input, callback_url=callback_url)

    def _submission(self, submission: Submission) -> Op[Task]:
        return submit_with_uploads_op(
            submission,
            cache=self._uploads,
            journal=self.journal,
            host=str(self.base_url),
            attempts=self._create_attempts,
            rate_window=self._rate_window,
        )

    def _wait_op(
        self, task: Task | str, timeout: float | None, on_update: UpdateHook | None
    ) -> Op[TaskRecord]:
        task_id = task.task_id if isinstance(task, Task) else str(task)
        since = task.submitted_at if isinstance(task, Task) else None
        if timeout is None:
            timeout = self._default_deadline(task)
        options = WaitOptions(
            timeout=timeout, plan=self.poll, grace=self.visibility_grace, on_update=on_update
        )
        if self.callbacks is not None and isinstance(task, Task) and task.callback_url:
            watchdog = self.callbacks.watchdog_interval(self._typical_seconds(task))
            op = callback_wait_op(task_id, since=since, options=options, watchdog=watchdog)
        else:
            op = wait_op(task_id, since=since, options=options)
        if self.journal is None:
            return op
        return _journaled_wait(op, self.journal, task_id, str(self.base_url))

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

    def _hub(self) -> CallbackHub:
        if self.callbacks is None:  # pragma: no cover - callback waits need a hub
            raise RuntimeError("waiting for a callback needs callbacks=... on the client")
        return self.callbacks

    def _default_deadline(self, task: Task | str) -> float:
        spec = self._spec_for(task)
        return spec.deadline if spec else _DEFAULT_DEADLINE


def _journaled_wait(
    op: Op[TaskRecord], journal: SubmissionLog, task_id: str, host: str
) -> Op[TaskRecord]:
    """Run a wait and write its outcome (success or failure) to the journal entry of ``host``."""
    finished = functools.partial(journal.finished, task_id, host=host)
    try:
        record = yield from op
    except TaskFailed as failure:  # (a task kie.ai does not show stays "accepted": it was paid)
        yield Blocking(functools.partial(finished, succeeded=False, detail=failure.message))
        raise
    yield Blocking(functools.partial(finished, succeeded=True))
    return record


def _note_interrupted(error: BaseException, task_id: str) -> None:
    """Make sure an interrupted wait still tells the user which task is running."""
    error.add_note(f"kieframe: task {task_id} is still running on kie.ai; wait for it again")
    logger.warning("wait for task %s interrupted; the task keeps running on kie.ai", task_id)


class Client(_BaseClient[httpx.Client, httpx.BaseTransport]):
    """The blocking client. Use it as a context manager, or call :meth:`close`.

    ``api_key``, ``base_url`` and ``upload_base_url`` come from the arguments, else the
    environment (``KIE_API_KEY``, ``KIE_BASE_URL``, ``KIE_UPLOAD_BASE_URL``), else the config
    file the command line reads (``$KIEFRAME_CONFIG``, else ``~/.config/kieframe/config.toml``),
    else kie.ai's hosts; a custom ``base_url`` serves uploads too unless ``upload_base_url`` is
    set. A missing key is an :class:`~kieframe.AuthenticationError` with no code, a bad setting a
    :class:`~kieframe.ConfigurationError`. Every other option is keyword-only.

    ``http_client`` (an ``httpx.Client``) or ``transport`` (an ``httpx.BaseTransport``) inject a
    configured client or transport: proxies, mocks, tests. ``poll`` replaces kie.ai's polling
    schedule, ``rate_limits`` the client-side budgets, ``visibility_grace`` how long "recordInfo is
    null" counts as "not visible yet" after a submission (a wait on a bare task id allows at most 10
    s: the id may be mistyped). ``create_attempts`` bounds resends of a create kie.ai certainly did
    not take; ``read_attempts`` and ``read_retry_timeout`` bound retries of reads. ``callbacks`` (a
    receiver or hub) lets waits resolve on callbacks; ``journal`` (a path or a
    :class:`~kieframe.SubmissionLog`) records every create; ``upload_cache`` names a file that
    keeps upload links across runs. ``database_url`` (default ``$KIEFRAME_DATABASE_URL``) names
    a PostgreSQL database that every process shares: then the budgets, the journal, the upload
    cache and the callbacks (unless given) live there (``pip install "kieframe[postgres]"``,
    ``kieframe db init``; see the PostgreSQL guide).
    """

    def _new_http(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(transport=transport, timeout=self.timeout)

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

    # -- effects ----------------------------------------------------------------------------

    def _drive(self, op: Op[T]) -> T:
        return drive(op, self._effect)

    def _effect(self, effect: Effect) -> Any:
        if isinstance(effect, Blocking):
            return effect.function()
        if isinstance(effect, Sleep):
            return time.sleep(effect.seconds)
        if isinstance(effect, AwaitCallback):
            return self._hub().wait(effect.task_id, after=effect.after, timeout=effect.timeout)
        return self._perform(effect)

    def _perform(self, call: Call) -> Any:
        if call.retry:
            options = self._retry_options(call.deadline)
            retrying = stamina.RetryingCaller(**options).on(_read_backoff)
            return retrying(self._send_once, call)
        return self._send_once(call)

    def _send_once(self, call: Call) -> Any:
        if delay := self._reserve(call):
            time.sleep(delay)
        try:
            response = self._http.send(self._request(call))
        except httpx.TransportError as failure:
            raise self._transport_error(call, failure) from failure
        try:
            return read_envelope(response, task_id=call.task_id)
        except KieError as failure:
            self._after_error(call, failure)
            raise

    # -- the API ----------------------------------------------------------------------------

    def submit(self, model: str, input: Any, *, callback_url: str | None = None) -> Task:
        """Validate ``input`` for ``model`` and create the task; return its handle.

        ``input`` is a dict or the model's input Struct (or :class:`~kieframe.RawInput` for a
        model no plugin describes). Raises :class:`~kieframe.InputValidationError` before
        anything is sent, and :class:`~kieframe.SubmissionUncertain` when the create may or may
        not have reached kie.ai.
        """
        return self._drive(self._submission(self._prepare(model, input, callback_url)))

    def get(self, task: Task | str) -> TaskRecord:
        """Read a task's current record (a task kie.ai does not show yet is a NotFoundError)."""
        return self._drive(get_op(str(task)))

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
        (with the task id) at the deadline. ``on_update`` is called on every state change.
        """
        task_id = str(task)
        try:
            return self._drive(self._wait_op(task, timeout, on_update))
        except (KeyboardInterrupt, SystemExit) as interrupt:
            _note_interrupted(interrupt, task_id)
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

        The options are those of :meth:`submit`, :meth:`wait` and :meth:`download`.
        """
        task = self.submit(model, input, callback_url=callback_url)
        record = self.wait(task, timeout=timeout, on_update=on_update)
        files: tuple[Path, ...] = ()
        if download_to is not None:
            files = self.download(record, to=download_to, progress=progress)
        return Result(task=task, record=record, files=files)

    def credits(self) -> int:
        """The account's remaining credits."""
        return self._drive(credits_op())

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
        downloader = SyncDownloader(
            self._http,
            perform=self._perform,
            user_agent=self._headers["User-Agent"],
            retry=self._retry_options(),
            progress=progress,
        )
        return downloader.download(record, Path(to), concurrency=concurrency)


class AsyncClient(_BaseClient[httpx.AsyncClient, httpx.AsyncBaseTransport]):
    """The asyncio client: the same API and options as :class:`Client`, with ``await``.

    ``http_client`` is an ``httpx.AsyncClient``, ``transport`` an ``httpx.AsyncBaseTransport``.
    """

    def _new_http(self, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport, timeout=self.timeout)

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
        self._close_journal()

    async def _drive(self, op: Op[T]) -> T:
        return await drive_async(op, self._effect)

    async def _effect(self, effect: Effect) -> Any:
        if isinstance(effect, Blocking):
            # Cancelled or not, a journal write runs to its end: the op learns of the
            # cancellation only once the write is done (or the task id could be lost).
            done = asyncio.ensure_future(asyncio.to_thread(effect.function))
            try:
                return await asyncio.shield(done)
            except asyncio.CancelledError:
                await asyncio.wait([done])
                raise
        if isinstance(effect, Sleep):
            return await asyncio.sleep(effect.seconds)
        if isinstance(effect, AwaitCallback):
            hub = self._hub()
            return await hub.wait_async(effect.task_id, after=effect.after, timeout=effect.timeout)
        return await self._perform(effect)

    async def _perform(self, call: Call) -> Any:
        if call.retry:
            options = self._retry_options(call.deadline)
            retrying = stamina.AsyncRetryingCaller(**options).on(_read_backoff)
            return await retrying(self._send_once, call)
        return await self._send_once(call)

    async def _send_once(self, call: Call) -> Any:
        delay = (
            await asyncio.to_thread(self._reserve, call) if self._shared else self._reserve(call)
        )
        if delay:
            await asyncio.sleep(delay)
        try:
            response = await self._http.send(self._request(call))
        except httpx.TransportError as failure:
            raise self._transport_error(call, failure) from failure
        try:
            return read_envelope(response, task_id=call.task_id)
        except KieError as failure:
            self._after_error(call, failure)
            raise

    async def submit(self, model: str, input: Any, *, callback_url: str | None = None) -> Task:
        """Validate ``input`` for ``model`` and create the task; see :meth:`Client.submit`."""
        # Reading local files (up to the model's size limit each) must not stall the loop.
        submission = await asyncio.to_thread(self._prepare, model, input, callback_url)
        return await self._drive(self._submission(submission))

    async def get(self, task: Task | str) -> TaskRecord:
        """Read a task's current record (a task kie.ai does not show yet is a NotFoundError)."""
        return await self._drive(get_op(str(task)))

    async def wait(
        self,
        task: Task | str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the task's deadline, per the API contract
        on_update: UpdateHook | None = None,
    ) -> TaskRecord:
        """Wait until the task finishes and return its final record; see :meth:`Client.wait`."""
        task_id = str(task)
        try:
            return await self._drive(self._wait_op(task, timeout, on_update))
        except (asyncio.CancelledError, KeyboardInterrupt) as interrupt:
            _note_interrupted(interrupt, task_id)
            raise

    async def run(
        self,
        model: str,
        input: Any,
        *,
        callback_url: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the task's deadline, per the API contract
        on_update: UpdateHook | None = None,
        download_to: str | os.PathLike[str] | None = None,
        progress: DownloadProgress | None = None,
    ) -> Result:
        """Submit, wait for the result and (with ``download_to``) download its files.

        The options are those of :meth:`submit`, :meth:`wait` and :meth:`download`.
        """
        task = await self.submit(model, input, callback_url=callback_url)
        record = await self.wait(task, timeout=timeout, on_update=on_update)
        files: tuple[Path, ...] = ()
        if download_to is not None:
            files = await self.download(record, to=download_to, progress=progress)
        return Result(task=task, record=record, files=files)

    async def credits(self) -> int:
        """The account's remaining credits."""
        return await self._drive(credits_op())

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
        downloader = AsyncDownloader(
            self._http,
            perform=self._perform,
            user_agent=self._headers["User-Agent"],
            retry=self._retry_options(),
            progress=progress,
        )
        return await downloader.download(record, Path(to), concurrency=concurrency)
