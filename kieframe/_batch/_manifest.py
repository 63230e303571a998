"""The manifest (``manifest.jsonl``, ``summary.json``) and status snapshots, read from a store."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import msgspec

from ..lifecycle import RateLimits
from ._plan import create_rate
from ._records import BatchStatus, LineRecord, LineStatus, Reconcile
from ._store import BatchStore, StoredLine, each_line

__all__ = ["MANIFEST", "SUMMARY", "reconcile_list", "records", "snapshot", "write_manifest"]

MANIFEST = "manifest.jsonl"
SUMMARY = "summary.json"
_LEFT = (LineStatus.PENDING, LineStatus.CLAIMED)


def _time(value: float | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value, tz=dt.UTC)


def record(line: StoredLine) -> LineRecord:
    """The manifest's record of a stored line."""
    return LineRecord(
        id=line.id,
        line=line.line,
        status=line.status,
        model=line.model,
        task_id=line.task_id,
        files=line.files,
        error=line.error,
        credits=line.credits,
        sent_at=_time(line.sent_at),
        finished_at=_time(line.finished_at),
        updated_at=_time(line.updated_at),
    )


def records(store: BatchStore) -> list[LineRecord]:
    """Every line's record, in input order."""
    return each_line(store, record)


def reconcile_list(store: BatchStore) -> list[Reconcile]:
    """Creates that may have made a task without an answer kept: what was sent, and when."""
    return [
        Reconcile(
            id=line.id,
            line=line.line,
            model=line.model,
            sent_input=line.sent_input,
            sent_at=_time(line.sent_at),
            callback_url=line.callback_url,
            reason=line.error.message if line.error else None,
        )
        for line in store.lines([LineStatus.UNCERTAIN, LineStatus.SENDING])
    ]


def snapshot(store: BatchStore, *, running: bool, limits: RateLimits | None = None) -> BatchStatus:
    """Counts per status, creates in the last minute, a time floor for the rest, bytes, credits.

    The create budget is the client's (``limits``, a default client's unless given), as the
    preview's time floor counts it.
    """
    counts = store.counts()
    sent, size, credits = store.figures(since=time.time() - 60)
    budget = round(create_rate(limits or RateLimits()) * 60)
    left = sum(counts.get(status.value, 0) for status in _LEFT)
    rate = sent if running else budget  # running: nothing sent in the last minute, no rate
    return BatchStatus(
        total=sum(counts.values()),
        counts=counts,
        creates_per_minute=sent,
        create_budget=budget,
        eta_seconds=60.0 * left / min(rate, budget) if left and rate else None,
        bytes_downloaded=size,
        credits=credits,
        running=running,
    )


def _write(path: Path, data: bytes) -> None:
    # A name of its own: workers on several machines may share the folder.
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_manifest(out: Path, lines: Sequence[LineRecord], status: BatchStatus) -> None:
    """Write ``manifest.jsonl`` (one record per line, in input order) and ``summary.json``."""
    out.mkdir(parents=True, exist_ok=True)
    encoder = msgspec.json.Encoder()
    _write(out / MANIFEST, b"".join(encoder.encode(line) + b"\n" for line in lines))
    summary = {
        "total": status.total,
        "counts": dict(sorted(status.counts.items())),
        "all_succeeded": status.all_succeeded,
        "bytes_downloaded": status.bytes_downloaded,
        "credits": status.credits,
        "written_at": dt.datetime.now(dt.UTC),
    }
    _write(out / SUMMARY, msgspec.json.format(encoder.encode(summary)) + b"\n")
