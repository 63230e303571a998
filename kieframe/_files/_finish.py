"""A result file's end on disk, and the plans of a record's files: blocking file work.

Finishing a file checks its size, moves it under a name that overwrites nothing and writes its
metadata beside it; planning resumes from any partial file an earlier attempt left. Both run as
``Blocking`` effects of the download operation (``_core/_download.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec

from .._core._fileplan import FilePlan
from .._errors import DownloadError
from .._records import TaskRecord
from ._names import content_extension

__all__ = ["check_folder", "finish", "place", "plan_downloads"]

_META_MARK = "kieframe.result/1"
# A new file for writing, never an existing one (binary on Windows).
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def check_folder(folder: Path) -> None:
    """Raise a :class:`DownloadError` (with no task id) if files cannot be saved in ``folder``.

    Checked before a task is submitted, so that a bad destination costs nothing: the folder, or
    the nearest of its parents that exists, must be a folder this process can create a file in
    (tried for real, so a read-only mount or ``/proc`` is caught whoever runs it). Nothing is
    left behind: a missing folder is not created here.
    """
    check_path_text(folder)
    for there in (folder, *folder.parents):
        try:
            found = os.stat(there)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as error:
            raise DownloadError(f"cannot save files in {folder}: {_reason(error)}") from None
        if not stat.S_ISDIR(found.st_mode):
            raise DownloadError(f"cannot save files in {folder}: {there} is not a folder")
        probe = there / f".kieframe-probe-{secrets.token_hex(6)}"
        try:
            os.close(os.open(probe, _NEW_FILE, 0o600))
            os.unlink(probe)
        except OSError as error:
            raise DownloadError(
                f"cannot save files in {folder}: no file can be created in {there} "
                f"({_reason(error)})"
            ) from None
        return


def check_path_text(folder: Path) -> None:
    """Raise a :class:`DownloadError` (with no task id) if no file name can hold ``folder``'s
    text: a NUL byte, or a lone surrogate the file system encoding cannot write."""
    text = os.fspath(folder)
    if "\x00" in text:
        raise DownloadError(f"cannot save files in {text!r}: a path cannot hold a NUL byte")
    try:
        os.fsencode(text)
    except UnicodeEncodeError as error:
        raise DownloadError(
            f"cannot save files in {text!r}: {text[error.start]!r} (a lone surrogate) cannot be "
            "written in a file name"
        ) from None


def _reason(error: OSError) -> str:
    """An OS error's reason, without the path kieframe's message already names."""
    return error.strerror or type(error).__name__


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
        try:
            found = os.stat(plan.part)  # one system call, not is_file() and stat()
        except OSError:
            found = None
        if found is not None and stat.S_ISREG(found.st_mode):
            plan.offset = found.st_size
        plans.append(plan)
    return plans


def _lstat(path: Path) -> os.stat_result | None:
    """What is at ``path`` (not following a link), or None if nothing: one system call."""
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _is_our_metadata(path: Path, plan: FilePlan) -> bool:
    """Whether ``path`` is free for this file's metadata: absent, or ours for the same result."""
    if _lstat(path) is None:
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


def place(part: Path, target: Path) -> bool:
    """Move ``part`` to ``target`` unless something is there; False if it was taken."""
    try:
        os.link(part, target)  # atomic, and never replaces an existing file
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: check, then rename
        if _lstat(target) is not None:
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


def finish(plan: FilePlan, record: TaskRecord) -> Path:
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
    sha256 = plan.sha256 if plan.sha256 is not None else _sha256(plan.part)
    path = plan.part
    plan.extension = content_extension(path, default=plan.extension, head=plan.head)
    for name in plan.candidates():
        target = plan.folder / name
        meta = plan.folder / f"{name}.json"
        if not _is_our_metadata(meta, plan):
            continue
        there = _lstat(target)
        if there is not None:
            same = (
                stat.S_ISREG(there.st_mode) and there.st_size == size and _sha256(target) == sha256
            )
            if not same:
                continue
            path.unlink()
            break
        if place(path, target):
            break
    else:
        raise DownloadError(
            f"result {plan.index}: every name for it in {plan.folder} is taken",
            task_id=plan.task_id,
        )
    body = msgspec.json.format(msgspec.json.encode(_metadata(plan, record, size, sha256)))
    temporary = plan.folder / f".{name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL: never an existing file; 0o666 honours the umask, unlike mkstemp.
    handle = os.open(temporary, _NEW_FILE, 0o666)
    try:
        view = memoryview(body + b"\n")
        while view:  # a write may store less than it was given
            view = view[os.write(handle, view) :]
    finally:
        os.close(handle)
    os.replace(temporary, meta)
    return target
