"""Running a batch: claim, send, wait, download, one fenced transition at a time.

The rules live here, not in the command: a line is marked ``sending`` (durably) just before its
create leaves (after its local files are uploaded), through the client's journal hook; a line
left ``sending`` by a dead runner becomes ``uncertain`` and is never resent on its own; an
``uncertain`` line is settled when a callback names its submission (kie.ai echoes the create's
``callBackUrl``, query string included, in the record's ``param``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .._client import AsyncClient, Client
from .._files._names import safe_component
from .._records import Task, TaskRecord
from .._registry import Registry, default_registry
from ..callbacks import CallbackHub, CallbackReceiver, CallbackServer
from ..errors import (
    AuthenticationError,
    DatabaseUnavailable,
    DownloadError,
    InputValidationError,
    InsufficientCreditsError,
    KieError,
    RateLimitError,
    SubmissionUncertain,
    TaskFailed,
    WaitTimeout,
)
from ..lifecycle import PollPlan, RateLimits
from ._lines import BatchInvalid, LineProblem, read_lines, submit_input
from ._manifest import reconcile_list, records, snapshot, write_manifest
from ._plan import Preview, WaitMode, rates
from ._records import BatchStatus, FileEntry, LineError, LineRecord, LineStatus, Reconcile
from ._store import BatchStore, SQLiteBatchStore, StaleTransition, StoredLine, fail_fast

if TYPE_CHECKING:
    from .._postgres._batch import PostgresBatchStore

__all__ = [
    "STATE_FILE",
    "SUBMISSION_PARAM",
    "BatchCancelled",
    "BatchConflict",
    "BatchResult",
    "RetryClass",
    "run_async",
    "settle_handler",
]

logger = logging.getLogger("kieframe")

#: The state file's name in the output folder.
STATE_FILE = "batch.sqlite3"
#: The query parameter of the callback URL that carries a line's submission id.
SUBMISSION_PARAM = "kieframe_submission"
_PARTS = ".parts"
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_LEASE = 600.0  # a claim covers uploads only: generous, as it is never held across a send

RetryClass = str  # "failed", "rejected", "download_failed"
_RETRY = {
    "failed": (LineStatus.FAILED, LineStatus.PENDING),
    "rejected": (LineStatus.REJECTED, LineStatus.PENDING),
    "download_failed": (LineStatus.DOWNLOAD_FAILED, LineStatus.DOWNLOADING),
}


class BatchConflict(KieError, ValueError):
    """Lines already in the batch came back with a different input; ``ids`` names them."""

    def __init__(self, ids: Collection[str]) -> None:
        self.ids = tuple(ids)
        shown = ", ".join(self.ids[:10]) + (" ..." if len(self.ids) > 10 else "")
        super().__init__(
            f"{len(self.ids)} line ids are already in the batch with a different input ({shown});"
            " use another --out/--state, or --replace to send the new inputs (lines in flight"
            " are never replaced)"
        )


class BatchCancelled(KieError):
    """The batch was not confirmed, so nothing was paid."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchResult:
    """What a batch run returns: every line's record (as in the manifest) and the totals."""

    records: tuple[LineRecord, ...]
    status: BatchStatus
    preview: Preview
    reconcile: tuple[Reconcile, ...] = ()

    @property
    def all_succeeded(self) -> bool:
        """Whether every line succeeded."""
        return self.status.all_succeeded


# -- the journal hook: "sending" is written right before the create leaves ----------------------


@dataclass(slots=True)
class _Claim:
    line: str
    owner: str
    callback_url: str | None
    sent: bool = False


_claim: contextvars.ContextVar[_Claim] = contextvars.ContextVar("kieframe_batch_claim")


class _LineJournal:
    """The client's journal (a :class:`~kieframe.SubmissionLog`) writing to the batch store.

    The client calls it from the line's own task (or a thread copied from its context), so the
    line is found in a context variable. Outcomes other than acceptance are written by the runner,
    which knows the error; an interrupted create stays ``sending`` and becomes ``uncertain``.
    """

    def __init__(self, store: BatchStore) -> None:
        self._store = store

    def begin(self, *, model: str, input: Mapping[str, Any], host: str | None = None) -> int:
        claim = _claim.get()
        with fail_fast():  # a create leaves now or not at all: never after an outage
            self._store.transition(
                claim.line,
                expect=LineStatus.CLAIMED,
                to=LineStatus.SENDING,
                owner=claim.owner,
                sent_input=dict(input),
                sent_at=time.time(),
                callback_url=claim.callback_url,
            )
        claim.sent = True
        return 0

    def accepted(self, entry: int, *, task_id: str) -> None:
        claim = _claim.get()
        try:
            self._store.transition(
                claim.line,
                expect=LineStatus.SENDING,
                to=LineStatus.ACCEPTED,
                owner=claim.owner,
                task_id=task_id,
            )
        except StaleTransition as stale:  # its callback settled it first, or the lease ran
            logger.info("%s", stale)  # out: the runner settles it with the task id if need be

    def rejected(self, entry: int, *, reason: str) -> None:
        """Written by the runner, with the typed error."""

    def uncertain(self, entry: int, *, reason: str) -> None:
        """Written by the runner; an interrupted create stays ``sending`` (then ``uncertain``)."""

    def finished(
        self, task_id: str, *, succeeded: bool, detail: str | None = None, host: str | None = None
    ) -> None:
        """Written by the runner."""


# -- callbacks ----------------------------------------------------------------------------------


def submission_url(callback_url: str, batch_id: str, line_id: str) -> str:
    """``callback_url`` with the line's submission id in its query string."""
    joiner = "&" if urlsplit(callback_url).query else "?"
    return f"{callback_url}{joiner}{urlencode({SUBMISSION_PARAM: f'{batch_id}:{line_id}'})}"


def submission_of(record: TaskRecord) -> tuple[str, str] | None:
    """The (batch id, line id) a task's record names in its echoed ``callBackUrl``, if any."""
    url = (record.param or {}).get("callBackUrl")
    if not isinstance(url, str):
        return None
    values = parse_qs(urlsplit(url).query).get(SUBMISSION_PARAM)
    if not values:
        return None
    batch, sep, line = values[0].partition(":")
    return (batch, line) if sep else None


def settle_handler(
    store: BatchStore, *, on_settled: Callable[[str], None] | None = None
) -> Callable[[TaskRecord], None]:
    """A callback handler settling this batch's ``uncertain`` lines from their callbacks.

    Pass it as ``handler=`` to a :class:`~kieframe.CallbackReceiver` (which re-reads each record
    from kie.ai before the handler sees it). It relies on kie.ai echoing the create's
    ``callBackUrl``, query string included, in the task's ``param``. ``on_settled`` is called
    with the id of each line it settles (the runner then follows the line at once).
    """
    batch_id = store.batch_id

    def settle(record: TaskRecord) -> None:
        found = submission_of(record)
        if found is None or found[0] != batch_id:
            return
        # A line still ``sending`` is settled too: its worker may have died with the create in
        # flight (if it lives, it finds the line accepted when the create's answer comes).
        with contextlib.suppress(StaleTransition):  # settled already: nothing to do
            store.transition(
                found[1],
                expect=(LineStatus.UNCERTAIN, LineStatus.SENDING),
                to=LineStatus.ACCEPTED,
                task_id=record.task_id,
                error=None,
            )
            logger.info("line %s settled by the callback of task %s", found[1], record.task_id)
            if on_settled is not None:
                on_settled(found[1])

    return settle


# -- the runner ---------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class _Options:
    out: Path
    model: str | None
    registry: Registry
    poll: PollPlan
    limits: RateLimits
    callback_url: str | None
    skip_invalid: bool
    replace: bool
    retry: Collection[RetryClass]
    dry_run: bool
    on_progress: Callable[[BatchStatus], None] | None
    progress_every: float
    concurrency: int
    settle_timeout: float | None
    lease: float


@dataclass(slots=True)
class _Runner:
    store: BatchStore
    client: AsyncClient
    options: _Options
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    follows: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    sends: set[asyncio.Task[None]] = field(default_factory=set)
    sending: set[str] = field(default_factory=set)  # ids of lines whose send is running
    wake: threading.Event = field(default_factory=threading.Event)  # look for lines to follow
    stop_reason: str | None = None
    paused_until: float = 0.0
    interval: float = 0.0

    # -- before paying --------------------------------------------------------------------

    async def preview(self, source: str | os.PathLike[str]) -> Preview:
        options = self.options
        lines, problems = await asyncio.to_thread(
            read_lines, source, model=options.model, registry=options.registry
        )
        if problems and not options.skip_invalid:
            raise BatchInvalid(problems)
        changed = await asyncio.to_thread(self.store.add_lines, lines, replace=options.replace)
        if changed:
            raise BatchConflict(changed)
        if not options.dry_run:
            for name in options.retry:
                source_status, target = _RETRY[name]
                await asyncio.to_thread(self.store.requeue, [source_status], to=target)
            await asyncio.to_thread(self.store.recover, self.owner)
        balance = await self.client.credits()
        return self._preview(problems, balance)

    def _preview(self, problems: list[LineProblem], balance: float | None) -> Preview:
        counts = self.store.counts()
        to_send = counts.get(LineStatus.PENDING.value, 0) + counts.get(LineStatus.CLAIMED.value, 0)
        models = sorted({line.model for line in self.store.lines() if line.model})
        typical = max(
            (self._typical(model) for model in models),
            default=120.0,
        )
        mode, rate, needed = rates(
            limits=self.options.limits,
            plan=self.options.poll,
            typical_seconds=typical,
            callbacks=self.options.callback_url is not None,
        )
        limits = self.options.limits
        budget = limits.reads / limits.read_window if limits.reads > 0 else float("inf")
        notes = []
        if mode == WaitMode.CALLBACKS:
            notes.append("polling cannot follow the create rate: waiting for callbacks")
        elif mode == WaitMode.PACED:
            notes.append(
                "polling cannot follow the create rate and there is no callback URL: creates"
                f" slowed to {rate * 60:.0f} per minute (give --callback-url to go faster)"
            )
        self.interval = 1.0 / rate if mode == WaitMode.PACED else 0.0
        _, _, credits = self.store.figures(since=time.time())
        return Preview(
            total=sum(counts.values()),
            to_send=to_send,
            counts=counts,
            problems=tuple(problems),
            reconcile=tuple(reconcile_list(self.store)),
            balance=balance,
            credits_so_far=credits,
            models=tuple(models),
            mode=mode,
            create_rate=rate,
            floor_seconds=to_send / rate if rate > 0 else 0.0,
            reads_needed=needed,
            read_budget=budget,
            notes=tuple(notes),
        )

    def _typical(self, model: str) -> float:
        try:
            return self.options.registry.get_model(model).typical_seconds
        except KieError:
            return 120.0

    # -- running --------------------------------------------------------------------------

    async def run(self) -> None:
        await asyncio.to_thread(self._sweep_parts)
        creating = asyncio.create_task(self._create_all())
        settle_by: float | None = None
        last_progress = next_look = 0.0
        tick = min(0.25, self.options.progress_every)
        try:
            while True:
                now = time.monotonic()
                if self.options.on_progress and now - last_progress >= self.options.progress_every:
                    last_progress = now
                    status = await asyncio.to_thread(snapshot, self.store, running=True)
                    self.options.on_progress(status)  # (a store may wait out a database outage)
                if now >= next_look:  # workers that died: a lapse shows within a heartbeat
                    next_look = now + self.options.lease / 3
                    await asyncio.to_thread(self.store.recover, self.owner)
                    self.wake.set()
                if self.wake.is_set():  # lines may have come this worker's way
                    await self._adopt()
                running = [task for task in (creating, *self.follows.values()) if not task.done()]
                if running:  # until the next tick, or until the last of them ends
                    await asyncio.wait(running, timeout=tick)
                    continue
                creating.result()  # a bug in the create loop surfaces here
                if await asyncio.to_thread(self._more_to_do):
                    creating = asyncio.create_task(self._create_all())
                    await asyncio.sleep(tick)
                    continue
                if await asyncio.to_thread(self._awaiting_settlement):
                    if settle_by is None:
                        settle_by = now + await asyncio.to_thread(self._settle_timeout)
                    if now < settle_by:
                        await asyncio.sleep(tick)
                        continue
                if await self._adopt():  # settled elsewhere since it last looked
                    continue
                break
        finally:
            creating.cancel()
            pending = [creating, *self.sends, *self.follows.values()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for task in self.follows.values():
            task.result()  # surface a bug in a follow (errors of kie.ai are recorded, not raised)

    async def _adopt(self) -> bool:
        """Follow the lines this worker is to follow; whether any was new to it.

        Called when it can matter, not on every tick: at the start, when a callback settled a
        line here, when a move of its own found a line elsewhere, when a follow was dropped, on
        each heartbeat interval (a dead worker's lines: its lease lapses no faster), and before
        the run ends.
        """
        self.wake.clear()
        new = False
        for line in await asyncio.to_thread(self.store.adopt, self.owner):
            if line.id not in self.sending:  # a send in progress follows its own line
                new = new or line.id not in self.follows
                self._follow(line)  # (settled by a callback, retried, a dead worker's)
        return new

    def _more_to_do(self) -> bool:
        """Whether lines may still come this runner's way, once its own work is done.

        Other live workers' lines in progress may come back (if they die); a dead worker's
        claims are back in the queue once recovered.
        """
        if self.stop_reason is not None:
            return False
        if self.store.held_by_others(self.owner):
            return True
        self.store.recover(self.owner)
        for line in self.store.lines([LineStatus.CLAIMED]):
            if line.owner == self.owner:  # none is being sent now: a claim whose answer was
                self._move(  # lost with the database's connection goes back to the queue
                    _Claim(line.id, self.owner, None), LineStatus.CLAIMED, LineStatus.PENDING
                )
        counts = self.store.counts()
        return bool(counts.get(LineStatus.PENDING.value) or counts.get(LineStatus.CLAIMED.value))

    def _sweep_parts(self) -> None:
        """Remove the part folders of succeeded lines.

        A kill can land between a line's success and the removal of its folder, and no later
        run downloads that line again.
        """
        root = self.options.out / _PARTS
        if not root.is_dir():
            return
        left = {folder.name for folder in root.iterdir()}
        for line in self.store.lines([LineStatus.SUCCEEDED]):
            if (name := safe_component(line.id)) in left:
                shutil.rmtree(root / name, ignore_errors=True)

    def _awaiting_settlement(self) -> bool:
        if self.options.callback_url is None:
            return False
        return bool(self.store.lines([LineStatus.UNCERTAIN]))

    def _settle_timeout(self) -> float:
        if self.options.settle_timeout is not None:
            return self.options.settle_timeout
        return max((self._typical(m) for m in self._models()), default=120.0) * 2

    def _models(self) -> set[str]:
        return {line.model for line in self.store.lines([LineStatus.UNCERTAIN]) if line.model}

    async def _create_all(self) -> None:
        slots = asyncio.Semaphore(self.options.concurrency)
        next_at = 0.0
        while self.stop_reason is None:
            await asyncio.sleep(max(self.paused_until - time.monotonic(), 0.0))
            if self.interval:
                next_at = max(next_at + self.interval, time.monotonic())
                await asyncio.sleep(max(next_at - time.monotonic(), 0.0))
            await slots.acquire()
            if self.stop_reason is not None:  # learnt while waiting for a slot
                slots.release()
                break
            line = await asyncio.to_thread(self.store.claim, self.owner, lease=_LEASE)
            if line is None:
                slots.release()
                if not self.sends:
                    return
                await asyncio.wait(set(self.sends), return_when=asyncio.FIRST_COMPLETED)
                continue
            self.sending.add(line.id)
            task = asyncio.create_task(self._send(line, slots))
            self.sends.add(task)
            task.add_done_callback(self.sends.discard)
        if self.sends:
            await asyncio.wait(set(self.sends))

    async def _send(self, line: StoredLine, slots: asyncio.Semaphore) -> None:
        url = self.options.callback_url
        claim = _Claim(
            line.id,
            self.owner,
            submission_url(url, self.store.batch_id, line.id) if url else None,
        )
        _claim.set(claim)  # this task's own context
        try:
            if line.model is None:  # pragma: no cover - invalid lines are never pending
                raise InputValidationError("?", [])
            spec = self.options.registry.get_model(line.model)
            task = await self.client.submit(
                line.model, submit_input(spec, line.input), callback_url=claim.callback_url
            )
        except KieError as error:
            with _database_lost(line.id, None):
                await asyncio.to_thread(self._not_accepted, claim, error)
            self.sending.discard(line.id)
            return
        finally:
            slots.release()
        stored = None
        with _database_lost(line.id, task.task_id):
            stored = await asyncio.to_thread(self._accepted, claim, task.task_id)
        if stored is not None:
            self._follow(stored)
        self.sending.discard(line.id)

    def _accepted(self, claim: _Claim, task_id: str) -> StoredLine | None:
        """The line after its acceptance (the journal hook wrote it; repair if that failed).

        A line made ``uncertain`` meanwhile (this worker's lease ran out while the create was in
        flight) is settled with the task id; a line found elsewhere is left to its holder.
        """
        held = (LineStatus.SENDING, LineStatus.ACCEPTED)  # accepted: the hook's write, as a rule
        for expect, owner in ((held, claim.owner), ((LineStatus.UNCERTAIN,), None)):
            with contextlib.suppress(StaleTransition):
                return self.store.transition(
                    claim.line,
                    expect=expect,
                    to=LineStatus.ACCEPTED,
                    owner=owner,
                    task_id=task_id,
                    error=None,
                )
        logger.warning(
            "line %s: task %s was created, but the line is now elsewhere; its holder settles it"
            " (kieframe batch status shows it)",
            claim.line,
            task_id,
        )
        return None

    def _not_accepted(self, claim: _Claim, error: KieError) -> None:
        """Record why a create did not give a task: nothing is ever resent if it may exist."""
        detail = _error(error)
        if not claim.sent and isinstance(error, DatabaseUnavailable | StaleTransition):
            # The database went away (or this worker's lease with it) before the create could
            # leave: nothing was sent, so the line goes back to the queue. Its ``sending`` may
            # have been written before the connection broke (and made ``uncertain`` by another
            # worker since, if this one's lease ran out): it never left all the same.
            logger.info("line %s not sent: %s", claim.line, error)
            self._move(
                claim,
                (LineStatus.CLAIMED, LineStatus.SENDING, LineStatus.UNCERTAIN),
                LineStatus.PENDING,
                error=None,
                sent_at=None,
            )
            return
        if not claim.sent:  # failed before the create left: uploads, files, validation
            status = (
                LineStatus.INVALID
                if isinstance(error, InputValidationError)
                else LineStatus.REJECTED
            )
            self._move(claim, LineStatus.CLAIMED, status, error=detail)
            return
        if isinstance(error, SubmissionUncertain):
            logger.warning("line %s: the create may have made a task: %s", claim.line, error)
            self._move(claim, LineStatus.SENDING, LineStatus.UNCERTAIN, error=detail)
            return
        if isinstance(error, RateLimitError):  # dropped, not paid: send it again later
            wait = error.retry_after or self.options.limits.create_window
            self.paused_until = max(self.paused_until, time.monotonic() + wait)
            self._move(claim, LineStatus.SENDING, LineStatus.PENDING, error=None, sent_at=None)
            return
        if isinstance(error, InsufficientCreditsError | AuthenticationError):
            self.stop_reason = str(error)
        self._move(claim, LineStatus.SENDING, LineStatus.REJECTED, error=detail)

    def _move(
        self,
        claim: _Claim,
        expect: LineStatus | tuple[LineStatus, ...],
        to: LineStatus,
        **values: Any,
    ) -> None:
        try:
            self.store.transition(claim.line, expect=expect, to=to, owner=claim.owner, **values)
        except StaleTransition as stale:  # a callback settled it first, or a person moved it
            logger.info("%s", stale)
            self.wake.set()  # settled: to follow (it may be this worker's)

    def _follow(self, line: StoredLine) -> None:
        """Wait for and download an accepted line, once per run (a wait that timed out stays)."""
        if line.id not in self.follows:
            self.follows[line.id] = asyncio.create_task(self._finish(line))

    async def _finish(self, line: StoredLine) -> None:
        """Wait for an accepted line's task, then download its files."""
        task_id = line.task_id
        if task_id is None:  # pragma: no cover - accepted lines carry their task id
            return
        try:
            if line.status == LineStatus.ACCEPTED:
                record = await self._wait(line, task_id)
                if record is None:
                    return
            else:
                record = await self.client.get(task_id)  # fresh links for a resumed download
            await self._download(line, record)
        except StaleTransition as stale:  # another worker took the line over (this one's lease
            logger.info("%s", stale)  # ran out), or a person moved it
        except DatabaseUnavailable as error:  # the read budget's database went away: followed
            logger.info("line %s: %s", line.id, error)  # again once it is back (adopt waits)
            del self.follows[line.id]
            self.wake.set()
        except KieError as error:  # kie.ai unreachable: the task stays to collect next time
            logger.warning("line %s (task %s) not collected: %s", line.id, task_id, error)

    async def _wait(self, line: StoredLine, task_id: str) -> TaskRecord | None:
        task = Task(
            task_id=task_id,
            model=line.model or "",
            callback_url=line.callback_url,
            submitted_at=line.sent_at,
        )
        try:
            record = await self.client.wait(task)
        except TaskFailed as failure:
            await self._transition(
                line.id,
                expect=LineStatus.ACCEPTED,
                to=LineStatus.FAILED,
                error=_error(failure, code=failure.fail_code),
                credits=failure.record.credits_consumed,
                finished_at=time.time(),
            )
            return None
        except WaitTimeout:
            logger.warning("line %s: task %s still running; run the batch again", line.id, task_id)
            return None
        await self._transition(
            line.id,
            expect=LineStatus.ACCEPTED,
            to=LineStatus.DOWNLOADING,
            credits=record.credits_consumed,
        )
        return record

    async def _transition(
        self, line_id: str, *, expect: LineStatus, to: LineStatus, **values: Any
    ) -> StoredLine:
        """Move one of this worker's lines (fenced by its owner id), off the event loop."""
        return await asyncio.to_thread(
            self.store.transition, line_id, expect=expect, to=to, owner=self.owner, **values
        )

    async def _download(self, line: StoredLine, record: TaskRecord) -> None:
        out = self.options.out
        folder = out / _PARTS / safe_component(line.id)
        parts = folder / self.owner[:12]  # a worker's own: another may have held the line
        try:
            await asyncio.to_thread(_fresh_folder, parts)
            paths = await self.client.download(record, to=parts)
            # Still this worker's (its lease may have run out while it downloaded, and another
            # worker taken the line over): StaleTransition otherwise, and nothing is placed.
            await self._transition(
                line.id,
                expect=LineStatus.DOWNLOADING,
                to=LineStatus.DOWNLOADING,
            )
            entries = await asyncio.to_thread(_place_files, paths, out, line.id)
        except (DownloadError, OSError) as error:
            detail = _error(error) if isinstance(error, KieError) else _plain_error(error)
            await self._transition(
                line.id,
                expect=LineStatus.DOWNLOADING,
                to=LineStatus.DOWNLOAD_FAILED,
                error=detail,
                finished_at=time.time(),
            )
            return
        await self._transition(
            line.id,
            expect=LineStatus.DOWNLOADING,
            to=LineStatus.SUCCEEDED,
            files=entries,
            bytes=sum(entry.bytes for entry in entries),
            error=None,
            finished_at=time.time(),
        )
        await asyncio.to_thread(shutil.rmtree, folder, True)


@contextlib.contextmanager
def _database_lost(line_id: str, task_id: str | None) -> Iterator[None]:
    """Log, not raise, a line's outcome that the database stayed away too long to record.

    The run ends with the outage (its next statement fails at once); the line stays where it
    was, for the next run (a claim goes back to the queue, a create in flight is uncertain).
    """
    try:
        yield
    except DatabaseUnavailable as error:
        if task_id is None:
            logger.warning("line %s: its outcome was not written down: %s", line_id, error)
        else:
            logger.error(
                "line %s: kie.ai accepted its create as task %s, but the database could not"
                " record it: it will be uncertain, resolve it with that task id",
                line_id,
                task_id,
            )


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


def _fresh_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def _place_files(paths: tuple[Path, ...], out: Path, line_id: str) -> tuple[FileEntry, ...]:
    """Move downloaded files (and their metadata) to ``<line id>-<n><ext>``, atomically."""
    entries = []
    stem = safe_component(line_id)
    for index, path in enumerate(paths, start=1):
        name = f"{stem}-{index}{path.suffix}"
        meta = json.loads(path.with_name(f"{path.name}.json").read_text(encoding="utf-8"))
        meta["line_id"] = line_id
        temporary = out / f".{name}.json.tmp"
        temporary.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, out / f"{name}.json")
        os.replace(path, out / name)
        entries.append(FileEntry(path=name, bytes=int(meta["size"]), sha256=str(meta["sha256"])))
    return tuple(entries)


def _error(error: KieError, *, code: str | None = None) -> LineError:
    found = code if code is not None else error.code
    message = error.message
    if isinstance(error, SubmissionUncertain):
        sent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(error.sent_at))
        message = f"{message} (sent at {sent})"
    return LineError(
        type=type(error).__name__, code=None if found is None else str(found), message=message
    )


def _plain_error(error: Exception) -> LineError:
    return LineError(type=type(error).__name__, message=str(error))


# -- the entry point ----------------------------------------------------------------------------


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
) -> BatchResult:
    """Run (or resume) the batch in ``source`` (``.jsonl`` or ``.csv``) into the folder ``out``.

    Every line is validated first; problems raise :class:`BatchInvalid` with their line numbers
    (``skip_invalid`` records them as ``invalid`` and runs the others). A line id already in the
    batch with another input raises :class:`BatchConflict` unless ``replace``. Then the balance
    is read and a :class:`Preview` (time floor from the create budget, wait mode, balance) goes
    to ``on_preview``; ``dry_run`` stops there; ``confirm(preview)`` returning False raises
    :class:`BatchCancelled` before anything is paid.

    The client options (``api_key``, ``base_url``, ``upload_base_url``, ``registry``, ``poll``,
    ``rate_limits``, ``upload_cache``) are those of :class:`~kieframe.AsyncClient`; the upload
    cache defaults to a file in ``out``. ``callback_url`` (kie.ai's route to a receiver that
    this batch serves on ``listen``, by default loopback on the URL's port; ``listen`` alone
    serves on loopback and sends that address) makes waits resolve by callback, settles
    uncertain creates from their callbacks (for up to ``settle_timeout`` seconds at the end),
    and lets creates run at the full budget; ``hmac_key`` checks signatures, ``watchdog`` is
    the poll interval behind callbacks. Without callbacks, creates slow down to what polling
    can follow. ``retry`` names classes of lines to send (or download) again: ``"failed"``
    (pays again), ``"rejected"``, ``"download_failed"``. ``on_progress`` gets a
    :class:`BatchStatus` every ``progress_every`` seconds; up to ``concurrency`` creates are
    in flight at once.

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
    unknown = set(retry) - set(_RETRY)
    if unknown:
        raise ValueError(f"unknown retry classes {sorted(unknown)}; choose from {sorted(_RETRY)}")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if lease <= 0:
        raise ValueError("lease must be positive")
    if db_outage_timeout < 0:
        raise ValueError("db_outage_timeout cannot be negative")
    folder = Path(out)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    registry = registry or default_registry()
    limits = rate_limits or RateLimits()
    wake = threading.Event()  # the runner's: lines may have come its way
    async with contextlib.AsyncExitStack() as stack:
        database = database_url(state)
        if isinstance(state, BatchStore):  # the caller's: the caller closes it
            store = state
        else:
            store = _open_store(state, folder, batch, db_outage_timeout)
            stack.callback(store.close)
        receiver = None
        if listen is not None or callback_url is not None:
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
                journal=_LineJournal(store),
                upload_cache=upload_cache or (None if database else folder / ".uploads.json"),
                database_url=database,
            )
        )
        options = _Options(
            out=folder, model=model, registry=registry, poll=poll or PollPlan(), limits=limits,
            callback_url=callback_url, skip_invalid=skip_invalid, replace=replace, retry=retry,
            dry_run=dry_run, on_progress=on_progress,
            progress_every=progress_every, concurrency=concurrency,
            settle_timeout=settle_timeout, lease=lease,
        )  # fmt: skip
        runner = _Runner(store=store, client=client, options=options, wake=wake)
        await asyncio.to_thread(stack.enter_context, _heartbeat(store, runner.owner, lease, wake))
        preview = await runner.preview(source)
        if on_preview is not None:
            on_preview(preview)
        if dry_run:
            return _result(store, folder, preview, write=False)
        if preview.to_send and confirm is not None and not confirm(preview):
            raise BatchCancelled("the batch was not confirmed; nothing was sent")
        try:
            await runner.run()
        finally:  # the manifest is written however the run ends
            result = _result(store, folder, preview, write=True)
        if runner.stop_reason is not None:
            logger.error("the batch stopped sending: %s", runner.stop_reason)
        return result
    raise AssertionError("unreachable")  # pragma: no cover - the exit stack swallows nothing


def _result(store: BatchStore, folder: Path, preview: Preview, *, write: bool) -> BatchResult:
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
        records=lines, status=status, preview=preview, reconcile=tuple(reconcile_list(store))
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
