"""The public records and names the emulator hands to tests: options, tasks, uploads, counters."""

from __future__ import annotations

from collections import Counter
from typing import Literal

import msgspec
import msgspec.structs

__all__ = [
    "CallbackAttempt",
    "Endpoint",
    "FaultKind",
    "Lifetimes",
    "Outcome",
    "Stats",
    "TaskInfo",
    "Timing",
    "UploadInfo",
    "UploadMethod",
]

#: The groups of routes faults and counters are kept for. ``upload`` covers the three upload
#: routes, ``files`` the result and upload downloads, ``other`` any route the emulator lacks.
Endpoint = Literal["createTask", "recordInfo", "credit", "download-url", "upload", "files"]

#: What an injected fault does; see :meth:`Emulator.fault`.
FaultKind = Literal["http_500", "code", "drop", "drop_before", "latency", "raw", "redirect_loop"]

#: How a scripted task ends: ``never`` keeps it running forever.
Outcome = Literal["success", "fail", "never"]

#: Which upload route stored a file.
UploadMethod = Literal["stream", "base64", "url"]


def _check_non_negative(record: msgspec.Struct) -> None:
    for name in record.__struct_fields__:
        if getattr(record, name) < 0:
            raise ValueError(f"{type(record).__name__}.{name} must not be negative")


class Timing(msgspec.Struct, frozen=True, kw_only=True):
    """Seconds a new task spends in each phase before it reaches ``success`` or ``fail``.

    ``invisible`` is the window in which recordInfo still answers ``422 recordInfo is null``;
    then the task is ``waiting``, ``queuing`` and ``generating`` for the given times in turn.
    """

    invisible: float = 0.05
    waiting: float = 0.05
    queuing: float = 0.05
    generating: float = 0.2

    def __post_init__(self) -> None:
        _check_non_negative(self)

    @property
    def total(self) -> float:
        """Seconds from creation to the terminal state."""
        return self.invisible + self.waiting + self.queuing + self.generating


class Lifetimes(msgspec.Struct, frozen=True, kw_only=True):
    """Seconds the emulator's signed file links stay valid.

    ``result`` for result URLs in ``resultJson`` (kie.ai: "typically 24 hours"), ``fresh`` for
    links answered by ``download-url`` (20 minutes), ``upload`` for uploaded files (3 days).
    """

    result: float = 24 * 3600.0
    fresh: float = 20 * 60.0
    upload: float = 3 * 24 * 3600.0

    def __post_init__(self) -> None:
        _check_non_negative(self)


class TaskInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A task the emulator accepted, as the create request described it."""

    task_id: str
    model: str
    input: dict[str, object]
    callback_url: str | None
    #: Unix time in seconds.
    created_at: float
    outcome: Outcome


class UploadInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A file stored through one of the upload routes (the latest version at its path)."""

    file_path: str
    file_name: str
    upload_path: str
    method: UploadMethod
    size: int
    mime_type: str
    sha256: str
    #: Unix time in seconds.
    uploaded_at: float


class CallbackAttempt(msgspec.Struct, frozen=True, kw_only=True):
    """One delivery of a task callback: sent (with its answer or error) or deliberately lost."""

    task_id: str
    url: str
    #: 1 for the first delivery of a task's callback, 2 and up for duplicates.
    delivery: int
    lost: bool
    #: The receiver's HTTP status; ``None`` when lost or when the request failed.
    status: int | None
    #: Why the request failed (exception type and message), if it did.
    error: str | None
    #: The ``X-Webhook-Timestamp`` and ``X-Webhook-Signature`` headers when signing is on.
    timestamp: str | None
    signature: str | None
    body: bytes


class Stats(msgspec.Struct, frozen=True, kw_only=True):
    """What reached the server, counted per endpoint (see :data:`Endpoint`, plus ``other``).

    The counts are :class:`collections.Counter` objects: an endpoint nothing reached yet counts
    0 (``stats.requests["upload"]`` before any upload), not a ``KeyError``. They are declared
    as ``dict[str, int]``, so a ``Stats`` encodes and decodes with msgspec (JSON, or
    ``msgspec.convert(msgspec.to_builtins(stats), Stats)``); a decoded one holds Counters too.
    """

    requests: dict[str, int]
    #: Requests refused with 429 by the emulated rate limits (not by injected faults).
    rate_limited: dict[str, int]
    #: User-Agent header values seen, with counts.
    user_agents: dict[str, int]
    missing_user_agent: int

    def __post_init__(self) -> None:
        for name in ("requests", "rate_limited", "user_agents"):
            counts = getattr(self, name)
            if type(counts) is not Counter:  # decoded, or given as a dict
                msgspec.structs.force_setattr(self, name, Counter(counts))
