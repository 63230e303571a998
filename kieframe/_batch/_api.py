"""The batch API's entry points: run a batch, read its state, settle an uncertain line."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..lifecycle import PollPlan, RateLimits
from ..registry import Registry
from ._manifest import reconcile_list, record, records, snapshot
from ._plan import Preview
from ._records import BatchStatus, LineRecord, LineStatus, Reconcile
from ._run import STATE_FILE, BatchResult, batch_name, database_url, open_postgres, run_async
from ._runner import RetryClass
from ._store import BatchStore, SQLiteBatchStore, is_running

if TYPE_CHECKING:
    from .._postgres._batch import PostgresBatchStore

__all__ = ["read_records", "resolve", "run", "status", "to_reconcile"]


def run(
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
    """Run (or resume) a batch, blocking; the options are those of :func:`run_async`."""
    return asyncio.run(
        run_async(
            source, out=out, state=state, model=model, api_key=api_key, base_url=base_url,
            upload_base_url=upload_base_url, registry=registry, poll=poll,
            rate_limits=rate_limits, callback_url=callback_url, listen=listen,
            hmac_key=hmac_key, watchdog=watchdog, settle_timeout=settle_timeout,
            skip_invalid=skip_invalid, replace=replace, retry=retry, dry_run=dry_run,
            confirm=confirm, on_preview=on_preview, on_progress=on_progress,
            progress_every=progress_every, concurrency=concurrency, upload_cache=upload_cache,
            batch=batch, lease=lease, db_outage_timeout=db_outage_timeout,
            maintenance_timeout=maintenance_timeout,
        )
    )  # fmt: skip


def _state_path(path: str | os.PathLike[str]) -> Path:
    """The state file of a batch: ``path`` itself, or ``batch.sqlite3`` in the folder ``path``."""
    target = Path(path)
    return target / STATE_FILE if target.is_dir() else target


@contextlib.contextmanager
def _reader(
    path: str | os.PathLike[str], state: str | None, batch: str | None
) -> Iterator[tuple[BatchStore, bool]]:
    """The batch's store, read-only for SQLite, and whether a runner is running it."""
    url = database_url(state)
    store: BatchStore
    if url is not None:
        shared = _shared(url, path, batch)
        store, running = shared, shared.live_workers() > 0
    else:
        target = Path(state) if state is not None else _state_path(path)
        if not target.is_file():
            raise FileNotFoundError(f"no batch state at {target}")
        store = SQLiteBatchStore(target, readonly=True)
        running = is_running(target)
    try:
        yield store, running
    finally:
        store.close()


def _shared(url: str, path: str | os.PathLike[str], batch: str | None) -> PostgresBatchStore:
    """The batch of the output folder ``path`` (or named ``batch``) in the database at ``url``."""
    try:
        return open_postgres(url, batch_name(Path(path), batch), create=False)
    except LookupError as error:
        raise FileNotFoundError(str(error)) from None


def status(
    path: str | os.PathLike[str], *, state: str | None = None, batch: str | None = None
) -> BatchStatus:
    """The status of the batch whose output folder (or state file) is ``path``; read-only.

    Works while the batch runs in another process. ``state`` and ``batch`` are those given to
    :func:`run` (for a batch in a database: its URL, and the batch's name if not the folder's).
    """
    with _reader(path, state, batch) as (store, running):
        return snapshot(store, running=running)


def read_records(
    path: str | os.PathLike[str], *, state: str | None = None, batch: str | None = None
) -> list[LineRecord]:
    """Every line's record (as in the manifest) of the batch at ``path``; read-only."""
    with _reader(path, state, batch) as (store, _):
        return records(store)


def to_reconcile(
    path: str | os.PathLike[str], *, state: str | None = None, batch: str | None = None
) -> list[Reconcile]:
    """The creates of the batch at ``path`` that may have made a task: what was sent and when."""
    with _reader(path, state, batch) as (store, _):
        return reconcile_list(store)


def resolve(
    path: str | os.PathLike[str],
    line_id: str,
    *,
    task_id: str | None,
    state: str | None = None,
    batch: str | None = None,
) -> LineRecord:
    """Settle an ``uncertain`` line by hand, after checking kie.ai (for example its dashboard).

    ``task_id`` is the task found for the line (it becomes ``accepted``, and the next run waits
    for and downloads it), or None when there is none (it becomes ``pending`` and is sent by
    the next run). A batch in a database may be running meanwhile: its workers pick the line up.
    """
    url = database_url(state)
    store: BatchStore
    if url is not None:
        store = _shared(url, path, batch)
    else:
        target = Path(state) if state is not None else _state_path(path)
        if not target.is_file():
            raise FileNotFoundError(f"no batch state at {target}")
        store = sqlite = SQLiteBatchStore(target)
    try:
        if url is None:
            sqlite.lock()
        if task_id is None:
            line = store.transition(
                line_id,
                expect=LineStatus.UNCERTAIN,
                to=LineStatus.PENDING,
                error=None,
                sent_at=None,
            )
        else:
            line = store.transition(
                line_id,
                expect=LineStatus.UNCERTAIN,
                to=LineStatus.ACCEPTED,
                task_id=task_id,
                error=None,
            )
        return record(line)
    finally:
        store.close()
