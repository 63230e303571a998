"""The journal: a durable record of every create, written before it is sent and after it returns.

kie.ai has no idempotency key, and a task it accepted is paid for whether or not the client lives
to see the answer. The journal makes that survivable: each submission is written down as
``sending`` before the request leaves, then marked ``accepted`` (with kie's task id), ``rejected``
(kie said no: nothing to pay for), or ``uncertain`` (no answer: the task may exist). Waits mark
tasks ``succeeded`` or ``failed``. After a crash, :meth:`Journal.unfinished` lists what needs
attention: tasks to collect (``accepted``) and creates to reconcile (``sending``, ``uncertain``).

Any object with the methods of :class:`SubmissionLog` can stand in for the SQLite journal.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ._errors import JournalError

__all__ = [
    "ENV_JOURNAL",
    "Journal",
    "JournalEntry",
    "JournalStatus",
    "SubmissionLog",
    "default_journal_path",
]

#: The environment variable naming the journal file.
ENV_JOURNAL = "KIEFRAME_JOURNAL"


class JournalStatus(enum.StrEnum):
    """Where a submission stands."""

    SENDING = "sending"  # written before the create left; a crash here leaves it uncertain
    ACCEPTED = "accepted"  # kie.ai answered with a task id
    REJECTED = "rejected"  # kie.ai refused it: no task, nothing to pay for
    UNCERTAIN = "uncertain"  # no usable answer: the task may or may not exist
    SUCCEEDED = "succeeded"
    FAILED = "failed"


_OPEN = (JournalStatus.SENDING, JournalStatus.ACCEPTED, JournalStatus.UNCERTAIN)
_UNSETTLED = (JournalStatus.SENDING, JournalStatus.UNCERTAIN)


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalEntry:
    """One submission as the journal knows it."""

    id: int
    #: The Jobs API the create went to (kie.ai, a proxy, an emulator), if the client said.
    host: str | None
    model: str
    input: Mapping[str, Any]
    status: JournalStatus
    task_id: str | None
    detail: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


@runtime_checkable
class SubmissionLog(Protocol):
    """What a client needs from a journal; implement it to keep submissions elsewhere."""

    def begin(self, *, model: str, input: Mapping[str, Any], host: str | None = None) -> int:
        """Record a create about to be sent (to the Jobs API at ``host``); return its entry id."""
        ...

    def accepted(self, entry: int, *, task_id: str) -> None:
        """kie.ai accepted the create of ``entry`` as ``task_id``."""
        ...

    def rejected(self, entry: int, *, reason: str) -> None:
        """kie.ai refused the create of ``entry``."""
        ...

    def uncertain(self, entry: int, *, reason: str) -> None:
        """The create of ``entry`` got no usable answer."""
        ...

    def finished(self, task_id: str, *, succeeded: bool, detail: str | None = None) -> None:
        """The task ``task_id`` reached success or fail."""
        ...


def default_journal_path() -> Path | None:
    """Where the journal lives: ``$KIEFRAME_JOURNAL``, else under ``$XDG_STATE_HOME/kieframe/``.

    ``XDG_STATE_HOME`` defaults to ``~/.local/state``. ``KIEFRAME_JOURNAL=off`` (or ``0``,
    ``no``) turns the default journal off: then this is None.
    """
    explicit = os.environ.get(ENV_JOURNAL, "").strip()
    if explicit.lower() in ("off", "0", "no", "false"):
        return None
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "kieframe" / "journal.sqlite3"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host TEXT,
    model TEXT NOT NULL,
    input TEXT NOT NULL,
    status TEXT NOT NULL,
    task_id TEXT UNIQUE,
    detail TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_status ON submissions (status);
"""


class Journal:
    """The SQLite journal (the default :class:`SubmissionLog`); thread-safe, one file.

    ``path`` defaults to :func:`default_journal_path`; ``":memory:"`` keeps it in memory (tests).
    The file holds inputs and task ids, never the API key.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        target = default_journal_path() if path is None else path
        if target is None:
            raise ValueError(f"the default journal is turned off ({ENV_JOURNAL}); pass a path")
        self.path = str(target)
        self._lock = threading.Lock()
        try:
            if self.path != ":memory:":
                Path(target).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise self._error("cannot open", error) from None
        try:
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
                # FULL: the "sending" row must survive a power cut; one fsync per create is cheap
                # next to the create's own round trip.
                self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as error:
            self._db.close()
            raise self._error("cannot use", error) from None

    def _error(self, what: str, error: Exception) -> JournalError:
        return JournalError(
            f"{what} the journal {self.path} ({type(error).__name__}: {error}); move the file "
            f"aside, or set {ENV_JOURNAL} to another file (or to off)"
        )

    def __repr__(self) -> str:
        return f"<Journal {self.path}>"

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _write(self, sql: str, *args: Any) -> int:
        with self._lock, self._guard("cannot write to"):
            cursor = self._db.execute(sql, args)
            return cursor.lastrowid or 0

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Turn a database failure (corrupt, read-only, disk full) into a JournalError."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise  # a broken constraint is the caller's to explain
        except sqlite3.Error as error:
            raise self._error(what, error) from None

    def begin(self, *, model: str, input: Mapping[str, Any], host: str | None = None) -> int:
        """Record a create about to be sent (to the Jobs API at ``host``); return its entry id."""
        now = time.time()
        return self._write(
            "INSERT INTO submissions (host, model, input, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            host,
            model,
            json.dumps(dict(input), sort_keys=True, default=str),
            JournalStatus.SENDING.value,
            now,
            now,
        )

    def _set(
        self,
        entry: int,
        status: JournalStatus,
        *,
        only_if: tuple[JournalStatus, ...] = (),
        **columns: str | None,
    ) -> bool:
        """Update an entry; return whether a row changed (``only_if`` limits the old statuses)."""
        assignments = "".join(f", {name} = ?" for name in columns)
        guard = f" AND status IN ({', '.join('?' * len(only_if))})" if only_if else ""
        with self._lock, self._guard("cannot write to"):
            cursor = self._db.execute(
                f"UPDATE submissions SET status = ?, updated_at = ?{assignments}"  # noqa: S608 - names are ours
                f" WHERE id = ?{guard}",
                (status.value, time.time(), *columns.values(), entry, *only_if),
            )
            return cursor.rowcount > 0

    def accepted(self, entry: int, *, task_id: str) -> None:
        """kie.ai accepted the create of ``entry`` as ``task_id``."""
        self._set(entry, JournalStatus.ACCEPTED, task_id=task_id)

    def rejected(self, entry: int, *, reason: str) -> None:
        """kie.ai refused the create of ``entry``."""
        self._set(entry, JournalStatus.REJECTED, detail=reason)

    def uncertain(self, entry: int, *, reason: str) -> None:
        """The create of ``entry`` got no usable answer."""
        self._set(entry, JournalStatus.UNCERTAIN, detail=reason)

    def resolve(self, entry: int, *, task_id: str | None) -> None:
        """Settle a ``sending`` or ``uncertain`` entry after checking with kie.ai.

        ``task_id`` is the task found for it (the entry becomes ``accepted``, to be collected), or
        None when there is none (the entry becomes ``rejected``).
        """
        status, column = (
            (JournalStatus.REJECTED, {"detail": "resolved: no task was created"})
            if task_id is None
            else (JournalStatus.ACCEPTED, {"task_id": task_id})
        )
        try:
            changed = self._set(entry, status, only_if=_UNSETTLED, **column)
        except sqlite3.IntegrityError:
            raise ValueError(f"task {task_id} is already in the journal") from None
        if not changed:
            raise ValueError(f"entry {entry} is not sending or uncertain: nothing to resolve")

    def finished(self, task_id: str, *, succeeded: bool, detail: str | None = None) -> None:
        """The task ``task_id`` reached success or fail (unknown ids are ignored)."""
        status = JournalStatus.SUCCEEDED if succeeded else JournalStatus.FAILED
        self._write(
            "UPDATE submissions SET status = ?, updated_at = ?, detail = ? WHERE task_id = ?",
            status.value,
            time.time(),
            detail,
            task_id,
        )

    def entries(self, *, status: JournalStatus | None = None) -> list[JournalEntry]:
        """Every entry (or those with ``status``), oldest first."""
        sql = "SELECT id, host, model, input, status, task_id, detail, created_at, updated_at"
        sql += " FROM submissions"
        args: tuple[str, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status.value,)
        with self._lock, self._guard("cannot read"):
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [_entry(row) for row in rows]

    def unfinished(self) -> list[JournalEntry]:
        """Entries that need attention: tasks to collect and creates to reconcile."""
        return [entry for entry in self.entries() if entry.status in _OPEN]


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    ident, host, model, payload, status, task_id, detail, created, updated = row
    return JournalEntry(
        id=ident,
        host=host,
        model=model,
        input=json.loads(payload),
        status=JournalStatus(status),
        task_id=task_id,
        detail=detail,
        created_at=dt.datetime.fromtimestamp(created, tz=dt.UTC),
        updated_at=dt.datetime.fromtimestamp(updated, tz=dt.UTC),
    )
