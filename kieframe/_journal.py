"""The journal: a durable record of every create, written before it is sent and after it returns.

kie.ai has no idempotency key, and a task it accepted is paid for whether or not the client lives
to see the answer. The journal makes that survivable: each submission is written down as
``sending`` before the request leaves, then marked ``accepted`` (with kie's task id), ``rejected``
(kie said no: nothing to pay for), or ``uncertain`` (no answer: the task may exist). Waits mark
tasks ``succeeded`` or ``failed``. After a crash, :meth:`Journal.unfinished` lists what needs
attention: tasks to collect (``accepted``) and creates to reconcile (``sending``, ``uncertain``).

A task is known by its host and id together: two hosts (kie.ai, a proxy, an emulator) may hand out
the same id, and neither entry hides the other.

A create sent with a callback URL carries its own submission token in that URL (the query
parameter ``kieframe_submission``): the receiver that gets the task's callback settles an
``uncertain`` (or ``sending``) entry to ``accepted`` with the task id, through
:meth:`SqlJournal.settle_callback`. That relies on kie.ai calling the URL as given, query string
included, or on the record that kie.ai echoes the create in (its ``param``, the callback URL
included); without either the entry stays to reconcile by hand (``kieframe journal resolve``).

Any object with the methods of :class:`SubmissionLog` can stand in for the SQLite journal.
:class:`SqlJournal` holds the rules shared by the SQLite journal and the PostgreSQL one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ._errors import JournalError

__all__ = [
    "CALLBACK_PARAMETER",
    "ENV_JOURNAL",
    "SCHEMA_VERSION",
    "Journal",
    "JournalEntry",
    "JournalStatus",
    "SqlJournal",
    "SubmissionLog",
    "callback_token",
    "default_journal_path",
    "new_token",
    "record_token",
    "tag_callback_url",
]

logger = logging.getLogger("kieframe")

#: The environment variable naming the journal file.
ENV_JOURNAL = "KIEFRAME_JOURNAL"


#: The first bytes of every SQLite database file.
_SQLITE_HEADER = b"SQLite format 3\x00"


def _check_database_file(path: Path) -> None:
    """Refuse an existing file that is not empty and not a SQLite database.

    SQLite would take a file of a few bytes for an empty database and write over it. An empty
    file (``touch journal.sqlite3``) is one: SQLite makes it a journal.
    """
    if not path.is_file():  # none yet (or a directory, which SQLite refuses): never block
        return
    with path.open("rb") as handle:
        head = handle.read(len(_SQLITE_HEADER))
    if head and head != _SQLITE_HEADER:
        raise sqlite3.DatabaseError("the file is not a SQLite database; kieframe left it as it is")


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
#: The columns of an entry, in the order the stores' ``_entry`` decoders take them.
_COLUMNS = "id, host, model, input, status, task_id, detail, created_at, updated_at"
#: Of the entries a WHERE clause picked, the one of a host (three ``?`` for it): that host's, else
#: one whose host was never recorded, the newest if several; any entry when the host is None.
_OF_HOST = (
    " AND (CAST(? AS TEXT) IS NULL OR host = ? OR host IS NULL)"
    " ORDER BY CASE WHEN coalesce(host, '') = coalesce(CAST(? AS TEXT), '') THEN 0"
    " ELSE 1 END, id DESC LIMIT 1"
)


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


#: The query parameter of a callback URL that names the submission it reports on.
CALLBACK_PARAMETER = "kieframe_submission"


def new_token() -> str:
    """A fresh submission token: random, unguessable, safe in a URL."""
    return secrets.token_urlsafe(16)


def tag_callback_url(url: str, token: str) -> str:
    """``url`` with the submission ``token`` added to its query (the user's parameters kept)."""
    parts = urlsplit(url)
    query = "&".join(
        part
        for part in parts.query.split("&")
        if part and part.split("=", 1)[0] != CALLBACK_PARAMETER
    )
    query = f"{query}&" if query else ""
    return urlunsplit(parts._replace(query=f"{query}{CALLBACK_PARAMETER}={token}"))


def callback_token(query_string: bytes | str) -> str | None:
    """The submission token in a callback request's query string, if it carries one."""
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    values = parse_qs(query_string).get(CALLBACK_PARAMETER)
    return values[-1] if values else None


def record_token(param: Mapping[str, Any] | None) -> str | None:
    """The submission token in the callback URL of a create, as a task record echoes it."""
    url = param.get("callBackUrl") if param is not None else None
    try:
        return callback_token(urlsplit(url).query) if isinstance(url, str) else None
    except ValueError:  # not a URL urllib reads ("http://[::1"): none that kieframe tagged
        return None


class SqlJournal:
    """The journal's rules over one table of submissions; stores supply the SQL connection.

    An outcome (accepted, rejected, uncertain) is written only while the entry is ``sending``,
    and only by its owner where the store has owners (:meth:`_fence`): a settled entry is never
    overwritten, and an outcome that comes too late is logged, not raised, so the create's own
    result (a task, or the reason it is uncertain) reaches the caller. Subclasses give the table,
    the database's clock in the stored form, one statement runner and the row decoder; SQL is
    written with ``?`` placeholders.
    """

    _table: ClassVar[str]
    _now: ClassVar[str]

    def _run(self, sql: str, args: Sequence[object]) -> tuple[int, list[tuple[Any, ...]]]:
        """Run one statement: (rows changed, rows returned)."""
        raise NotImplementedError

    def _insert(self, *, model: str, payload: str, host: str | None, token: str | None) -> int:
        """Add a ``sending`` entry; return its id."""
        raise NotImplementedError

    def _entry(self, row: tuple[Any, ...]) -> JournalEntry:
        """The entry of one row of :data:`_COLUMNS`."""
        raise NotImplementedError

    def _fence(self) -> tuple[str, tuple[object, ...]]:
        """The condition (and its arguments) that an entry is this journal object's own."""
        return "", ()

    def begin(
        self,
        *,
        model: str,
        input: Mapping[str, Any],
        host: str | None = None,
        token: str | None = None,
    ) -> int:
        """Record a create about to be sent (to the Jobs API at ``host``); return its entry id.

        ``token`` is the submission token its callback URL carries (see :func:`tag_callback_url`).
        """
        payload = json.dumps(dict(input), sort_keys=True, default=str)
        return self._insert(model=model, payload=payload, host=host, token=token)

    def _set(
        self,
        entry: int,
        status: JournalStatus,
        *,
        only_if: tuple[JournalStatus, ...],
        fenced: bool = False,
        columns: Mapping[str, str | None],
    ) -> bool:
        """Update an entry whose status is one of ``only_if``; return whether it changed."""
        assignments = "".join(f", {name} = ?" for name in columns)
        fence, fence_args = self._fence() if fenced else ("", ())
        changed, _ = self._run(
            f"UPDATE {self._table} SET status = ?, updated_at = {self._now}{assignments}"  # noqa: S608 - names are ours
            f" WHERE id = ? AND status IN ({', '.join('?' * len(only_if))}){fence}",
            (status.value, *columns.values(), entry, *(old.value for old in only_if), *fence_args),
        )
        return changed > 0

    def _get(self, entry: int) -> JournalEntry | None:
        _, rows = self._run(f"SELECT {_COLUMNS} FROM {self._table} WHERE id = ?", (entry,))  # noqa: S608
        return self._entry(rows[0]) if rows else None

    def _outcome(self, entry: int, status: JournalStatus, **columns: str) -> None:
        """Write the outcome of this owner's create, unless the entry was settled meanwhile."""
        if self._set(entry, status, only_if=(JournalStatus.SENDING,), fenced=True, columns=columns):
            return
        now = self._get(entry)
        if (
            now is not None
            and now.status is not JournalStatus.SENDING
            and now.task_id
            and (status is not JournalStatus.ACCEPTED or columns.get("task_id") == now.task_id)
        ):  # its callback came first and settled it: nothing is lost
            logger.info("journal entry %s was settled as task %s already", entry, now.task_id)
            return
        found = "gone" if now is None else f"now {now.status.value}"
        logger.warning(
            "journal entry %s is not sending under this journal (%s): not marking it %s %s",
            entry,
            found,
            status.value,
            columns,
        )

    def accepted(self, entry: int, *, task_id: str) -> None:
        """kie.ai accepted the create of ``entry`` as ``task_id``."""
        self._outcome(entry, JournalStatus.ACCEPTED, task_id=task_id)

    def rejected(self, entry: int, *, reason: str) -> None:
        """kie.ai refused the create of ``entry``."""
        self._outcome(entry, JournalStatus.REJECTED, detail=reason)

    def uncertain(self, entry: int, *, reason: str) -> None:
        """The create of ``entry`` got no usable answer."""
        self._outcome(entry, JournalStatus.UNCERTAIN, detail=reason)

    def resolve(self, entry: int, *, task_id: str | None) -> None:
        """Settle a ``sending`` or ``uncertain`` entry after checking with kie.ai (any owner).

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
        if not self._set(entry, status, only_if=_UNSETTLED, columns=column):
            raise ValueError(f"entry {entry} is not sending or uncertain: nothing to resolve")

    def settle_callback(self, token: str, *, task_id: str) -> int | None:
        """Settle the create whose callback URL carried ``token``: kie.ai made ``task_id``.

        A ``sending`` or ``uncertain`` entry becomes ``accepted`` with the task id; return its id,
        or None when no unsettled entry carries the token (another journal's, or settled).
        """
        _, rows = self._run(f"SELECT id, status FROM {self._table} WHERE token = ?", (token,))  # noqa: S608
        if not rows or rows[0][1] not in _UNSETTLED:  # the common case: its answer came
            return None
        entry = int(rows[0][0])
        if self._holder(entry, task_id) is not None:
            return None
        columns = {"task_id": task_id, "detail": "settled by its callback"}
        if self._set(entry, JournalStatus.ACCEPTED, only_if=_UNSETTLED, columns=columns):
            logger.info("journal entry %s settled by its callback: task %s", entry, task_id)
            return entry
        return None

    def dismiss(self, entry: int, *, reason: str = "dismissed") -> None:
        """Set an open entry aside (``dismissed``): it is no longer listed as unfinished.

        For a task that is not wanted any more, or a create checked by hand. Raises ValueError
        if the entry is not open.
        """
        if not self._set(entry, JournalStatus.DISMISSED, only_if=_OPEN, columns={"detail": reason}):
            raise ValueError(f"entry {entry} is not open: nothing to dismiss")

    def _holder(self, entry: int, task_id: str) -> int | None:
        """Another entry of ``entry``'s host that holds ``task_id``, if any."""
        _, rows = self._run(
            f"SELECT id FROM {self._table} WHERE task_id = ? AND id <> ?"  # noqa: S608
            f" AND coalesce(host, '') = (SELECT coalesce(host, '') FROM {self._table}"
            " WHERE id = ?)",
            (task_id, entry, entry),
        )
        return None if not rows else int(rows[0][0])

    def finished(
        self, task_id: str, *, succeeded: bool, detail: str | None = None, host: str | None = None
    ) -> None:
        """The task ``task_id`` reached success or fail (unknown ids are ignored).

        With ``host``, the entry of that host (or one whose host was never recorded) is
        updated, never a namesake from another host; the newest such entry if several.
        """
        status = JournalStatus.SUCCEEDED if succeeded else JournalStatus.FAILED
        self._run(
            f"UPDATE {self._table} SET status = ?, updated_at = {self._now}, detail = ?"  # noqa: S608
            f" WHERE id = (SELECT id FROM {self._table} WHERE task_id = ?"
            f"{_OF_HOST})",
            (status.value, detail, task_id, host, host, host),
        )

    def submission(self, task_id: str, *, host: str | None = None) -> JournalEntry | None:
        """The entry of the create that made ``task_id``, if it is still to collect.

        An ``accepted`` entry, or an ``uncertain`` one (the create may have been accepted); with
        ``host``, the entry of that host, else one whose host was never recorded (as
        :meth:`finished` picks), the newest if several.
        """
        _, rows = self._run(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE task_id = ? AND status IN (?, ?)"  # noqa: S608
            f"{_OF_HOST}",
            (task_id, JournalStatus.ACCEPTED.value, JournalStatus.UNCERTAIN.value, *[host] * 3),
        )
        return self._entry(rows[0]) if rows else None

    def entries(self, *, status: JournalStatus | None = None) -> list[JournalEntry]:
        """Every entry (or those with ``status``), oldest first."""
        where, args = ("", ()) if status is None else (" WHERE status = ?", (status.value,))
        _, rows = self._run(
            f"SELECT {_COLUMNS} FROM {self._table}{where} ORDER BY id",  # noqa: S608
            args,
        )
        return [self._entry(row) for row in rows]

    def unfinished(self) -> list[JournalEntry]:
        """Entries that need attention: tasks to collect and creates to reconcile."""
        return [entry for entry in self.entries() if entry.status in _OPEN]


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
SCHEMA_VERSION = 3

_TABLE = """
CREATE TABLE {name} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host TEXT,
    model TEXT NOT NULL,
    input TEXT NOT NULL,
    status TEXT NOT NULL,
    task_id TEXT,
    detail TEXT,
    token TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
)
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS submissions_status ON submissions (status);
CREATE INDEX IF NOT EXISTS submissions_task ON submissions (task_id, host);
CREATE UNIQUE INDEX IF NOT EXISTS submissions_token ON submissions (token) WHERE token IS NOT NULL;
"""


class Journal(SqlJournal):
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
                _check_database_file(Path(target))
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
        Version 2 lacked the submission token of callback URLs (``token``).
        """
        self._db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"schema version {version} is newer than this kieframe's ({SCHEMA_VERSION})"
                )
            if version == 2:  # the version before the token
                self._db.execute("ALTER TABLE submissions ADD COLUMN token TEXT")
            elif version < SCHEMA_VERSION:
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
            if version < SCHEMA_VERSION:
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

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Turn a database failure (corrupt, read-only, disk full) into a JournalError."""
        try:
            yield
        except sqlite3.Error as error:
            raise self._error(what, error) from None

    _table = "submissions"
    _now = "((julianday('now') - 2440587.5) * 86400.0)"  # the epoch, as the rows keep it

    def _run(self, sql: str, args: Sequence[object]) -> tuple[int, list[tuple[Any, ...]]]:
        with self._lock, self._guard("cannot use"):
            cursor = self._db.execute(sql, tuple(args))
            return cursor.rowcount, cursor.fetchall()

    def _insert(self, *, model: str, payload: str, host: str | None, token: str | None) -> int:
        with self._lock, self._guard("cannot write to"):
            cursor = self._db.execute(
                "INSERT INTO submissions (host, model, input, status, token, created_at,"  # noqa: S608
                f" updated_at) VALUES (?, ?, ?, 'sending', ?, {self._now}, {self._now})",
                (host, model, payload, token),
            )
            return cursor.lastrowid or 0

    def _entry(self, row: tuple[Any, ...]) -> JournalEntry:
        return _entry(row)


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
