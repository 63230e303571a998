"""The batch's records: line statuses, what the manifest holds per line, and status snapshots."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

__all__ = [
    "FINAL",
    "BatchStatus",
    "FileEntry",
    "LineError",
    "LineInput",
    "LineRecord",
    "LineStatus",
    "Reconcile",
    "digest",
]


class LineStatus(enum.StrEnum):
    """Where a line stands; every change is one fenced transition of the batch store.

    ``pending -> claimed -> sending -> accepted -> downloading -> succeeded``; a claim (held
    while local files upload) goes back to ``pending`` when its lease runs out, as nothing was
    sent yet. After ``sending``: ``rejected`` (kie.ai refused: nothing paid), ``uncertain`` (no
    usable answer: never resent on its own); after ``accepted``: ``failed`` (the task failed);
    after ``downloading``: ``download_failed``. ``invalid`` lines never reach kie.ai.
    """

    PENDING = "pending"
    CLAIMED = "claimed"
    SENDING = "sending"
    ACCEPTED = "accepted"
    DOWNLOADING = "downloading"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    INVALID = "invalid"
    UNCERTAIN = "uncertain"
    DOWNLOAD_FAILED = "download_failed"


#: Statuses a line ends in (until a retry option or a reconciliation moves it on).
FINAL = frozenset(
    {
        LineStatus.SUCCEEDED,
        LineStatus.FAILED,
        LineStatus.REJECTED,
        LineStatus.INVALID,
        LineStatus.UNCERTAIN,
        LineStatus.DOWNLOAD_FAILED,
    }
)


class FileEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One result file: its path relative to the output folder, size and SHA-256."""

    path: str
    bytes: int
    sha256: str


class LineError(msgspec.Struct, frozen=True, kw_only=True):
    """Why a line did not succeed: the error's class name, kie.ai's code if any, the message."""

    type: str
    code: str | None = None
    message: str


class LineRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One input line as the manifest shows it (``manifest.jsonl`` holds one per line).

    ``line`` is the line's number in the input file (1-based, the CSV header not counted);
    ``sent_at`` is when its create was sent, ``finished_at`` when it reached its status.
    """

    id: str
    line: int
    status: LineStatus
    model: str | None
    task_id: str | None = None
    files: tuple[FileEntry, ...] = ()
    error: LineError | None = None
    credits: float | None = None
    sent_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class Reconcile(msgspec.Struct, frozen=True, kw_only=True):
    """A create that may or may not have made a task: what was sent, when, and why it is open."""

    id: str
    line: int
    model: str | None
    sent_input: Mapping[str, object] | None
    sent_at: dt.datetime | None
    callback_url: str | None
    reason: str | None


class BatchStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot of a batch: counts per status and the figures progress shows.

    ``creates_per_minute`` counts creates sent in the last minute, against ``create_budget``
    per minute; ``eta_seconds`` is the time the lines left to send take at that rate (at most
    the budget), or, once stopped, at the budget; None when nothing is left to send, or when a
    running batch sent nothing in the last minute (no rate to go by).
    """

    total: int
    counts: Mapping[str, int]
    creates_per_minute: int
    create_budget: int
    eta_seconds: float | None
    bytes_downloaded: int
    credits: float
    running: bool

    @property
    def done(self) -> bool:
        """Whether every line is in a final status."""
        return sum(self.counts.get(status.value, 0) for status in FINAL) == self.total

    @property
    def all_succeeded(self) -> bool:
        """Whether every line succeeded."""
        return self.counts.get(LineStatus.SUCCEEDED.value, 0) == self.total


def digest(model: str | None, input: Mapping[str, Any]) -> str:
    """The fingerprint of a line's model and input, to tell a changed line from a known one."""
    text = json.dumps({"model": model, "input": input}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class LineInput:
    """One line of the input file, as the store records it (``input`` is JSON-ready)."""

    id: str
    line: int
    model: str | None
    input: Mapping[str, Any]
    error: LineError | None = None  # set for a line that failed validation

    @property
    def digest(self) -> str:
        """See :func:`digest`."""
        return digest(self.model, self.input)
