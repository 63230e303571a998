"""``run_async``: a batch run from its options, and what it holds while the runner works.

It opens the batch's state (a SQLite file, or a batch in PostgreSQL), the callback receiver
(settling uncertain lines) and the client (with the journal hook), keeps the worker's lease
alive, runs the :class:`~._runner.Runner`, and writes the manifest however the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .._arguments import check_path_or
from .._client import AsyncClient, Client
from .._plural import counted
from .._registry import Registry, default_registry
from ..callbacks import CallbackHub, CallbackReceiver, CallbackServer
from ..errors import BatchCancelled
from ..lifecycle import PollPlan, RateLimits
from ._journal import LineJournal
from ._manifest import reconcile_list, records, snapshot, write_manifest
from ._plan import Preview
from ._records import BatchStatus, LineRecord, Reconcile
from ._runner import RETRY, Options, RetryClass, Runner
from ._settle import settle_handler
from ._store import STATE_FILE, BatchStore, DryRunStore, SQLiteBatchStore

if TYPE_CHECKING:
    from .._postgres._batch import PostgresBatchStore

__all__ = [
    "STATE_FILE",
    "BatchCancelled",
    "BatchResult",
    "batch_name",
    "database_url",
    "open_postgres",
    "run_async",
]

logger = logging.getLogger("kieframe")

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchResult:
    """What a batch run returns: every line's record (as in the manifest) and the totals.

    ``not_retried`` counts, per retry class asked for (``"failed"``...), the lines of that class
    the run left where they were: another worker of the batch holds them by a lease that has not
    lapsed (it is running, or it stopped less than its lease ago). A run started with the same
    retry once that lease has lapsed sends them (:meth:`notes` says so in words).
    """

    records: tuple[LineRecord, ...]
    status: BatchStatus
    preview: Preview
    reconcile: tuple[Reconcile, ...] = ()
    not_retried: Mapping[str, int] = field(default_factory=dict)

    @property
    def all_succeeded(self) -> bool:
        """Whether every line succeeded."""
        return self.status.all_succeeded

    def notes(self) -> list[str]:
        """What people should know of the run beyond its counts (lines not retried), in words."""
        return [
            f"{counted(count, name.replace('_', ' ') + ' line')} not retried:"
            f" another worker's lease on {'it' if count == 1 else 'them'} has not lapsed (it is"
            " running, or it stopped less than its lease ago); run again with the same retry"
            " once that lease has lapsed"
            for name, count in sorted(self.not_retried.items())
            if count
        ]


async def run_async(
    source: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    state: str | os.PathLike[str] | BatchStore | None = None,
    model: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    upload_base_url: str | None = None,
    registry: Registry | None = None,
    poll: PollPlan | None = None,
    rate_limits: RateLimits | None = None,
    callback_url: str | None = None,
    listen: tuple[str, int] | None = None,
    hmac_key: str | None = None,
    watchdog: float | None = None,
    settle_timeout: float | None = None,
    skip_invalid: bool = False,
    replace: bool = False,
    retry: Collection[RetryClass] = (),
    dry_run: bool = False,
    confirm: Callable[[Preview], bool] | None = None,
    on_preview: Callable[[Preview], None] | None = None,
    on_progress: Callable[[BatchStatus], None] | None = None,
    progress_every: float = 2.0,
    concurrency: int = 8,
    upload_cache: str | os.PathLike[str] | None = None,
    batch: str | None = None,
    lease: float = 30.0,
    db_outage_timeout: float = 180.0,
    maintenance_timeout: float = 900.0,
) -> BatchResult:
    """Run (or resume) the batch in ``source`` (``.jsonl`` or ``.csv``) into the folder ``out``.

    Every line is validated first; problems raise :class:`BatchInvalid` with their line numbers
    (``skip_invalid`` records them as ``invalid`` and runs the others). A line id already in the
    batch with another input raises :class:`BatchConflict` unless ``replace``. Then the balance
    is read and a :class:`Preview` (time floor from the create budget, wait mode, balance) goes
    to ``on_preview``; ``dry_run`` stops there, having written nothing (it reads the batch's
    state, adds the lines to a copy in memory, and serves no callbacks: the preview, and the
    result's records, are what the run would start from); ``confirm(preview)`` returning False
    raises :class:`BatchCancelled` before anything is paid.

    The client options (``api_key``, ``base_url``, ``upload_base_url``, ``registry``, ``poll``,
    ``rate_limits``, ``upload_cache``) are those of :class:`~kieframe.AsyncClient`; the upload
    cache defaults to a file in ``out``. ``callback_url`` (kie.ai's route to a receiver that
    this batch serves on ``listen``, by default loopback on the URL's port; ``listen`` alone
    serves on loopback and sends that address) makes waits resolve by callback, settles
    uncertain creates from their callbacks (for up to ``settle_timeout`` seconds at the end),
    and lets creates run at the full budget; ``hmac_key`` checks signatures, ``watchdog`` is
    the poll interval behind callbacks. Without callbacks, when polling cannot follow the full
    create rate, a create waits until fewer tasks are being polled than the read budget can
    follow (``Preview.in_flight``). ``retry`` names classes of lines to send (or download)
    again: ``"failed"`` (pays again), ``"rejected"``, ``"download_failed"``. ``on_progress``
    gets a :class:`BatchStatus` every ``progress_every`` seconds; up to ``concurrency`` creates
    are in flight at once. A create kie.ai refuses because it is under maintenance (455:
    nothing was paid), or an upload of a line's local file it so refuses past the upload's own
    retries, puts its line back in the queue, and creates pause (``Retry-After``, else the
    create window, doubled each time up to a minute); once kie.ai has refused them for
    ``maintenance_timeout`` seconds the batch stops sending, as when credits run out, and
    leaves the lines ``pending`` for the next run. An upload rate-limited (429) past its
    retries puts its line back too, after the create window, like a create.

    ``state`` is where the batch's state lives: a SQLite file (default ``out/batch.sqlite3``;
    one runner at a time), a ``postgresql://`` URL (the batch ``batch``, by default named
    after the output folder, run by as many cooperating workers as are started, on any
    machines, sharing its lines, the account's budgets and the upload cache through the
    database; each worker holds a lease of ``lease`` seconds, renewed while it runs, and the
    lines of a worker whose lease ran out are taken over), or a :class:`BatchStore`. A worker
    on a database rides out its outages: no create leaves while it is away, and every other
    statement is tried again until it has been away ``db_outage_timeout`` seconds; then
    :class:`~kieframe.errors.DatabaseUnavailable` ends the run (run it again to resume).
    """
    unknown = set(retry) - set(RETRY)
    if unknown:
        raise ValueError(f"unknown retry classes {sorted(unknown)}; choose from {sorted(RETRY)}")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if lease <= 0:
        raise ValueError("lease must be positive")
    if db_outage_timeout < 0:
        raise ValueError("db_outage_timeout cannot be negative")
    if maintenance_timeout < 0:
        raise ValueError("maintenance_timeout cannot be negative")
    check_path_or("state", state, BatchStore, "a database URL or a kieframe.batch.BatchStore")
    folder = Path(out)
    if not dry_run:  # a dry run writes nothing, not even the output folder
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    registry = registry or default_registry()
    limits = rate_limits or RateLimits()
    wake = threading.Event()  # the runner's: lines may have come its way
    async with contextlib.AsyncExitStack() as stack:
        database = database_url(state)
        store: BatchStore
        if dry_run:  # the state read into memory: the run's preview, nothing written
            store = stack.enter_context(_dry_store(state, folder, batch, db_outage_timeout))
        elif isinstance(state, BatchStore):  # the caller's: the caller closes it
            store = state
        else:
            store = _open_store(state, folder, batch, db_outage_timeout)
            stack.callback(store.close)
        receiver = None
        if dry_run and (listen is not None or callback_url is not None):
            host, port = listen or _listen_default(callback_url)  # served by the run, not this
            callback_url = callback_url or f"http://{host}:{port}/kieframe"
        elif listen is not None or callback_url is not None:
            reader = stack.enter_context(
                Client(api_key, base_url=base_url, upload_base_url=upload_base_url,
                       registry=registry, rate_limits=limits, database_url=database)
            )  # fmt: skip
            hub = _hub(database, watchdog, stack)
            receiver = CallbackReceiver(
                hmac_key=hmac_key,
                client=reader,
                handler=settle_handler(store, on_settled=lambda _line: wake.set()),
                hub=hub,
                database_url=database,
            )
            host, port = listen or _listen_default(callback_url)
            server = stack.enter_context(CallbackServer(receiver, host=host, port=port))
            callback_url = callback_url or f"{server.url}/kieframe"
        client = await stack.enter_async_context(
            AsyncClient(
                api_key,
                base_url=base_url,
                upload_base_url=upload_base_url,
                registry=registry,
                poll=poll,
                rate_limits=limits,
                callbacks=receiver,
                journal=LineJournal(store),
                upload_cache=upload_cache or (None if database else folder / ".uploads.json"),
                database_url=database,
            )
        )
        options = Options(
            out=folder, model=model, registry=registry, poll=poll or PollPlan(), limits=limits,
            callback_url=callback_url, skip_invalid=skip_invalid, replace=replace, retry=retry,
            dry_run=dry_run, on_progress=on_progress,
            progress_every=progress_every, concurrency=concurrency,
            settle_timeout=settle_timeout, lease=lease, maintenance_timeout=maintenance_timeout,
        )  # fmt: skip
        runner = Runner(store=store, client=client, options=options, wake=wake)
        if not dry_run:
            beat = _heartbeat(store, runner.owner, lease, wake)
            await asyncio.to_thread(stack.enter_context, beat)
        preview = await runner.preview(source)
        if on_preview is not None:
            on_preview(preview)
        if dry_run:
            return _result(store, folder, preview, write=False)
        if preview.to_send and confirm is not None and not confirm(preview):
            raise BatchCancelled("the batch was not confirmed; nothing was sent")
        not_retried = await runner.retry()
        try:
            await runner.run()
        finally:  # the manifest is written however the run ends
            result = _result(store, folder, preview, write=True, not_retried=not_retried)
        if runner.stop_reason is not None:
            logger.error("the batch stopped sending: %s", runner.stop_reason)
        return result
    raise AssertionError("unreachable")  # pragma: no cover - the exit stack swallows nothing


def _result(
    store: BatchStore,
    folder: Path,
    preview: Preview,
    *,
    write: bool,
    not_retried: Mapping[str, int] | None = None,
) -> BatchResult:
    """The batch's result, read from the store; ``write`` writes the manifest from it.

    Each worker of a shared batch writes it at its end, one at a time, from the state it reads
    then: the last one to finish writes the final manifest.
    """
    with store.manifest_lock() if write else contextlib.nullcontext():
        lines = tuple(records(store))
        status = snapshot(store, running=False)
        if write:
            write_manifest(folder, lines, status)
    return BatchResult(
        records=lines,
        status=status,
        preview=preview,
        reconcile=tuple(reconcile_list(store)),
        not_retried=dict(not_retried or {}),
    )


def database_url(state: object) -> str | None:
    """``state`` if it is a PostgreSQL URL (the batch lives in that database), else None."""
    if isinstance(state, str) and state.startswith(_POSTGRES_SCHEMES):
        return state
    return None


def batch_name(folder: Path, batch: str | None) -> str:
    """The name of a batch in a database: ``batch``, else the output folder's name."""
    return batch or folder.resolve().name


def _open_store(
    state: str | os.PathLike[str] | None, folder: Path, batch: str | None, outage: float
) -> BatchStore:
    """The store of ``state``: a database's batch, or the SQLite file with its run lock held."""
    url = database_url(state)
    if url is not None:
        return open_postgres(url, batch_name(folder, batch), outage_timeout=outage)
    store = SQLiteBatchStore(Path(state) if state is not None else folder / STATE_FILE)
    try:
        store.lock()
    except BaseException:
        store.close()
        raise
    return store


@contextlib.contextmanager
def _dry_store(
    state: str | os.PathLike[str] | BatchStore | None,
    folder: Path,
    batch: str | None,
    outage: float,
) -> Iterator[DryRunStore]:
    """A dry run's store: the batch's state (if it has any yet) copied into memory.

    The state is only read: a SQLite file opened read-only (no run lock: a dry run may look at
    a batch another process is running), a database's batch not made if it does not exist.
    """
    with contextlib.ExitStack() as stack:
        source: BatchStore | None = None
        url = database_url(state)
        if isinstance(state, BatchStore):  # the caller's: the caller closes it
            source = state
        elif url is not None:
            with contextlib.suppress(LookupError):  # no such batch yet: a new one
                source = open_postgres(url, batch_name(folder, batch), create=False,
                                       outage_timeout=outage)  # fmt: skip
                stack.callback(source.close)
        else:
            path = Path(state) if state is not None else folder / STATE_FILE
            if path.is_file():
                source = SQLiteBatchStore(path, readonly=True)
                stack.callback(source.close)
        store = stack.enter_context(contextlib.closing(DryRunStore(source)))
        yield store


def open_postgres(
    url: str, name: str, *, create: bool = True, outage_timeout: float = 0.0
) -> PostgresBatchStore:
    """The batch ``name`` in the database at ``url`` (its schema checked first)."""
    from .._postgres._backend import backend_from_url
    from .._postgres._batch import PostgresBatchStore

    backend = backend_from_url(url)
    backend.check_schema()
    return PostgresBatchStore(
        backend.database, name=name, create=create, outage_timeout=outage_timeout
    )


def _hub(
    database: str | None, watchdog: float | None, stack: contextlib.AsyncExitStack
) -> CallbackHub:
    """The receiver's hub: the database's (waits wake in every worker) or this process's."""
    if database is None:
        return CallbackHub(watchdog=watchdog)
    from .._postgres._backend import backend_from_url
    from .._postgres._callbacks import PostgresCallbackHub

    hub = PostgresCallbackHub(backend_from_url(database).database, watchdog=watchdog)
    stack.callback(hub.close)
    return hub


def _listen_default(callback_url: str | None) -> tuple[str, int]:
    """Where the receiver listens when not told: loopback, on the callback URL's port."""
    parts = urlsplit(callback_url or "")
    return "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)


@contextlib.contextmanager
def _heartbeat(
    store: BatchStore, owner: str, lease: float, lapsed: threading.Event
) -> Iterator[None]:
    """Keep ``owner``'s lease alive (a thread renews it every third of ``lease``), then end it.

    A renewal that fails sets ``lapsed``: the runner then goes to the store itself (which rides
    out the outage, or ends the run), and looks for lines to follow.
    """
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease / 3):
            try:
                store.heartbeat(owner, lease=lease)
            except Exception as error:  # the lease runs out; others take over
                logger.warning("could not renew this worker's lease on the batch: %s", error)
                lapsed.set()

    store.heartbeat(owner, lease=lease)
    thread = threading.Thread(target=beat, name="kieframe-batch-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        try:
            store.heartbeat(owner, lease=0.0)  # its lines are the others' to take at once
        except Exception as error:  # the lease runs out by itself
            logger.warning("could not end this worker's lease on the batch: %s", error)
