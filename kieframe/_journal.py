"""The journal: a durable record of every create, written before it is sent and after it returns.

kie.ai has no idempotency key, and a task it accepted is paid for whether or not the client lives
to see the answer. The journal makes that survivable: each submission is written down as
``sending`` before the request leaves, then marked ``accepted`` (with kie's task id), ``rejected``
(kie said no: nothing to pay for), or ``uncertain`` (no answer: the task may exist). Waits mark
tasks ``succeeded`` or ``failed``. After a crash, :meth:`Journal.unfinished` lists what needs
attention: tasks to collect (``accepted``) and creates to reconcile (``sending``, ``uncertain``).

A task is known by its host and id together: two hosts (kie.ai, a proxy, an emulator) may hand out
the same id, and neither entry hides the other.

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
    "SCHEMA_VERSION",
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
    DISMISSED = "dismissed"  # set aside by the user: not to collect or reconcile


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

    def finished(
        self, task_id: str, *, succeeded: bool, detail: str | None = None, host: str | None = None
    ) -> None:
        """The task ``task_id`` (created on ``host``, if known) reached success or fail."""
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


#: The schema's version, kept in SQLite's ``user_version``; older journals are migrated on open.
SCHEMA_VERSION = 2

_TABLE = """
CREATE TABLE {name} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host TEXT,
    model TEXT NOT NULL,
    input TEXT NOT NULL,
    status TEXT NOT NULL,
    task_id TEXT,
    detail TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
)
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS submissions_status ON submissions (status);
CREATE INDEX IF NOT EXISTS submissions_task ON submissions (task_id, host);
"""
_COLUMNS = "id, host, model, input, status, task_id, detail, created_at, updated_at"


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
            self._prepare()
        except sqlite3.Error as error:
            self._db.close()
            raise self._error("cannot use", error) from None

    def _prepare(self) -> None:
        """Create the table, or bring an older journal up to :data:`SCHEMA_VERSION`.

        Version 1 (no ``user_version``) keyed tasks by id alone (``task_id UNIQUE``), and its
        first form had no ``host`` column; its rows are copied as they are, host unknown.
        """
        self._db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"schema version {version} is newer than this kieframe's ({SCHEMA_VERSION})"
                )
            if version < SCHEMA_VERSION:
                columns = {row[1] for row in self._db.execute("PRAGMA table_info(submissions)")}
                self._db.execute(_TABLE.format(name="submissions_new"))
                if columns:
                    copied = _COLUMNS if "host" in columns else _COLUMNS.replace("host", "NULL")
                    self._db.execute(
                        f"INSERT INTO submissions_new ({_COLUMNS})"  # noqa: S608 - names are ours
                        f" SELECT {copied} FROM submissions"
                    )
                    self._db.execute("DROP TABLE submissions")
                self._db.execute("ALTER TABLE submissions_new RENAME TO submissions")
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            for statement in filter(str.strip, _INDEXES.split(";")):
                self._db.execute(statement)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

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
        None when there is none (the entry becomes ``rejected``). Raises ValueError if the entry
        is settled already, or another entry of the same host holds that task id.
        """
        holder = None if task_id is None else self._holder(entry, task_id)
        if holder is not None:
            raise ValueError(f"task {task_id} is already in the journal (entry {holder})")
        status, column = (
            (JournalStatus.REJECTED, {"detail": "resolved: no task was created"})
            if task_id is None
            else (JournalStatus.ACCEPTED, {"task_id": task_id})
        )
        if not self._set(entry, status, only_if=_UNSETTLED, **column):
            raise ValueError(f"entry {entry} is not sending or uncertain: nothing to resolve")

    def dismiss(self, entry: int, *, reason: str = "dismissed") -> None:
        """Set an open entry aside (``dismissed``): it is no longer listed as unfinished.

        For a task that is not wanted any more, or a create checked by hand. Raises ValueError
        if the entry is not open.
        """
        if not self._set(entry, JournalStatus.DISMISSED, only_if=_OPEN, detail=reason):
            raise ValueError(f"entry {entry} is not open: nothing to dismiss")

    def _holder(self, entry: int, task_id: str) -> int | None:
        """Another entry of ``entry``'s host that holds ``task_id``, if any."""
        with self._lock, self._guard("cannot read"):
            row = self._db.execute(
                "SELECT id FROM submissions WHERE task_id = ? AND id != ?"
                " AND host IS (SELECT host FROM submissions WHERE id = ?)",
                (task_id, entry, entry),
            ).fetchone()
        return None if row is None else int(row[0])

    def finished(
        self, task_id: str, *, succeeded: bool, detail: str | None = None, host: str | None = None
    ) -> None:
        """The task ``task_id`` reached success or fail (unknown ids are ignored).

        With ``host``, the entry of that host (or one whose host was never recorded) is
        updated, never a namesake from another host; the newest such entry if several.
        """
        status = JournalStatus.SUCCEEDED if succeeded else JournalStatus.FAILED
        self._write(
            "UPDATE submissions SET status = ?, updated_at = ?, detail = ? WHERE id = ("
            " SELECT id FROM submissions WHERE task_id = ?"
            " AND (? IS NULL OR host IS ? OR host IS NULL)"
            " ORDER BY host IS ? DESC, id DESC LIMIT 1)",
            status.value,
            time.time(),
            detail,
            task_id,
            host,
            host,
            host,
        )

    def entries(self, *, status: JournalStatus | None = None) -> list[JournalEntry]:
        """Every entry (or those with ``status``), oldest first."""
        sql = f"SELECT {_COLUMNS} FROM submissions"  # noqa: S608 - names are ours
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
