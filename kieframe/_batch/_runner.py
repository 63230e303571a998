"""Running a batch's lines: claim, send, wait, download, one fenced transition at a time.

The rules live here, not in the command. Creates go out through the client, whose journal hook
(:mod:`._journal`) marks each line ``sending`` just before its create leaves; what a create
did not give a task records why, and nothing that may exist is ever resent. Accepted lines are
followed (waited for, downloaded) by the worker that holds them; lines of dead workers, and
lines settled by callbacks (:mod:`._settle`), are adopted when that can matter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._client import AsyncClient
from .._files._names import safe_component
from .._plural import counted
from .._records import Task, TaskRecord
from .._registry import Registry
from ..errors import (
    AuthenticationError,
    BatchConflict,
    DatabaseUnavailable,
    DownloadError,
    InputValidationError,
    InsufficientCreditsError,
    KieError,
    RateLimitError,
    ServerError,
    SubmissionUncertain,
    TaskFailed,
    WaitTimeout,
)
from ..lifecycle import PollPlan, RateLimits
from ._journal import Claim, current_claim
from ._lines import BatchInvalid, LineProblem, read_lines, submit_input
from ._manifest import reconcile_list, snapshot
from ._plan import Preview, WaitMode, rates
from ._records import BatchStatus, FileEntry, LineError, LineStatus
from ._settle import submission_url
from ._store import BatchStore, StaleTransition, StoredLine, each_line

__all__ = ["RETRY", "BatchConflict", "Options", "RetryClass", "Runner"]

logger = logging.getLogger("kieframe")

_PARTS = ".parts"
_LEASE = 600.0  # a claim covers uploads only: generous, as it is never held across a send

_MAINTENANCE = 455  # kie.ai's code for a create refused while it is under maintenance
_MAINTENANCE_PAUSE_MAX = 60.0  # the longest pause between creates refused for maintenance

RetryClass = str  # "failed", "rejected", "download_failed"
RETRY = {
    "failed": (LineStatus.FAILED, LineStatus.PENDING),
    "rejected": (LineStatus.REJECTED, LineStatus.PENDING),
    "download_failed": (LineStatus.DOWNLOAD_FAILED, LineStatus.DOWNLOADING),
}


@dataclass(slots=True, kw_only=True)
class Options:
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
    maintenance_timeout: float = 900.0


@dataclass(slots=True)
class Runner:
    store: BatchStore
    client: AsyncClient
    options: Options
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    follows: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    sends: set[asyncio.Task[None]] = field(default_factory=set)
    sending: set[str] = field(default_factory=set)  # ids of lines whose send is running
    polling: set[str] = field(default_factory=set)  # ids of lines whose wait is running
    freed: asyncio.Event = field(default_factory=asyncio.Event)  # a send or a wait ended
    wake: threading.Event = field(default_factory=threading.Event)  # look for lines to follow
    stop_reason: str | None = None
    paused_until: float = 0.0
    maintenance_since: float | None = None  # when kie.ai began refusing creates (455)
    maintenance_pause: float = 0.0  # the last pause it made, doubled at each new refusal
    in_flight: int | None = None  # the most lines sent or polled at once (paced), else no cap

    # -- before paying --------------------------------------------------------------------

    async def preview(self, source: str | os.PathLike[str]) -> Preview:
        options = self.options
        lines, problems = await asyncio.to_thread(
            read_lines,
            source,
            model=options.model,
            registry=options.registry,
            callback=options.callback_url is not None,
        )
        if problems and not options.skip_invalid:
            raise BatchInvalid(problems)
        changed = await asyncio.to_thread(self.store.add_lines, lines, replace=options.replace)
        del lines  # recorded: a big file's lines are not held through the preview
        if changed:
            raise BatchConflict(changed)
        if not options.dry_run:
            await asyncio.to_thread(self.store.recover, self.owner)
        balance = await self.client.credits()
        return self._preview(problems, balance)

    async def retry(self) -> dict[str, int]:
        """Send (or download) the retry classes' lines again, once the batch is confirmed.

        Returns how many lines of each class were left as they were: a store leaves those
        another worker's live lease holds (see ``requeue``), and the run says so.
        """
        return {name: await asyncio.to_thread(self._retry, name) for name in self.options.retry}

    def _retry(self, name: RetryClass) -> int:
        source, target = RETRY[name]
        self.store.requeue([source], to=target)
        return self.store.counts().get(source.value, 0)

    def _preview(self, problems: list[LineProblem], balance: float | None) -> Preview:
        counts = self.store.counts()
        to_send = counts.get(LineStatus.PENDING.value, 0) + counts.get(LineStatus.CLAIMED.value, 0)
        notes = []
        for name in self.options.retry:  # the retries' lines (moved once the batch is confirmed)
            source, target = RETRY[name]
            if not counts.get(source.value, 0):
                continue
            held = self.store.held_from_retry(source)
            if target == LineStatus.PENDING:
                to_send += counts[source.value] - held
            if held:
                notes.append(
                    f"{counted(held, f'{source.value} line')} left out of the"
                    " retry: another worker's live lease holds them"
                )
        models = sorted({model for model in each_line(self.store, _model) if model})
        typical = max(
            (self._typical(model) for model in models),
            default=120.0,
        )
        pace = rates(
            limits=self.options.limits,
            plan=self.options.poll,
            typical_seconds=typical,
            callbacks=self.options.callback_url is not None,
            lines=to_send,
        )
        limits = self.options.limits
        budget = limits.reads / limits.read_window if limits.reads > 0 else float("inf")
        if pace.mode == WaitMode.CALLBACKS:
            notes.append("polling cannot follow the create rate: waiting for callbacks")
        elif pace.mode == WaitMode.PACED and pace.in_flight is not None:  # PACED sets it
            tasks = counted(pace.in_flight, "task")
            notes.append(
                "polling cannot follow the create rate and there is no callback URL: creates"
                f" limited to {tasks} in flight (about {pace.expected_rate * 60:.3g} per minute"
                f" if tasks take the typical {typical:g} s, faster when they finish sooner; give"
                " --callback-url to go faster)"
            )
        self.in_flight = pace.in_flight
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
            mode=pace.mode,
            create_rate=pace.create_rate,
            floor_seconds=to_send / pace.create_rate,
            reads_needed=pace.reads_needed,
            read_budget=budget,
            notes=tuple(notes),
            in_flight=pace.in_flight,
            expected_rate=pace.expected_rate if pace.in_flight is not None else None,
            reads_for_lines=pace.reads_for_lines,
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
                    status = await asyncio.to_thread(
                        snapshot, self.store, running=True, limits=self.options.limits
                    )
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
                    Claim(line.id, self.owner, None), LineStatus.CLAIMED, LineStatus.PENDING
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
        while self.stop_reason is None:
            await asyncio.sleep(max(self.paused_until - time.monotonic(), 0.0))
            await self._room()
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

    async def _room(self) -> None:
        """Wait until fewer lines than the cap (paced) are being sent or polled.

        A line counts from its claim to the end of its wait: a task that finishes at its first
        poll makes room at once, so short tasks run at the create budget. Lines adopted from
        elsewhere count too (they may take the cap over it for a while; creates then wait).
        """
        while self.in_flight is not None and len(self.sending | self.polling) >= self.in_flight:
            self.freed.clear()
            await self.freed.wait()

    def _ended(self, held: set[str], line_id: str) -> None:
        """A line's send or wait (``held`` names which) ended: room for another create."""
        held.discard(line_id)
        self.freed.set()

    async def _send(self, line: StoredLine, slots: asyncio.Semaphore) -> None:
        try:
            await self._create(line, slots)
        finally:  # followed from now on if accepted: room for another create all the same
            self._ended(self.sending, line.id)

    async def _create(self, line: StoredLine, slots: asyncio.Semaphore) -> None:
        url = self.options.callback_url
        claim = Claim(
            line.id,
            self.owner,
            submission_url(url, self.store.batch_id, line.id) if url else None,
        )
        current_claim.set(claim)  # this task's own context
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
            return
        finally:
            slots.release()
        self.maintenance_since = None  # kie.ai takes creates again
        stored = None
        with _database_lost(line.id, task.task_id):
            stored = await asyncio.to_thread(self._accepted, claim, task.task_id)
        if stored is not None:
            self._follow(stored)

    def _accepted(self, claim: Claim, task_id: str) -> StoredLine | None:
        """The line after its acceptance: as the journal hook wrote it, else repaired.

        The hook's write fails when a callback settled the line first (it is ``accepted``,
        still this worker's), when the database went away, or when this worker's lease ran out
        while the create was in flight (it is ``uncertain`` then, and settled here with the task
        id); a line found elsewhere is left to its holder.
        """
        if claim.accepted is not None and claim.accepted.task_id == task_id:
            return claim.accepted
        held = (LineStatus.SENDING, LineStatus.ACCEPTED)
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

    def _not_accepted(self, claim: Claim, error: KieError) -> None:
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
        if not claim.sent and self._refused_for_now(error, sent=False):
            self._move(claim, LineStatus.CLAIMED, LineStatus.PENDING, error=None)
            return
        if not claim.sent:  # failed before the create left: uploads, files, validation
            status = (
                LineStatus.INVALID
                if isinstance(error, InputValidationError)
                else LineStatus.REJECTED
            )
            self._move(claim, LineStatus.CLAIMED, status, error=detail)
            return
        if self._refused_for_now(error, sent=True):
            self._move(claim, LineStatus.SENDING, LineStatus.PENDING, error=None, sent_at=None)
            return
        if isinstance(error, SubmissionUncertain | ServerError):  # any other 5xx: it may exist
            logger.warning("line %s: the create may have made a task: %s", claim.line, error)
            self._move(claim, LineStatus.SENDING, LineStatus.UNCERTAIN, error=detail)
            return
        if isinstance(error, InsufficientCreditsError | AuthenticationError):
            self.stop_reason = str(error)
        self._move(claim, LineStatus.SENDING, LineStatus.REJECTED, error=detail)

    def _refused_for_now(self, error: KieError, *, sent: bool) -> bool:
        """Whether kie.ai refused a line only for now (nothing paid): it goes back to ``pending``
        and sending pauses. A 429 (the request was dropped) pauses for the create window; a
        refusal for maintenance (455) follows :meth:`_maintenance`; any other server error is
        not one. The refused request is the line's create (``sent``), else an upload of its
        local files (after the upload's own retries)."""
        if isinstance(error, RateLimitError):
            wait = error.retry_after or self.options.limits.create_window
            self.paused_until = max(self.paused_until, time.monotonic() + wait)
            return True
        if isinstance(error, ServerError) and error.code == _MAINTENANCE:
            self._maintenance(error, "a create" if sent else "an upload")
            return True
        return False

    def _maintenance(self, error: ServerError, what: str) -> None:
        """Pause creates after a refusal for maintenance; stop sending once it lasts too long.

        The pause is kie.ai's ``Retry-After``, else the create window, doubled at each refusal
        answered after the last pause ended (creates in flight together count once), up to a
        minute. Past ``maintenance_timeout`` seconds of refusals (of creates or uploads), no
        create is sent any more: the lines wait, ``pending``, for the next run.
        """
        now = time.monotonic()
        if self.maintenance_since is None:
            self.maintenance_since, self.maintenance_pause = now, 0.0
        lasted = now - self.maintenance_since
        if lasted >= self.options.maintenance_timeout:
            self.stop_reason = (
                f"kie.ai is under maintenance (refused for {lasted:.0f} s: {error});"
                " the lines not sent are left pending: run the batch again once it is over"
            )
            return
        if now >= self.paused_until:  # a new refusal, not one more of the same round
            window = self.options.limits.create_window
            self.maintenance_pause = min(
                max(window, self.maintenance_pause * 2), max(window, _MAINTENANCE_PAUSE_MAX)
            )
        wait = error.retry_after or self.maintenance_pause
        logger.warning("kie.ai refused %s (%s); sending again in %.1f s", what, error, wait)
        self.paused_until = max(self.paused_until, now + wait)

    def _move(
        self,
        claim: Claim,
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
            if line.status == LineStatus.ACCEPTED:
                self.polling.add(line.id)  # until its wait ends
            self.follows[line.id] = asyncio.create_task(self._finish(line))

    async def _finish(self, line: StoredLine) -> None:
        """Wait for an accepted line's task, then download its files."""
        task_id = line.task_id
        if task_id is None:  # pragma: no cover - accepted lines carry their task id
            return
        try:
            if line.status == LineStatus.ACCEPTED:
                try:
                    record = await self._wait(line, task_id)
                finally:
                    self._ended(self.polling, line.id)
                if record is None:
                    return
            else:
                record = await self.client.get(task_id)  # fresh links for a resumed download
            await self._download(line, record)
        except StaleTransition as stale:
            # Another worker took the line over (this one's lease ran out) or a person moved it;
            # or it is still this worker's, fenced while its lease lapsed (a database outage
            # longer than the lease): the next look for lines follows it again if it is ours.
            logger.info("%s", stale)
            del self.follows[line.id]
            self.wake.set()
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


def _model(line: StoredLine) -> str | None:
    return line.model


def _plain_error(error: Exception) -> LineError:
    return LineError(type=type(error).__name__, message=str(error))
