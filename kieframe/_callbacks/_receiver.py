"""The callback receiver: a raw ASGI 3 application that verifies, deduplicates and acknowledges.

The request path only reads the body, verifies it and queues the record (well under a
millisecond of CPU: kie.ai waits 15 s at most); with a spool, the queue is a file and the answer
waits for the group commit that puts the record on disk (:mod:`._spool`). Worker tasks on the
serving loop re-read the record from kie.ai, within the client's read budget, pass it to the hub
(waking the waits) and run the user's handler. The queue is sized to hold any burst the machine
can: a burst is answered at once and worked off at the pace of the read budget.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from .._client import AsyncClient, Client
from .._config import resolve_database_url
from .._envelope import is_not_visible
from .._errors import APIError, CallbackError, CallbackTooLargeError, KieError, NotFoundError
from .._journal import SqlJournal, callback_token, record_token
from .._postgres._backend import backend_from_url
from .._records import TaskRecord
from ._hub import CallbackHub
from ._spool import Spool
from ._verify import DEFAULT_MAX_BODY_SIZE, DEFAULT_TOLERANCE, HmacKeys, Verifier, key_list

__all__ = ["CallbackClaims", "CallbackHandler", "CallbackReceiver", "ReceiverStats"]

logger = logging.getLogger("kieframe")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class CallbackHandler(Protocol):
    """Called once per finished task with its (re-read) record; may be sync or ``async``.

    A sync handler runs in a worker thread, so it may block; an async one runs on the loop that
    serves the receiver.
    """

    def __call__(self, record: TaskRecord, /) -> Awaitable[None] | None: ...


class CallbackClaims(Protocol):
    """Handled callbacks shared by several receivers (behind one load balancer, say)."""

    def claim(self, task_id: str, state: str, /) -> bool:
        """Claim the handling of ``task_id`` reaching ``state``; False if it was claimed."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiverStats:
    """What a receiver has seen so far.

    ``accepted`` callbacks were queued for work and ``duplicates`` acknowledged without work;
    ``refused`` counts the others by HTTP status. Of the accepted ones, ``delivered`` reached the
    hub (and the handler), ``unknown`` named a task kie.ai does not know, ``unconfirmed`` claimed
    a state that the re-read did not show, and ``errors`` failed in the re-read or the handler.
    """

    accepted: int = 0
    duplicates: int = 0
    refused: Mapping[int, int]
    delivered: int = 0
    unknown: int = 0
    unconfirmed: int = 0
    errors: int = 0


_COUNTERS = ("accepted", "duplicates", "delivered", "unknown", "unconfirmed", "errors")


class CallbackReceiver:
    """An ASGI application receiving kie.ai's task callbacks; mount it anywhere, or serve it.

    Each POST is verified (see :func:`~kieframe.verify_callback`; ``hmac_key`` is one key or
    several during a rotation) and answered at once: 200 when accepted (also for a duplicate),
    401 for a bad or missing signature, 400 for a stale or malformed one, 413 when too large,
    405 for another method, and 503 only when ``queue_size`` accepted callbacks still wait for
    work (far more than any burst kie.ai sends) or the spool cannot be written. Work happens off
    the request path, on ``workers`` tasks of the serving loop: the same task and final state is
    handled once (the last ``dedupe_capacity`` are remembered); with ``reread`` (the default) the
    record is read again from kie.ai through ``client``, within its read budget
    (:class:`~kieframe.RateLimits`), before it is trusted, because kie.ai does not sign the body;
    then it goes to :attr:`hub` (waking ``wait()`` calls) and to ``handler``. kie.ai may show the
    end in recordInfo only after its callback: a re-read that does not show it yet is made again
    after each of ``reread_pauses`` (seconds); if none does, or a re-read fails, the callback's
    record goes to the hub unconfirmed, and the waits of its task read it themselves, on kie.ai's
    polling schedule from then on. A handler that
    raises is logged and counted in :attr:`ReceiverStats.errors`; the record has reached the hub,
    and the other callbacks go on.

    Without a ``client``, records reach the hub unconfirmed and each wait re-reads its own task;
    a ``handler`` then needs a ``client`` (or ``reread=False``). An :class:`~kieframe.AsyncClient`
    must belong to the loop that serves the receiver; a :class:`~kieframe.Client` works from any.
    With ``claims`` (shared by every receiver, such as the PostgreSQL backend's), a record is
    passed on and handled by the one receiver that claims its task and state first. A callback
    whose URL names its submission (``kieframe_submission``, added by the client that sent the
    create) settles that create in the journal (the ``client``'s, else the database's) if its
    answer was lost: the entry becomes ``accepted`` with the task id.
    ``database_url`` (default ``$KIEFRAME_DATABASE_URL``) names a PostgreSQL database shared with
    the clients: then the hub and the claims default to its (see the PostgreSQL guide).

    Accepted callbacks wait for work in memory, unless ``spool`` names a file (SQLite, created if
    missing): then a callback is answered 200 only once it is on disk (callbacks arriving together
    share one commit), and a receiver started on the same file handles the callbacks that an
    earlier one acknowledged but did not handle (it was killed, say). One receiver per file.
    Each commit is flushed to the disk; with ``spool_fsync=False`` it is only handed to the
    operating system (it survives the process being killed, not a power cut): faster, since a
    burst's acknowledgements no longer wait for the disk.
    """

    def __init__(
        self,
        *,
        hmac_key: HmacKeys = None,
        client: Client | AsyncClient | None = None,
        handler: CallbackHandler | None = None,
        hub: CallbackHub | None = None,
        reread: bool = True,
        tolerance: float = DEFAULT_TOLERANCE,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        dedupe_capacity: int = 100_000,
        workers: int = 8,
        queue_size: int = 100_000,
        claims: CallbackClaims | None = None,
        database_url: str | None = None,
        spool: str | os.PathLike[str] | None = None,
        spool_fsync: bool = True,
        reread_pauses: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0),
    ) -> None:
        if handler is not None and reread and client is None:
            raise ValueError(
                "a handler is given trusted records only: pass client=... so the receiver can "
                "re-read each task from kie.ai, or reread=False to trust callback bodies"
            )
        if workers < 1 or queue_size < 1 or dedupe_capacity < 1:
            raise ValueError("workers, queue_size and dedupe_capacity must be at least 1")
        journal = client.journal if client is not None else None
        url = resolve_database_url(database_url)
        if url:  # one database for every receiver and client: see docs/guide/postgres.md
            backend = backend_from_url(url)
            hub = hub if hub is not None else backend.hub
            claims = claims if claims is not None else backend.claims
            journal = journal if isinstance(journal, SqlJournal) else backend.journal
        self._journal = journal if isinstance(journal, SqlJournal) else None
        # The submission token of each queued callback's URL, by (task, state), until handled.
        self._tokens: dict[tuple[str, str], str] = {}
        self.hub = hub if hub is not None else CallbackHub()
        self.reread = reread
        self._client = client
        self._pauses = tuple(reread_pauses)
        self._handler = handler
        self._claims = claims
        self._verifier = Verifier(
            key_list(hmac_key), tolerance=tolerance, max_body_size=max_body_size
        )
        self._dedupe_capacity = dedupe_capacity
        self._worker_count = workers
        self._queue_size = queue_size
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._counts = dict.fromkeys(_COUNTERS, 0)
        self._refused: dict[int, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[int, TaskRecord]] | None = None
        self._spool = None if spool is None else Spool(spool, self._queued, fsync=spool_fsync)
        self._pending = 0  # accepted, not handled yet
        self._workers: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        signed = "signed" if self._verifier.keys else "unsigned"
        return f"<CallbackReceiver {signed} reread={self.reread} {self.hub!r}>"

    @property
    def stats(self) -> ReceiverStats:
        """A snapshot of the counters."""
        with self._lock:
            return ReceiverStats(refused=dict(self._refused), **self._counts)

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    # -- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI 3 entry point."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"the callback receiver serves HTTP, not {scope['type']!r}")
        if scope["method"] == "POST":
            status, answer = await self._accept(scope, receive)
        else:
            status, answer = 405, {"error": "callbacks are POSTed"}
        if status != 200:
            with self._lock:
                self._refused[status] = self._refused.get(status, 0) + 1
        await _respond(send, status, answer, allow="POST" if status == 405 else "")

    async def _accept(self, scope: Scope, receive: Receive) -> tuple[int, dict[str, Any]]:
        try:
            body = await self._read_body(scope, receive)
            record = self._verifier.verify(scope["headers"], body)
        except CallbackError as error:
            logger.warning("refused a callback (HTTP %d): %s", error.status, error)
            return error.status, {"error": error.message}
        key = (record.task_id, str(record.state))
        with self._lock:
            duplicate = key in self._seen
            if not duplicate:
                self._seen[key] = None
                while len(self._seen) > self._dedupe_capacity:
                    self._seen.popitem(last=False)
        if duplicate:
            self._count("duplicates")
            logger.debug("duplicate callback for task %s (%s)", *key)
            return 200, {"ok": True, "duplicate": True}
        self._start()
        if self._pending >= self._queue_size:
            self._forget(key)
            logger.warning("callback queue full; refused the callback of task %s", record.task_id)
            return 503, {"error": "busy; send again later"}
        self._pending += 1
        if (token := callback_token(scope.get("query_string", b""))) is not None:
            with self._lock:
                self._tokens[key] = token
        if self._spool is None:
            self._queued(0, record)
        else:
            try:
                await self._spool.add(record)
            except OSError:
                self._pending -= 1
                self._forget(key)
                with self._lock:
                    self._tokens.pop(key, None)
                return 503, {"error": "cannot queue the callback; send again later"}
        self._count("accepted")
        return 200, {"ok": True, "duplicate": False}

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self._verifier.max_body_size
        for name, value in scope["headers"]:
            if name.lower() == b"content-length" and value.isdigit() and int(value) > limit:
                raise CallbackTooLargeError(f"callback body over the limit of {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise CallbackTooLargeError(f"callback body over the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self._start()
                except OSError as error:
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- work off the request path ------------------------------------------------------------

    def _start(self) -> None:
        """Start the work queue and its workers on the running loop (on first use).

        With a spool, the callbacks it holds from an earlier run are queued first.
        """
        loop = asyncio.get_running_loop()
        if self._queue is not None and self._loop is loop:
            return
        left = [] if self._spool is None else self._spool.open()
        self._loop = loop
        self._queue = asyncio.Queue()
        self._pending = 0
        self._workers = {
            loop.create_task(self._work(self._queue), name=f"kieframe-callbacks-{n}")
            for n in range(self._worker_count)
        }
        if left:
            logger.info("handling %d callbacks left in the spool", len(left))
            for seq, record in left:
                with self._lock:
                    self._seen[(record.task_id, str(record.state))] = None
                self._pending += 1
                self._queued(seq, record)

    def _queued(self, seq: int, record: TaskRecord) -> None:
        """Queue an accepted record for work (``seq`` is its number in the spool, or 0)."""
        assert self._queue is not None
        self._queue.put_nowait((seq, record))

    async def aclose(self, *, grace: float = 10.0) -> None:
        """Finish the queued work (for up to ``grace`` seconds), then stop the workers."""
        queue, workers = self._queue, self._workers
        if queue is None or self._loop is not asyncio.get_running_loop():
            return
        try:
            await asyncio.wait_for(queue.join(), grace)
        except TimeoutError:
            logger.warning("%d callbacks were still queued at shutdown", queue.qsize())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if self._spool is not None:  # what was not handled stays on disk for the next start
            await self._spool.close()
        self._queue, self._loop, self._workers = None, None, set()

    async def _work(self, queue: asyncio.Queue[tuple[int, TaskRecord]]) -> None:
        while True:
            seq, record = await queue.get()
            handled = False
            try:
                await self._process(record)
                handled = True
            except Exception:
                handled = True
                self._count("errors")
                logger.exception("handling the callback of task %s failed", record.task_id)
            finally:  # cancelled at shutdown: the record stays in the spool
                self._pending -= 1
                if handled and seq and self._spool is not None:
                    self._spool.done(seq)
                queue.task_done()

    def _forget(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._seen.pop(key, None)

    async def _process(self, claimed: TaskRecord) -> None:
        key = (claimed.task_id, str(claimed.state))
        with self._lock:
            token = self._tokens.pop(key, None)
        record, confirmed = claimed, not self.reread
        if not self.reread and not claimed.finished:  # a body that says the task still runs
            self._forget(key)
            self._count("unconfirmed")
            logger.warning(
                "callback for task %s says %s, not finished: not handled; its waits read again",
                claimed.task_id,
                claimed.state,
            )
            await self.hub.deliver_async(claimed, confirmed=False)
            return
        if self.reread and self._client is not None:
            try:
                record = await _reread(self._client, claimed.task_id, self._pauses)
            except APIError as error:
                if isinstance(error, NotFoundError) or is_not_visible(error):
                    self._forget(key)
                    self._count("unknown")
                    logger.warning("callback for task %s, which kie.ai does not know", key[0])
                    return
                await self._unread(claimed, key, error)
                return
            except Exception as error:  # any failure (a client on another loop): waits re-read
                await self._unread(claimed, key, error)
                return
            if not record.finished:
                self._forget(key)
                self._count("unconfirmed")
                logger.warning(
                    "callback for task %s says %s, but kie.ai still says %s: its waits read again",
                    claimed.task_id,
                    claimed.state,
                    record.state,
                )
                await self.hub.deliver_async(claimed, confirmed=False)
                return
            if self._verifier.keys:  # a signed body: its credits (not in the re-read) too
                record = _with_callback_credits(record, claimed)
            confirmed = True
        if self._claims is not None:
            try:
                first = await asyncio.to_thread(self._claims.claim, *key)
            except KieError as error:
                await self._unread(claimed, key, error)
                return
            if not first:
                self._count("duplicates")
                logger.debug("callback for task %s (%s) handled by another receiver", *key)
                return
        token = token or record_token(record.param)  # kie.ai echoes the create's callback URL
        if token is not None and self._journal is not None:
            await self._settle(self._journal, token, record.task_id)
        await self.hub.deliver_async(record, confirmed=confirmed)  # a database's: off the loop
        self._count("delivered")
        if self._handler is not None:
            await _call(self._handler, record)

    async def _settle(self, journal: SqlJournal, token: str, task_id: str) -> None:
        """Settle the create the callback names, if its answer was lost (off the loop)."""
        try:
            await asyncio.to_thread(journal.settle_callback, token, task_id=task_id)
        except Exception as error:  # the entry stays to reconcile by hand
            logger.warning(
                "could not settle the create of task %s in the journal: %s", task_id, error
            )

    async def _unread(self, claimed: TaskRecord, key: tuple[str, str], error: Exception) -> None:
        """The re-read failed: the waits re-read themselves, and a redelivery counts as new."""
        self._forget(key)
        self._count("errors")
        await self.hub.deliver_async(claimed, confirmed=False)
        hint = ""
        if isinstance(self._client, AsyncClient) and not isinstance(error, KieError):
            hint = " (an AsyncClient must belong to the loop that serves the receiver)"
        logger.warning(
            "could not re-read task %s after its callback: %s%s", claimed.task_id, error, hint
        )


def _with_callback_credits(record: TaskRecord, claimed: TaskRecord) -> TaskRecord:
    """The re-read ``record`` with the credits only the callback carries, if it confirms it.

    kie.ai's recordInfo has no ``consumeCredits``/``remainedCredits``; its callbacks do.
    """
    if record.state != claimed.state:
        return record
    consumed = record.credits_consumed
    remaining = record.credits_remaining
    if consumed is None:
        consumed = claimed.credits_consumed
    if remaining is None:
        remaining = claimed.credits_remaining
    return replace(record, credits_consumed=consumed, credits_remaining=remaining)


async def _reread(
    client: Client | AsyncClient, task_id: str, pauses: tuple[float, ...]
) -> TaskRecord:
    """The task's record, read again after each pause while it does not show the end yet.

    "recordInfo is null" (kie.ai not showing the task yet) is read again too; after the last
    pause it stands: the task is unknown.
    """
    for pause in pauses:
        try:
            record = await _read(client, task_id)
        except APIError as error:
            if not is_not_visible(error):
                raise
        else:
            if record.finished:
                return record
        await asyncio.sleep(pause)
    return await _read(client, task_id)  # the last word, whatever it says


async def _read(client: Client | AsyncClient, task_id: str) -> TaskRecord:
    if isinstance(client, AsyncClient):
        return await client.get(task_id)
    return await asyncio.to_thread(client.get, task_id)


async def _call(handler: CallbackHandler, record: TaskRecord) -> None:
    """Await an async handler on this loop; run a sync one in a thread."""
    if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an object with an async __call__
    ):
        outcome = handler(record)
    else:
        outcome = await asyncio.to_thread(handler, record)
    if inspect.isawaitable(outcome):
        await outcome


async def _respond(send: Send, status: int, answer: Mapping[str, Any], *, allow: str = "") -> None:
    body = json.dumps(answer).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if allow:
        headers.append((b"allow", allow.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
