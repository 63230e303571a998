"""Perform effects: one driver loop, one performer for blocking I/O and one for asyncio.

:func:`drive` (and :func:`drive_async`) runs an operation: it performs each effect the operation
yields and sends back the result or throws in the error. Every exception an effect raises,
``KeyboardInterrupt`` and ``asyncio.CancelledError`` included, is thrown back into the operation
at the point that yielded the effect, so its cleanup (a journal entry marked uncertain, a partial
file kept for resuming) runs before the exception reaches the caller.

:class:`SyncPerformer` and :class:`AsyncPerformer` are the only places kieframe does I/O for an
operation. Each performs every effect of ``_effects``: a :class:`~._effects.Call` takes a slot of
its rate-limit budget, is sent through httpx and read as kie.ai's envelope (a read is resent with
stamina's backoff); a :class:`~._effects.Fetch` streams a result file as its
:class:`~._fileplan.FilePlan` says; sleeps, callback waits and blocking work are the rest. The
blocking performer runs several operations at once on threads, the asyncio one as tasks.

A file body comes as fast as the disk allows: past its first bytes, a plain HTTP/1.1 body is read
from the socket in large buffers (:func:`_receive`), hashed on a worker thread while the next one
fills. Given a blocking twin of its httpx client, the asyncio performer runs each transfer on a
thread with it, since asyncio's socket reads cannot keep up with a fast file host.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import inspect
import socket
import ssl
import threading
import time
import types
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, Protocol, TypeVar, cast

import httpx
import stamina

from .._envelope import read_envelope
from .._errors import APIError, DownloadError, KieError, NoAnswerError
from .._files._part import BATCH, PartFile
from ._effects import Await, Blocking, Call, Delivery, Effect, Fetch, Op, Reserve, Sleep
from ._fileplan import Decision, FilePlan, Step
from ._scheduling import Handoff, Timers, Workers

__all__ = [
    "AsyncPerformer",
    "CallbackWaits",
    "Connection",
    "RateLimiter",
    "SyncPerformer",
    "drive",
    "drive_async",
]

E = TypeVar("E")
P = ParamSpec("P")
T = TypeVar("T")

# httpx errors that prove the request never left this machine: resending cannot duplicate it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def drive(op: Generator[E, Any, T], perform: Callable[[E], Any]) -> T:
    """Run ``op`` to its end, performing its effects with blocking ``perform``."""
    result: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = op.throw(error) if error is not None else op.send(result)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]  # the op's declared result
            finally:
                del error  # break the frame cycle of a thrown traceback
            result, error = None, None
            try:
                result = perform(effect)
            except BaseException as failure:  # the op decides; see the module docstring
                error = failure
    finally:
        op.close()  # an interrupt between two steps still runs the op's cleanup, now


@types.coroutine
def drive_async(
    op: Generator[E, Any, T],
    perform: Callable[[E], Awaitable[Any]],
    begin: Callable[[], asyncio.Future[Any]] | None = None,
) -> Generator[Any, Any, T]:
    """Run ``op`` to its end, performing its effects with awaited ``perform``; await it.

    ``begin``, if given, is awaited before the operation's first step.

    A generator-based coroutine: the future an effect is answered with goes straight to the task
    awaiting the operation, as awaiting the future would send it, but without the iterator that
    awaiting keeps alive: a wait sleeping for seconds holds one object less for the garbage
    collector.
    """
    result: Any = None
    error: BaseException | None = None
    try:
        if begin is not None:
            yield from begin()
        while True:
            try:
                effect = op.throw(error) if error is not None else op.send(result)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]  # the op's declared result
            finally:
                del error
            result, error = None, None
            try:
                awaited = perform(effect)
                del effect  # not kept while it is awaited: a wait sleeps for seconds
                if isinstance(awaited, asyncio.Future):
                    if not awaited.done():  # what awaiting it does, without an iterator to keep
                        awaited._asyncio_future_blocking = True
                        yield awaited
                    result = awaited.result()
                else:
                    result = yield from _steps(awaited)
            except BaseException as failure:  # the op decides; see the module docstring
                error = failure
    finally:
        op.close()


def _steps(awaitable: Awaitable[T]) -> Generator[Any, Any, T]:
    """What awaiting ``awaitable`` runs: a coroutine itself (no wrapper), else its iterator."""
    if isinstance(awaitable, types.CoroutineType):
        return cast("Generator[Any, Any, T]", awaitable)  # a generator-based coroutine runs it
    return awaitable.__await__()


class RateLimiter(Protocol):
    """The budgets requests take slots from (``_ratelimit.Budgets``).

    ``blocking`` says :meth:`reserve` and :meth:`penalise` may block (a budget kept in a
    database): the asyncio performer then calls them on a worker thread.
    """

    blocking: bool

    def reserve(self, budget: str) -> float:
        """Take a slot of ``budget``; the seconds to wait before using it."""
        ...

    def penalise(self, budget: str, seconds: float | None) -> None:
        """After a 429, hold ``budget`` back ``seconds`` (by default, one window)."""
        ...


class CallbackWaits(Protocol):
    """Where callback records meet waits (a ``CallbackHub``)."""

    def wait(self, task_id: str, *, after: int, timeout: float) -> Delivery | None:
        """Block until a delivery newer than ``after`` arrives for the task, or ``timeout``."""
        ...

    async def wait_async(
        self,
        task_id: str,
        *,
        after: int,
        timeout: float,  # noqa: ASYNC109 - mirrors wait()
    ) -> Delivery | None:
        """Await a delivery newer than ``after`` for the task, or ``timeout``."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    """Where requests go and how they are sent and retried; the same for both performers.

    ``headers`` gives the API's headers (with the key) for each request: the key is kept by the
    client, not here. ``user_agent`` alone goes to file hosts.
    """

    base_url: httpx.URL
    upload_base_url: httpx.URL
    timeout: httpx.Timeout
    headers: Callable[[], Mapping[str, str]]
    user_agent: str
    limiter: RateLimiter
    callbacks: CallbackWaits | None = None
    read_attempts: int = 6
    read_retry_timeout: float = 120.0

    def request(self, call: Call) -> httpx.Request:
        """The HTTP request of ``call``, its timeouts capped at its deadline."""
        base = self.base_url if call.host == "api" else self.upload_base_url
        headers = dict(self.headers())
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

    def retry_options(self, deadline: float | None = None) -> dict[str, Any]:
        """stamina's options; a call with a ``deadline`` (monotonic) stops retrying by then."""
        attempts, budget, longest = self.read_attempts, self.read_retry_timeout, 10.0
        if deadline is not None:
            budget = min(budget, deadline - time.monotonic())
            if budget <= 0:  # past the deadline: one attempt, no retries
                attempts, budget = 1, self.read_retry_timeout
            longest = min(longest, max(budget, 0.01))  # no backoff sleeps far past the deadline
        return {
            "attempts": attempts,
            "timeout": budget,
            "wait_initial": min(0.5, longest),
            "wait_max": longest,
        }

    def fetch_options(self) -> dict[str, Any]:
        """stamina's options for a file transfer: no overall timeout, a long file takes its time."""
        return {**self.retry_options(), "timeout": None}

    def read(self, call: Call, response: httpx.Response) -> Any:
        """The envelope's data; after a 429, the call's budget is held back."""
        try:
            return read_envelope(response, task_id=call.task_id)
        except KieError as failure:
            if isinstance(failure, APIError):
                if failure.retry_after is not None and call.deadline is not None:
                    left = max(0.0, call.deadline - time.monotonic())  # no pause past the wait
                    failure.retry_after = min(failure.retry_after, left)
                if failure.code == 429 and call.budget:
                    self.limiter.penalise(call.budget, failure.retry_after)
            raise

    def file_request(self, http: httpx.Client | httpx.AsyncClient, plan: FilePlan) -> httpx.Request:
        """The GET of the plan's link; one httpx cannot send (a NUL, a newline): DownloadError."""
        # File hosts get no Authorization header: the API key is for kie.ai's API only.
        headers = {
            "User-Agent": self.user_agent,
            "Accept-Encoding": "identity",
            **plan.request_headers(),
        }
        try:
            return http.build_request("GET", plan.url, headers=headers)
        except (httpx.InvalidURL, UnicodeEncodeError) as error:  # a lone surrogate too
            raise DownloadError(
                f"result {plan.index}: the link {plan.url!r} cannot be requested ({error})",
                task_id=plan.task_id,
            ) from None

    def hub(self) -> CallbackWaits:
        """The callback hub; an operation awaits callbacks only when there is one."""
        if self.callbacks is None:  # pragma: no cover - callback waits need a hub
            raise RuntimeError("waiting for a callback needs callbacks=... on the client")
        return self.callbacks


@functools.lru_cache(maxsize=64)
def _join(base: httpx.URL, path: str) -> httpx.URL:
    """An endpoint's URL under ``base``, keeping its path (``http://h/kie`` + ``/api/v1/x``).

    Cached, as URL parsing is a visible share of a request's cost.
    """
    return base.copy_with(path=base.path.rstrip("/") + "/" + path.lstrip("/"))


def _timeouts(timeout: httpx.Timeout, deadline: float | None) -> dict[str, float | None]:
    """The request's timeouts, none of them reaching past ``deadline`` (monotonic) if given."""
    limits = timeout.as_dict()
    if deadline is None:
        return limits
    left = max(deadline - time.monotonic(), 0.5)  # a last read still gets a fair chance
    return {name: left if value is None else min(value, left) for name, value in limits.items()}


def _read_backoff(error: BaseException) -> bool | float:
    """stamina's retry hook for reads: no answer, 429, 455 and 5xx; honours Retry-After."""
    if isinstance(error, APIError):
        if not error.retryable:
            return False
        return error.retry_after if error.retry_after is not None else True
    return isinstance(error, NoAnswerError)


def _retries_after(options: dict[str, Any], started: float) -> dict[str, Any]:
    """stamina's options for a read whose first attempt (from ``started``) failed.

    The time that attempt took comes off the retry budget, as if stamina had made it.
    """
    spent = time.monotonic() - started
    return {**options, "timeout": max(options["timeout"] - spent, 0.001)}


def _replaying(first: Exception, attempt: Callable[P, T]) -> Callable[P, T]:
    """``attempt``, except that its first call raises ``first``: a failure stamina should count.

    The first attempt of a read or a transfer runs outside stamina; handing its failure in as
    stamina's own first attempt keeps stamina's backoff, attempt count, hooks and test mode as
    they were.
    """
    pending = [first]

    def again(*args: P.args, **kwargs: P.kwargs) -> T:
        if pending:
            raise pending.pop()
        return attempt(*args, **kwargs)

    return again


def _areplaying(first: Exception, attempt: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """:func:`_replaying` for the asyncio performer."""
    pending = [first]

    async def again(*args: P.args, **kwargs: P.kwargs) -> T:
        if pending:
            raise pending.pop()
        return await attempt(*args, **kwargs)

    return again


def _no_answer(call: Call, error: httpx.HTTPError) -> NoAnswerError:
    return NoAnswerError(
        f"{call.method} {call.path} failed: {type(error).__name__}: {error}".rstrip(": "),
        task_id=call.task_id,
        request_sent=not isinstance(error, _NOT_SENT),
    )


class _Progressed(Exception):
    """An attempt was cut after it stored new bytes: resume at once, with a fresh retry budget."""


class _Retry(Exception):
    """A transient file failure stamina should retry (the plan has already moved its offset)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


def _fetch_backoff(error: BaseException) -> bool | float:
    if isinstance(error, _Retry):
        return error.decision.retry_after if error.decision.retry_after is not None else True
    return False


def _conclude(plan: FilePlan, decision: Decision) -> Step:
    if decision.step in (Step.DONE, Step.REFRESH):
        return decision.step
    if decision.step is Step.RETRY:
        raise _Retry(decision)
    raise DownloadError(f"result {plan.index}: {decision.reason}", task_id=plan.task_id)


def _gave_up(plan: FilePlan, error: _Retry) -> DownloadError:
    return DownloadError(
        f"result {plan.index}: gave up after retries ({error.decision.reason}); "
        f"{plan.offset} bytes are kept in {plan.part.name} for the next attempt",
        task_id=plan.task_id,
    )


def _written(fetch: Fetch, size: int) -> Decision | None:
    plan = fetch.plan
    failed = plan.on_data(size)
    if failed is None and fetch.progress is not None:
        fetch.progress(plan.folder / plan.name, plan.offset, plan.total)
    return failed


def _ended(fetch: Fetch, start: int, rest: int, cut: Decision | None) -> Decision:
    """The decision once a body ended (``cut`` if it was interrupted) and its rest is stored.

    A cut after new bytes were stored raises :class:`_Progressed`: the transfer goes on from
    there at once, without spending the retries that are for failures.
    """
    failed = _written(fetch, rest)
    if failed is not None:
        return failed
    decision = cut if cut is not None else fetch.plan.on_end()
    if decision.step is Step.RETRY and fetch.plan.offset > start:
        raise _Progressed
    return decision


def _undecodable(plan: FilePlan, error: httpx.DecodingError) -> Decision:
    """A compressed body that does not decompress: the file cannot be saved from it."""
    plan.offset, plan.total = 0, None
    return Decision(Step.FAIL, reason=f"the compressed answer could not be decoded ({error})")


def _digest(plan: FilePlan, part: PartFile) -> None:
    """Note the complete file's SHA-256 (hashed while it was written; blocking)."""
    plan.sha256 = part.sha256(plan.part.stat().st_size)
    plan.head = bytes(part.head) if part.head is not None else None


class SyncPerformer:
    """Performs effects with blocking I/O; runs several operations at once on threads."""

    def __init__(self, http: httpx.Client, connection: Connection) -> None:
        self._http = http
        self._connection = connection

    def run(self, op: Op[T]) -> T:
        """Run ``op`` to its end."""
        return drive(op, self.perform)

    def run_all(self, ops: Sequence[Op[T]], *, concurrency: int) -> tuple[T, ...]:
        """Run ``ops``, at most ``concurrency`` at once; their results, in order."""
        if concurrency <= 1 or len(ops) <= 1:
            return tuple(self.run(op) for op in ops)
        with ThreadPoolExecutor(min(concurrency, len(ops)), thread_name_prefix="kieframe") as pool:
            futures = [pool.submit(self.run, op) for op in ops]
            return tuple(future.result() for future in futures)

    def perform(self, effect: Effect) -> Any:
        """Perform one effect and return its result."""
        if isinstance(effect, Call):
            return self._call(effect)
        if isinstance(effect, Reserve):
            return self._take_slot(effect.budget)
        if isinstance(effect, Fetch):
            return self._fetch(effect)
        if isinstance(effect, Blocking):
            return effect.function()
        if isinstance(effect, Sleep):
            return time.sleep(effect.seconds)
        if isinstance(effect, Await):
            _refuse_awaitable(effect.awaitable)
        hub = self._connection.hub()
        return hub.wait(effect.task_id, after=effect.after, timeout=effect.timeout)

    def _call(self, call: Call) -> Any:
        if not call.retry:
            return self._send(call)
        started = time.monotonic()
        try:  # the first attempt without stamina's machinery: most reads need no retry
            return self._send(call)
        except Exception as error:
            if _read_backoff(error) is False:  # 0.0 (Retry-After: 0) is "retry now"
                raise
            first = error
        options = _retries_after(self._connection.retry_options(call.deadline), started)
        return stamina.RetryingCaller(**options).on(_read_backoff)(
            _replaying(first, self._send), call
        )

    def _take_slot(self, budget: str) -> None:
        if delay := self._connection.limiter.reserve(budget):
            time.sleep(delay)

    def _send(self, call: Call) -> Any:
        if call.budget and not call.reserved:
            self._take_slot(call.budget)
        try:
            response = self._http.send(self._connection.request(call))
        except httpx.HTTPError as failure:  # no httpx error leaves the performer
            raise _no_answer(call, failure) from failure
        return self._connection.read(call, response)

    def _fetch(self, fetch: Fetch) -> Step:
        with PartFile(fetch.plan.part) as part:
            while True:
                try:
                    step = self._fetch_attempts(fetch, part)
                    break
                except _Progressed:
                    continue
                except _Retry as exhausted:
                    raise _gave_up(fetch.plan, exhausted) from exhausted
            if step is Step.DONE:
                _digest(fetch.plan, part)
        return step

    def _fetch_attempts(self, fetch: Fetch, part: PartFile) -> Step:
        """Attempts at a transfer until one ends it; retries with stamina's backoff."""
        try:  # the first attempt without stamina's machinery: most transfers need no retry
            return self._fetch_once(fetch, part)
        except _Retry as error:
            first = error
        caller = stamina.RetryingCaller(**self._connection.fetch_options()).on(_fetch_backoff)
        return caller(_replaying(first, self._fetch_once), fetch, part)

    def _fetch_once(self, fetch: Fetch, part: PartFile, stop: _Stop | None = None) -> Step:
        plan = fetch.plan
        request = self._connection.file_request(self._http, plan)
        try:
            # File hosts get no Authorization header, so following their redirects is safe.
            response = self._http.send(request, stream=True, follow_redirects=True)
            try:
                if stop is not None:
                    stop.watch(response)
                decision = plan.on_head(
                    response.status_code, response.headers, final_url=str(response.url)
                )
                if decision.step is Step.WRITE:
                    decision = self._write(fetch, part, decision.start, response)
            finally:
                response.close()
        except httpx.TransportError as error:
            decision = plan.on_interrupted(error)
        except httpx.HTTPError as error:  # a redirect loop: the link is broken
            decision = plan.on_broken(error)
        return _conclude(plan, decision)

    def _write(
        self, fetch: Fetch, part: PartFile, start: int, response: httpx.Response
    ) -> Decision:
        part.open(start)
        ended: Decision | None = None
        plan = fetch.plan
        raw = None if plan.decode else _raw_socket(response)
        left = int(response.headers["content-length"]) if raw is not None else 0
        try:
            for chunk in response.iter_bytes() if plan.decode else response.iter_raw():
                part.write(chunk)
                if (failed := _written(fetch, len(chunk))) is not None:
                    return failed
                left -= len(chunk)
                if raw is not None and left > BATCH:
                    # httpx has handed over every byte it read: the rest is on the socket. (A
                    # small rest comes through httpx, which can then reuse the connection.)
                    failed = _receive(fetch, part, raw, left, _read_timeout(response))
                    if failed is not None:
                        return failed
                    break
        except httpx.DecodingError as error:
            return _undecodable(fetch.plan, error)
        except httpx.TransportError as error:
            ended = fetch.plan.on_interrupted(error)
        finally:
            rest = part.close()
        return _ended(fetch, start, rest, ended)


def _raw_socket(response: httpx.Response) -> socket.socket | None:
    """The plain socket an HTTP/1.1 answer framed by ``Content-Length`` arrives on, if any.

    Such a body can be read straight from the socket into large buffers, past httpx's and h11's
    64 KiB reads and copies; TLS, chunked bodies and other transports go through httpx.
    """
    headers = response.headers
    if (
        response.http_version != "HTTP/1.1"
        or "transfer-encoding" in headers
        or not headers.get("content-length", "").strip().isdigit()
    ):
        return None
    stream = response.extensions.get("network_stream")
    if stream is None or stream.get_extra_info("ssl_object") is not None:
        return None
    raw = stream.get_extra_info("socket")
    if not isinstance(raw, socket.socket) or isinstance(raw, ssl.SSLSocket):
        return None
    return raw


def _read_timeout(response: httpx.Response) -> float | None:
    timeouts = response.request.extensions.get("timeout", {})
    read: float | None = timeouts.get("read")
    return read


def _receive(
    fetch: Fetch, part: PartFile, raw: socket.socket, left: int, timeout: float | None
) -> Decision | None:
    """Read the body's last ``left`` bytes from ``raw`` into the part file's buffers.

    Each buffer is filled before it is stored, so the file takes few, large writes and the hash
    large blocks (on a worker thread, while the next buffer fills). Whatever ends a read early
    (a cut, a timeout, an interrupt), the bytes received before it are stored first; socket
    errors are raised as httpx's.
    """
    raw.settimeout(timeout)
    while left > 0:
        view = part.buffer(left)
        want, size = min(len(view), left), 0
        failed = None
        try:
            while size < want:
                got = raw.recv_into(view[size:want])
                if not got:
                    raise httpx.RemoteProtocolError(
                        "the server closed the connection before the body ended"
                    )
                size += got
        except TimeoutError as error:
            raise httpx.ReadTimeout(str(error) or "timed out") from error
        except OSError as error:
            raise httpx.ReadError(str(error) or type(error).__name__) from error
        finally:
            if size:
                part.commit(view, size)
                failed = _written(fetch, size)
        if failed is not None:
            return failed
        left -= size
    return None


class _Stop:
    """Asks a transfer on a worker thread to end soon, from another thread.

    The transfer's socket is shut down, which wakes a read blocked on it; the thread then sees
    the connection cut, stores what it received and returns.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requested = False
        self._socket: socket.socket | None = None

    def watch(self, response: httpx.Response) -> None:
        """The answer whose body the transfer reads now (shut at once if a stop came first)."""
        stream = response.extensions.get("network_stream")
        raw = stream.get_extra_info("socket") if stream is not None else None
        with self._lock:
            self._socket = raw if isinstance(raw, socket.socket) else None
            if self._requested:
                self._shut()

    def request(self) -> None:
        """End the transfer: shut its socket down."""
        with self._lock:
            self._requested = True
            self._shut()

    def _shut(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):  # already closed
                self._socket.shutdown(socket.SHUT_RDWR)


def _in_thread(function: Callable[[], T]) -> asyncio.Future[T]:
    """Run ``function`` on a thread of its own; its outcome, awaitable in the running loop."""
    outcome: Future[T] = Future()

    def run() -> None:
        try:
            outcome.set_result(function())
        except BaseException as error:  # handed to the awaiting task
            outcome.set_exception(error)

    threading.Thread(target=run, name="kieframe-download", daemon=True).start()
    return asyncio.wrap_future(outcome)


def _refuse_awaitable(awaitable: Awaitable[Any]) -> NoReturn:
    """A blocking wait cannot await what an ``on_update`` hook returned: say so, warning-free."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()  # no "coroutine was never awaited" warning besides the error
    raise TypeError(
        f"on_update returned {type(awaitable).__name__}, an awaitable: the blocking Client cannot "
        "await it; use kieframe.AsyncClient for an async hook, or a plain function"
    )


async def _blocking(effect: Blocking) -> Any:
    """Run blocking work in a thread; cancelled or not, it runs to its end.

    The operation learns of a cancellation only once the work is done: a journal write that was
    cut could lose a task id.
    """
    done = asyncio.ensure_future(asyncio.to_thread(effect.function))
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        await asyncio.wait([done])
        raise


class AsyncPerformer:
    """Performs effects with asyncio; runs several operations at once as tasks."""

    #: API requests in flight at once: httpx's default keep-alive pool, so that connections are
    #: reused rather than opened and closed per request, and httpcore's pool (which scans every
    #: connection for each request, and handles queued requests in quadratic time) stays small.
    #: The others queue here, in constant time. kie.ai's own read budget (10 a second) needs
    #: far fewer.
    in_flight_limit = 20

    def __init__(
        self,
        http: httpx.AsyncClient,
        connection: Connection,
        *,
        files: Callable[[], httpx.Client] | None = None,
    ) -> None:
        self._http = http
        self._connection = connection
        self._in_flight: asyncio.Semaphore | None = None  # made on first use, in the loop
        self._files = files
        self._timers: Timers | None = None  # made on first use, in the loop
        self._readers: Workers[Call, Any] | None = None
        # One bound method of each for all operations, not one each for each to keep.
        self._perform, self._start = self.perform, self.start

    def _on_loop(self) -> Timers:
        """The performer's shared timers (see :mod:`._scheduling`) on the running loop."""
        loop = asyncio.get_running_loop()
        if self._timers is None or self._timers.loop is not loop:
            self._timers = Timers(loop)
        return self._timers

    def handoff(self) -> Handoff:
        """How a coroutine on the running loop awaits a future with no iterator of its own.

        ``AsyncClient.wait`` runs the driver's loop (:func:`drive_async`) in its own coroutine,
        awaiting each effect's future through it: a sleeping wait keeps no driver object.
        """
        return self._on_loop().handoff

    def _sleep(self, seconds: float) -> asyncio.Future[None]:
        return self._on_loop().sleep(seconds)

    def start(self) -> asyncio.Future[None]:
        """Where each operation starts: on the shared timers, a batch of operations per turn.

        10,000 waits started together would otherwise all take their first step (build their
        state, queue their first read) in one turn of the event loop, stalling it for that long.
        :meth:`run` awaits it before the operation's first step; a caller with work to do before
        it builds the operation awaits it first, then runs the operation with ``started=True``.
        """
        return self._on_loop().turn()

    def _queue_read(self, call: Call) -> asyncio.Future[Any]:
        """A read, sent by one of the performer's reader tasks (see :mod:`._scheduling`).

        Reads past the in-flight limit queue there as a call and a future, before any retry
        state is built or the HTTP stack sees them. A read runs in the wait's context (its
        context variables reach httpx's event hooks), and a wait cancelled meanwhile cancels it.
        """
        loop = asyncio.get_running_loop()
        if self._readers is None or self._readers.loop is not loop:
            self._readers = Workers(loop, self._read, self.in_flight_limit)
        return self._readers.submit(call)

    def run(self, op: Op[T], *, started: bool = False) -> Awaitable[T]:
        """Run ``op`` to its end (await the coroutine; one frame less for each wait to keep).

        It starts after :meth:`start`, unless ``started`` says the caller awaited that already.
        """
        return drive_async(op, self._perform, None if started else self._start)

    async def run_all(self, ops: Sequence[Op[T]], *, concurrency: int) -> tuple[T, ...]:
        """Run ``ops``, at most ``concurrency`` at once; their results, in order."""
        limit = asyncio.Semaphore(max(1, concurrency))

        async def one(op: Op[T]) -> T:
            async with limit:
                return await self.run(op)

        outcomes = await asyncio.gather(*(one(op) for op in ops), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return tuple(outcomes)  # type: ignore[arg-type]  # no exceptions left

    def perform(self, effect: Effect) -> Awaitable[Any]:
        """Perform one effect: await the result.

        A plain function returning the effect's own coroutine, not a coroutine awaiting it: one
        object less for each of 10,000 waits to keep while it sleeps.
        """
        if isinstance(effect, Call):
            return self._queue_read(effect) if effect.retry else self._send(effect)
        if isinstance(effect, Reserve):
            return self._take_slot(effect.budget)
        if isinstance(effect, Fetch):
            return self._fetch(effect)
        if isinstance(effect, Blocking):
            return _blocking(effect)
        if isinstance(effect, Sleep):
            return self._sleep(effect.seconds)
        if isinstance(effect, Await):
            return effect.awaitable
        hub = self._connection.hub()
        return hub.wait_async(effect.task_id, after=effect.after, timeout=effect.timeout)

    async def _read(self, call: Call) -> Any:
        """Send a read, resent with backoff (on a reader task)."""
        started = time.monotonic()
        try:  # the first attempt without stamina's machinery: most reads need no retry
            return await self._send(call)
        except Exception as error:
            if _read_backoff(error) is False:  # 0.0 (Retry-After: 0) is "retry now"
                raise
            first = error
        options = _retries_after(self._connection.retry_options(call.deadline), started)
        retrying = stamina.AsyncRetryingCaller(**options).on(_read_backoff)
        return await retrying(_areplaying(first, self._send), call)

    async def _take_slot(self, budget: str) -> None:
        if delay := await self._reserve(budget):
            await self._sleep(delay)

    async def _send(self, call: Call) -> Any:
        if call.budget and not call.reserved:
            await self._take_slot(call.budget)
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(self.in_flight_limit)
        try:
            async with self._in_flight:
                response = await self._http.send(self._connection.request(call))
        except httpx.HTTPError as failure:  # no httpx error leaves the performer
            raise _no_answer(call, failure) from failure
        if self._connection.limiter.blocking:  # a 429's hold goes to a database: off the loop
            return await asyncio.to_thread(self._connection.read, call, response)
        return self._connection.read(call, response)

    async def _reserve(self, budget: str) -> float:
        limiter = self._connection.limiter
        if limiter.blocking:  # a slot from a database: never on the event loop
            return await asyncio.to_thread(limiter.reserve, budget)
        return limiter.reserve(budget)

    async def _fetch(self, fetch: Fetch) -> Step:
        with PartFile(fetch.plan.part) as part:
            while True:
                try:
                    step = await self._fetch_attempts(fetch, part)
                    break
                except _Progressed:
                    continue
                except _Retry as exhausted:
                    raise _gave_up(fetch.plan, exhausted) from exhausted
            if step is Step.DONE:
                await asyncio.to_thread(_digest, fetch.plan, part)
        return step

    async def _fetch_attempts(self, fetch: Fetch, part: PartFile) -> Step:
        """Attempts at a transfer until one ends it; retries with stamina's backoff."""
        once = self._fetch_once if self._files is None else self._fetch_once_on_thread
        try:  # the first attempt without stamina's machinery: most transfers need no retry
            return await once(fetch, part)
        except _Retry as error:
            first = error
        caller = stamina.AsyncRetryingCaller(**self._connection.fetch_options())
        return await caller.on(_fetch_backoff)(_areplaying(first, once), fetch, part)

    async def _fetch_once_on_thread(self, fetch: Fetch, part: PartFile) -> Step:
        """One attempt with the blocking client on a worker thread, at the blocking speed.

        Reads, writes and hashing all happen off the loop; progress is told on the loop. If the
        task is cancelled, the transfer is stopped and awaited before the cancellation goes on,
        so that the partial file is complete and closed (as with an interrupt elsewhere).
        """
        assert self._files is not None
        loop = asyncio.get_running_loop()
        told = fetch.progress
        stop = _Stop()
        raised: list[BaseException] = []  # by the progress callback: it ends the transfer
        if told is not None:

            def tell(path: Path, received: int, total: int | None) -> None:
                if raised:
                    return
                try:
                    told(path, received, total)
                except BaseException as error:
                    raised.append(error)
                    stop.request()

            def relay(path: Path, received: int, total: int | None, /) -> None:
                loop.call_soon_threadsafe(tell, path, received, total)

            fetch = dataclasses.replace(fetch, progress=relay)
        blocking = SyncPerformer(self._files(), self._connection)
        attempt = _in_thread(functools.partial(blocking._fetch_once, fetch, part, stop))
        try:
            step = await asyncio.shield(attempt)
        except asyncio.CancelledError:
            stop.request()
            await asyncio.wait([attempt])
            if not attempt.cancelled():
                attempt.exception()  # retrieved: the cancellation is what the caller learns
            raise
        except Exception:
            if raised:  # the transfer was stopped for it (told before the attempt ended)
                raise raised[0] from None
            raise
        if raised:
            raise raised[0]
        return step

    async def _fetch_once(self, fetch: Fetch, part: PartFile) -> Step:
        plan = fetch.plan
        request = self._connection.file_request(self._http, plan)
        try:
            response = await self._http.send(request, stream=True, follow_redirects=True)
            try:
                decision = plan.on_head(
                    response.status_code, response.headers, final_url=str(response.url)
                )
                if decision.step is Step.WRITE:
                    decision = await self._write(fetch, part, decision.start, response)
            finally:
                await response.aclose()
        except httpx.TransportError as error:
            decision = plan.on_interrupted(error)
        except httpx.HTTPError as error:  # a redirect loop: the link is broken
            decision = plan.on_broken(error)
        return _conclude(plan, decision)

    async def _write(
        self, fetch: Fetch, part: PartFile, start: int, response: httpx.Response
    ) -> Decision:
        await asyncio.to_thread(part.open, start)
        ended: Decision | None = None
        chunks = response.aiter_bytes() if fetch.plan.decode else response.aiter_raw()
        try:
            async for chunk in chunks:
                if (stored := await part.awrite(chunk)) and (
                    failed := _written(fetch, stored)
                ) is not None:
                    return failed
        except httpx.DecodingError as error:
            return _undecodable(fetch.plan, error)
        except httpx.TransportError as error:
            ended = fetch.plan.on_interrupted(error)
        finally:
            rest = await asyncio.to_thread(part.close)
        return _ended(fetch, start, rest, ended)
