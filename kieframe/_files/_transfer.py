"""The drivers of downloads (blocking with threads, asyncio with a semaphore) and the file's end.

The drivers only perform: send the request the :class:`~._downloads.FilePlan` asks for, give it
the answer, write the body where it says, and retry with stamina when it says so. The body goes
to a :class:`PartFile`, which hashes it as it writes it (off the event loop for asyncio).
Finishing a file (checking its size, moving it under a name that clobbers nothing, writing its
metadata) is plain blocking file work shared by both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import stamina

from .._drive import drive, drive_async
from .._errors import DownloadError
from .._operations import Call
from .._records import TaskRecord
from ._downloads import Decision, DownloadProgress, Fetch, FilePlan, Step, download_op

__all__ = ["AsyncDownloader", "PartFile", "SyncDownloader", "finish", "plan_downloads"]

#: Bytes gathered from the network before a worker thread hashes (and, for asyncio, writes) them.
BATCH = 1 << 20
#: Files downloaded at once by default.
DEFAULT_CONCURRENCY = 4
_META_MARK = "kieframe.result/1"


class _Progressed(Exception):
    """An attempt was cut after it stored new bytes: resume at once, with a fresh retry budget."""


class _Retry(Exception):
    """A transient failure stamina should retry (the plan has already moved its offset)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


def _retry_hook(error: Exception) -> bool | float:
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


class PartFile:
    """The partial file of one result, and the SHA-256 of its bytes, computed as they arrive.

    Bytes are hashed as they are written, so the file is never read back to be hashed. Both
    drivers gather reads into batches of :data:`BATCH` for a worker thread: the blocking driver
    writes each read at once (:meth:`write`) and the worker hashes the batches beside it; the
    asyncio driver hands each batch to the worker to write and hash (:meth:`awrite`), so its loop
    never waits for the disk. :meth:`close` stores what is still gathered: every byte received is
    kept, whatever ended the transfer, and a resumed download asks for exactly the rest.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._digest = hashlib.sha256()
        self._hashed = 0  # bytes from the file's start that _digest covers (or will, once busy)
        self._handle: IO[bytes] | None = None
        self._gathered: list[bytes] = []
        self._gathered_size = 0
        self._unwritten = False  # whether the gathered bytes still need writing (asyncio)
        self._busy: Future[None] | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="kieframe-write")

    def __enter__(self) -> PartFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        self._pool.shutdown()

    def open(self, start: int) -> None:
        """Cut the file to ``start`` bytes and write from there (blocking)."""
        handle = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666), "r+b")
        if os.fstat(handle.fileno()).st_size != start:
            handle.truncate(start)
        if self._hashed != start:  # a restart, or bytes an earlier process left
            self._rehash(handle, start)
        handle.seek(start)
        self._handle = handle

    def write(self, chunk: bytes) -> None:
        """Write ``chunk`` now and hash it soon, on the worker (blocking)."""
        assert self._handle is not None, "open() comes first"
        self._handle.write(chunk)
        if (batch := self._gather(chunk)) is not None:
            if self._busy is not None:
                self._busy.result()
            self._busy = self._pool.submit(self._hash, batch)

    async def awrite(self, chunk: bytes) -> int:
        """Gather ``chunk``; write and hash each batch on the worker. Bytes handed to it."""
        self._unwritten = True
        if (batch := self._gather(chunk)) is None:
            return 0
        if self._busy is not None:
            await asyncio.wrap_future(self._busy)
        self._busy = self._pool.submit(self._store, batch)
        return len(batch)

    def close(self) -> int:
        """Store what is gathered and close the file (blocking); how many bytes it wrote."""
        rest = b"".join(self._gathered)
        self._gathered.clear()
        self._gathered_size = 0
        if self._handle is None:
            return 0
        written = len(rest) if self._unwritten else 0
        try:
            if self._busy is not None:
                self._busy.result()
            if written:
                self._store(rest)
            else:
                self._hash(rest)
        finally:
            self._busy, self._unwritten = None, False
            self._handle.close()
            self._handle = None
        return written

    def sha256(self, size: int) -> str:
        """The hex SHA-256 of the file, which holds ``size`` bytes (blocking)."""
        if self._hashed != size:  # completed without a body here (416: it was all on disk)
            with self.path.open("rb") as handle:
                self._rehash(handle, size)
        return self._digest.hexdigest()

    def _gather(self, chunk: bytes) -> bytes | None:
        self._gathered.append(chunk)
        self._gathered_size += len(chunk)
        if self._gathered_size < BATCH:
            return None
        batch = b"".join(self._gathered)
        self._gathered.clear()
        self._gathered_size = 0
        return batch

    def _hash(self, data: bytes) -> None:
        self._digest.update(data)
        self._hashed += len(data)

    def _store(self, data: bytes) -> None:
        assert self._handle is not None, "open() comes first"
        self._handle.write(data)
        self._hash(data)

    def _rehash(self, handle: IO[bytes], size: int) -> None:
        self._digest, self._hashed = hashlib.sha256(), 0
        handle.seek(0)
        while self._hashed < size and (chunk := handle.read(min(BATCH, size - self._hashed))):
            self._hash(chunk)


def plan_downloads(record: TaskRecord, folder: Path) -> list[FilePlan]:
    """One plan per result URL, resuming from any partial file an earlier attempt left."""
    if not record.succeeded:
        raise DownloadError(
            f"task {record.task_id} has no results to download (state {record.state})",
            task_id=record.task_id,
        )
    folder.mkdir(parents=True, exist_ok=True)
    plans = []
    for index, url in enumerate(record.result_urls, start=1):
        plan = FilePlan(task_id=record.task_id, index=index, source_url=url, folder=folder)
        if plan.part.is_file():
            plan.offset = plan.part.stat().st_size
        plans.append(plan)
    return plans


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _is_our_metadata(path: Path, plan: FilePlan) -> bool:
    """Whether ``path`` is free for this file's metadata: absent, or ours for the same result."""
    if not path.exists() and not path.is_symlink():
        return True
    try:
        meta = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(meta, dict)
        and meta.get("written_by") == _META_MARK
        and meta.get("task_id") == plan.task_id
        and meta.get("index") == plan.index
    )


def _place(part: Path, target: Path) -> bool:
    """Move ``part`` to ``target`` unless something is there; False if it was taken."""
    try:
        os.link(part, target)  # atomic, and never replaces an existing file
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: check, then rename
        if target.exists() or target.is_symlink():
            return False
        os.replace(part, target)
        return True
    part.unlink()
    return True


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _metadata(plan: FilePlan, record: TaskRecord, size: int, sha256: str) -> dict[str, Any]:
    source = urlsplit(plan.source_url)
    return {
        "written_by": _META_MARK,
        "task_id": record.task_id,
        "model": record.model,
        "index": plan.index,
        "size": size,
        "sha256": sha256,
        "content_type": plan.content_type,
        "source": urlunsplit((source.scheme, source.netloc, source.path, "", "")),
        # The create's body without callBackUrl, which may carry a receiver's secret token.
        "input": {k: v for k, v in (record.param or {}).items() if k != "callBackUrl"},
        "cost_ms": record.cost_ms,
        "credits_consumed": record.credits_consumed,
        "created_at": _iso(record.created_at),
        "completed_at": _iso(record.completed_at),
        "downloaded_at": dt.datetime.now(dt.UTC).isoformat(),
    }


def finish(plan: FilePlan, record: TaskRecord, part: PartFile) -> Path:
    """Check the partial file, give it a name that overwrites nothing, write ``<name>.json``.

    A file already there with the same bytes (an earlier download of this result) is kept and
    reused; a different file is never replaced: the next free name ``<stem>~2<ext>``... is taken.
    """
    size = plan.part.stat().st_size
    if plan.total is not None and size != plan.total:
        plan.part.unlink()
        raise DownloadError(
            f"result {plan.index}: {size} bytes on disk, {plan.total} announced",
            task_id=plan.task_id,
        )
    sha256 = part.sha256(size)
    for name in plan.candidates():
        target = plan.folder / name
        meta = plan.folder / f"{name}.json"
        if not _is_our_metadata(meta, plan):
            continue
        if target.exists() or target.is_symlink():
            same = (
                target.is_file()
                and not target.is_symlink()
                and target.stat().st_size == size
                and _sha256(target) == sha256
            )
            if not same:
                continue
            plan.part.unlink()
            break
        if _place(plan.part, target):
            break
    else:
        raise DownloadError(
            f"result {plan.index}: every name for it in {plan.folder} is taken",
            task_id=plan.task_id,
        )
    body = json.dumps(_metadata(plan, record, size, sha256), indent=2, ensure_ascii=False)
    temporary = plan.folder / f".{name}.{secrets.token_hex(6)}.tmp"
    with temporary.open("x", encoding="utf-8") as handle:  # "x": honours the umask, unlike mkstemp
        handle.write(body + "\n")
    os.replace(temporary, meta)
    return target


def _build_request(
    http: httpx.Client | httpx.AsyncClient, plan: FilePlan, user_agent: str
) -> httpx.Request:
    """The GET of the plan's link; one httpx cannot send (a NUL, a newline): DownloadError."""
    # File hosts get no Authorization header: the API key is for kie.ai's API only.
    headers = {"User-Agent": user_agent, "Accept-Encoding": "identity", **plan.request_headers()}
    try:
        return http.build_request("GET", plan.url, headers=headers)
    except httpx.InvalidURL as error:
        raise DownloadError(
            f"result {plan.index}: the link {plan.url!r} cannot be requested ({error})",
            task_id=plan.task_id,
        ) from None


class _Downloader:
    """What both drivers share: configuration and the step after the response head."""

    def __init__(
        self, *, user_agent: str, retry: Mapping[str, Any], progress: DownloadProgress | None
    ) -> None:
        self._user_agent = user_agent
        self._retry = {**retry, "timeout": None}  # a long download may take its time
        self._progress = progress

    def _written(self, plan: FilePlan, size: int) -> Decision | None:
        failed = plan.on_data(size)
        if failed is None and self._progress is not None:
            self._progress(plan.folder / plan.name, plan.offset, plan.total)
        return failed

    def _ended(self, plan: FilePlan, start: int, rest: int, cut: Decision | None) -> Decision:
        """The decision once a body ended (``cut`` if it was interrupted) and its rest is stored.

        A cut after new bytes were stored raises :class:`_Progressed`: the transfer goes on
        from there at once, without spending the retries that are for failures.
        """
        failed = self._written(plan, rest)
        if failed is not None:
            return failed
        decision = cut if cut is not None else plan.on_end()
        if decision.step is Step.RETRY and plan.offset > start:
            raise _Progressed
        return decision


class SyncDownloader(_Downloader):
    """Downloads a record's files with blocking I/O, several at once on threads."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        perform: Callable[[Call], Any],
        user_agent: str,
        retry: Mapping[str, Any],
        progress: DownloadProgress | None,
    ) -> None:
        super().__init__(user_agent=user_agent, retry=retry, progress=progress)
        self._http = http
        self._perform = perform

    def download(self, record: TaskRecord, folder: Path, *, concurrency: int) -> tuple[Path, ...]:
        """Download every result of ``record`` into ``folder``; the paths, in result order."""
        plans = plan_downloads(record, folder)
        if concurrency <= 1 or len(plans) <= 1:
            return tuple(self._one(plan, record) for plan in plans)
        workers = min(concurrency, len(plans))
        with ThreadPoolExecutor(workers, thread_name_prefix="kieframe-download") as pool:
            futures = [pool.submit(self._one, plan, record) for plan in plans]
            return tuple(future.result() for future in futures)

    def _one(self, plan: FilePlan, record: TaskRecord) -> Path:
        with PartFile(plan.part) as part:
            drive(download_op(plan), partial(self._effect, part))
            return finish(plan, record, part)

    def _effect(self, part: PartFile, effect: Fetch | Call) -> Any:
        if isinstance(effect, Fetch):
            return self._fetch(effect.plan, part)
        return self._perform(effect)

    def _fetch(self, plan: FilePlan, part: PartFile) -> Step:
        caller = stamina.RetryingCaller(**self._retry).on(_retry_hook)
        while True:
            try:
                return caller(self._fetch_once, plan, part)
            except _Progressed:
                continue
            except _Retry as exhausted:
                raise _gave_up(plan, exhausted) from exhausted

    def _fetch_once(self, plan: FilePlan, part: PartFile) -> Step:
        request = _build_request(self._http, plan, self._user_agent)
        try:
            # File hosts get no Authorization header, so following their redirects is safe.
            response = self._http.send(request, stream=True, follow_redirects=True)
            try:
                decision = plan.on_head(response.status_code, response.headers)
                if decision.step is Step.WRITE:
                    decision = self._write(plan, part, decision.start, response)
            finally:
                response.close()
        except httpx.TransportError as error:
            decision = plan.on_interrupted(error)
        return _conclude(plan, decision)

    def _write(
        self, plan: FilePlan, part: PartFile, start: int, response: httpx.Response
    ) -> Decision:
        part.open(start)
        ended: Decision | None = None
        try:
            for chunk in response.iter_raw():
                part.write(chunk)
                if (failed := self._written(plan, len(chunk))) is not None:
                    return failed
        except httpx.TransportError as error:
            ended = plan.on_interrupted(error)
        finally:
            rest = part.close()
        return self._ended(plan, start, rest, ended)


class AsyncDownloader(_Downloader):
    """Downloads a record's files with asyncio, several at once under a semaphore."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        perform: Callable[[Call], Awaitable[Any]],
        user_agent: str,
        retry: Mapping[str, Any],
        progress: DownloadProgress | None,
    ) -> None:
        super().__init__(user_agent=user_agent, retry=retry, progress=progress)
        self._http = http
        self._perform = perform

    async def download(
        self, record: TaskRecord, folder: Path, *, concurrency: int
    ) -> tuple[Path, ...]:
        """Download every result of ``record`` into ``folder``; the paths, in result order."""
        plans = plan_downloads(record, folder)
        limit = asyncio.Semaphore(max(1, concurrency))

        async def one(plan: FilePlan) -> Path:
            async with limit:
                with PartFile(plan.part) as part:
                    await drive_async(download_op(plan), partial(self._effect, part))
                    return await asyncio.to_thread(finish, plan, record, part)

        outcomes = await asyncio.gather(*(one(plan) for plan in plans), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return tuple(outcome for outcome in outcomes if isinstance(outcome, Path))

    async def _effect(self, part: PartFile, effect: Fetch | Call) -> Any:
        if isinstance(effect, Fetch):
            return await self._fetch(effect.plan, part)
        return await self._perform(effect)

    async def _fetch(self, plan: FilePlan, part: PartFile) -> Step:
        caller = stamina.AsyncRetryingCaller(**self._retry).on(_retry_hook)
        while True:
            try:
                return await caller(self._fetch_once, plan, part)
            except _Progressed:
                continue
            except _Retry as exhausted:
                raise _gave_up(plan, exhausted) from exhausted

    async def _fetch_once(self, plan: FilePlan, part: PartFile) -> Step:
        request = _build_request(self._http, plan, self._user_agent)
        try:
            response = await self._http.send(request, stream=True, follow_redirects=True)
            try:
                decision = plan.on_head(response.status_code, response.headers)
                if decision.step is Step.WRITE:
                    decision = await self._write(plan, part, decision.start, response)
            finally:
                await response.aclose()
        except httpx.TransportError as error:
            decision = plan.on_interrupted(error)
        return _conclude(plan, decision)

    async def _write(
        self, plan: FilePlan, part: PartFile, start: int, response: httpx.Response
    ) -> Decision:
        await asyncio.to_thread(part.open, start)
        ended: Decision | None = None
        try:
            async for chunk in response.aiter_raw():
                if (stored := await part.awrite(chunk)) and (
                    failed := self._written(plan, stored)
                ) is not None:
                    return failed
        except httpx.TransportError as error:
            ended = plan.on_interrupted(error)
        finally:
            rest = await asyncio.to_thread(part.close)
        return self._ended(plan, start, rest, ended)
