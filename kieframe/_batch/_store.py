"""Where a batch's state lives: the :class:`BatchStore` protocol and its SQLite implementation.

Every change of a line's status is one *fenced transition*: it names the status (and, for work a
runner holds, the owner) it expects, and does nothing unless the line is still there, so a
runner that lost a line can never overwrite another's progress. Claims (with a lease) cover only
lines not yet sent: a line in ``sending`` or ``uncertain`` waits for its callback or a person.
The protocol is small on purpose, so the state can live in a shared database (see
:mod:`kieframe._postgres._batch`, where several workers run one batch).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import msgspec

from ..errors import BatchBusy, StaleTransition
from ._intake import Known, plan_intake
from ._records import FileEntry, LineError, LineInput, LineStatus

__all__ = [
    "CUT_OFF",
    "RETRIABLE",
    "SETTABLE",
    "STATE_FILE",
    "BatchBusy",
    "BatchStore",
    "DryRunStore",
    "SQLiteBatchStore",
    "StaleTransition",
    "StoredLine",
    "each_line",
    "encode_value",
    "fail_fast",
    "failing_fast",
    "line_columns",
    "retriable",
    "stored_error",
    "stored_line",
]


_failing_fast: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "kieframe_batch_fail_fast", default=False
)


@contextlib.contextmanager
def fail_fast() -> Iterator[None]:
    """Within it, a store that rides out database outages raises at once instead.

    For the write that lets a create leave: a create is never sent later than its journal
    entry could be written at once.
    """
    token = _failing_fast.set(True)
    try:
        yield
    finally:
        _failing_fast.reset(token)


def failing_fast() -> bool:
    """Whether the caller is inside :func:`fail_fast`."""
    return _failing_fast.get()


#: The state file's name in the output folder.
STATE_FILE = "batch.sqlite3"

#: The final states a retry (:meth:`BatchStore.requeue`) may move lines out of.
RETRIABLE = frozenset({LineStatus.FAILED, LineStatus.REJECTED, LineStatus.DOWNLOAD_FAILED})


def retriable(statuses: Iterable[LineStatus]) -> list[str]:
    """The values of ``statuses``, all final failed states (``ValueError`` otherwise)."""
    wanted = list(statuses)
    wrong = set(wanted) - RETRIABLE
    if wrong:
        raise ValueError(f"only lines in a final failed state can be retried, not {sorted(wrong)}")
    return [status.value for status in wanted]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredLine:
    """A line as the store holds it."""

    id: str
    line: int
    seq: int
    model: str | None
    input: Mapping[str, Any]
    digest: str
    status: LineStatus
    owner: str | None = None
    task_id: str | None = None
    callback_url: str | None = None
    sent_input: Mapping[str, Any] | None = None
    sent_at: float | None = None
    finished_at: float | None = None
    updated_at: float | None = None
    files: tuple[FileEntry, ...] = ()
    error: LineError | None = None
    credits: float | None = None


@runtime_checkable
class BatchStore(Protocol):
    """What a batch runner needs from its state; implement it to keep batches elsewhere."""

    @property
    def batch_id(self) -> str:
        """The batch's id, carried in callback URLs (with each line's id)."""
        ...

    def add_lines(self, lines: Sequence[LineInput], *, replace: bool = False) -> list[str]:
        """Record new lines (in order); return the ids of known lines whose input changed.

        With ``replace``, a changed line that is not in flight is reset to ``pending`` with its
        new input (and is paid again); in-flight lines are always reported.
        """
        ...

    def requeue(self, statuses: Iterable[LineStatus], *, to: LineStatus) -> int:
        """Move the lines in ``statuses`` to ``to`` (the retry options); return how many.

        Only final failed states (:data:`RETRIABLE`; others raise ``ValueError``), and only the
        lines no live runner holds: a line a running worker failed stays where it is (a retry
        started beside it would otherwise send again what that worker has just retried).
        """
        ...

    def held_from_retry(self, status: LineStatus) -> int:
        """How many lines in ``status`` a live runner holds: :meth:`requeue` leaves them."""
        ...

    def recover(self, owner: str) -> int:
        """Settle lines other, dead runners left; return how many became ``uncertain``.

        Dead: with SQLite every other runner (the run lock is held); in a shared database,
        those whose :meth:`heartbeat` lease ran out. Their ``sending`` lines become
        ``uncertain`` (never resent on their own) and their claims go back to ``pending``
        (nothing of them was sent).
        """
        ...

    def heartbeat(self, owner: str, *, lease: float) -> None:
        """``owner`` runs for ``lease`` more seconds (0: it stopped); a runner renews it."""
        ...

    def adopt(self, owner: str) -> list[StoredLine]:
        """The ``accepted`` and ``downloading`` lines ``owner`` is to follow.

        Its own, and those of dead runners (or of none), which become its own.
        """
        ...

    def held_by_others(self, owner: str) -> int:
        """How many lines in progress other live runners hold (0 with a single runner)."""
        ...

    def manifest_lock(self) -> contextlib.AbstractContextManager[None]:
        """Held while the manifest is written: one writer at a time."""
        ...

    def claim(self, owner: str, *, lease: float) -> StoredLine | None:
        """Take the next ``pending`` line (or one whose claim lease ran out) for ``owner``."""
        ...

    def transition(
        self,
        line_id: str,
        *,
        expect: LineStatus | Iterable[LineStatus],
        to: LineStatus,
        owner: str | None = None,
        **values: Any,
    ) -> StoredLine:
        """Move a line from ``expect`` to ``to`` (held by ``owner`` if given), durably.

        ``values`` set columns (``task_id``, ``callback_url``, ``sent_input``, ``sent_at``,
        ``files``, ``error``, ``credits``). Raises :class:`StaleTransition` if the line was
        elsewhere.
        """
        ...

    def lines(self, statuses: Iterable[LineStatus] | None = None) -> list[StoredLine]:
        """Every line (or those in ``statuses``), in input order."""
        ...

    def counts(self) -> dict[str, int]:
        """How many lines are in each status."""
        ...

    def figures(self, *, since: float) -> tuple[int, int, float]:
        """Creates sent since ``since`` (Unix seconds), bytes downloaded, credits consumed."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lines (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    line INTEGER NOT NULL,
    model TEXT,
    input TEXT NOT NULL,
    digest TEXT NOT NULL,
    status TEXT NOT NULL,
    owner TEXT,
    lease_until REAL,
    task_id TEXT,
    callback_url TEXT,
    sent_input TEXT,
    sent_at REAL,
    finished_at REAL,
    updated_at REAL NOT NULL,
    files TEXT,
    error TEXT,
    credits REAL,
    bytes INTEGER
);
CREATE INDEX IF NOT EXISTS lines_status ON lines (status, seq);
"""

_COLUMNS = (
    "id, seq, line, model, input, digest, status, owner, task_id, callback_url, sent_input,"
    " sent_at, finished_at, updated_at, files, error, credits"
)
SETTABLE = frozenset(
    {
        "task_id",
        "callback_url",
        "sent_input",
        "sent_at",
        "files",
        "error",
        "credits",
        "finished_at",
        "bytes",
    }
)
_RAW = frozenset({"task_id", "callback_url", "sent_at", "credits", "finished_at", "bytes"})
# Statuses whose transitions must survive a power cut (a paid create hangs on them).
_SYNCED = frozenset({LineStatus.SENDING, LineStatus.ACCEPTED, LineStatus.UNCERTAIN})
_FILES = msgspec.json.Decoder(tuple[FileEntry, ...])
_ERROR = msgspec.json.Decoder(LineError)


#: The error of a line whose create was in flight when its runner stopped (or was taken for dead).
CUT_OFF = LineError(
    type="SubmissionUncertain",
    message="the create was in flight when its runner stopped; the task may exist",
)


def stored_error(text: str | None) -> LineError | None:
    """A line's ``error`` column (JSON text) as a :class:`LineError`; None when empty."""
    return _ERROR.decode(text) if text else None


def encode_value(name: str, value: Any) -> Any:
    """A settable column's value as stored (JSON text for structured ones)."""
    if value is None or name in _RAW:
        return value
    return msgspec.json.encode(value).decode()


class SQLiteBatchStore:
    """The default :class:`BatchStore`: one SQLite file (WAL, every transition synced to disk).

    Readers in other processes (``kieframe batch status``) see a consistent state while a batch
    runs. Only one runner at a time: :meth:`lock` takes an exclusive lock beside the file.
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._run_lock: Any = None
        if readonly:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            return
        if str(path) != _MEMORY:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Transitions that concern money (sending, accepted, uncertain) wait for the disk: a
        # "sending" line must survive a power cut before its paid create leaves. The others are
        # safe from a crash of the process (WAL) and at worst repeat free work after a power cut.
        self._db.execute("PRAGMA synchronous=FULL")
        self._synced = True
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)
        self._db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('batch_id', ?)", (uuid.uuid4().hex,)
        )

    def __repr__(self) -> str:
        return f"<SQLiteBatchStore {self.path}>"

    @functools.cached_property
    def batch_id(self) -> str:
        """The batch's id (random, made when the file was)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'batch_id'").fetchone()
        return str(row[0])

    def lock(self) -> None:
        """Hold the batch's run lock until :meth:`close`; :class:`BatchBusy` if taken."""
        import fcntl  # POSIX; the batch command's run lock

        handle = open(f"{self.path}.lock", "a+b")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            where = self.path.parent if self.path.name == STATE_FILE else self.path
            raise BatchBusy(
                f"another process is running the batch in {self.path}; let it finish (or stop"
                f" it), and follow it meanwhile with: kieframe batch status {where}"
            ) from None
        self._run_lock = handle

    def close(self) -> None:
        """Close the database and release the run lock."""
        with self._lock:
            self._db.close()
        if self._run_lock is not None:
            self._run_lock.close()
            self._run_lock = None

    @contextlib.contextmanager
    def _transaction(self, *, sync: bool = False) -> Iterator[sqlite3.Cursor]:
        """A write transaction; ``sync`` waits for the disk (a power cut cannot undo it)."""
        with self._lock:
            cursor = self._db.cursor()
            if sync != self._synced:
                cursor.execute(f"PRAGMA synchronous={'FULL' if sync else 'NORMAL'}")
                self._synced = sync
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def add_lines(self, lines: Sequence[LineInput], *, replace: bool = False) -> list[str]:
        """Record new lines; return the ids of known lines whose input changed (see protocol)."""
        now = time.time()
        with self._transaction() as cursor:
            known = {
                row[0]: Known(row[1], LineStatus(row[2]), row[3], row[4], stored_error(row[5]))
                for row in cursor.execute("SELECT id, digest, status, seq, line, error FROM lines")
            }
            intake = plan_intake(known, lines, replace=replace)
            cursor.executemany(
                "INSERT INTO lines (id, seq, line, model, input, digest, error, status,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((p.line.id, p.seq, *line_columns(p.line), p.status.value, now)
                 for p in intake.inserts),  # one row at a time: a big file's rows are not held
            )  # fmt: skip
            cursor.executemany(
                "UPDATE lines SET seq = ?, line = ? WHERE id = ?",
                [(seq, number, ident) for ident, seq, number in intake.moves],
            )
            cursor.executemany(
                "UPDATE lines SET seq = ?, line = ?, model = ?, input = ?, digest = ?,"
                " error = ?, status = ?, updated_at = ?, owner = NULL, task_id = NULL,"
                " callback_url = NULL, sent_input = NULL, sent_at = NULL, finished_at = NULL,"
                " files = NULL, credits = NULL, bytes = NULL WHERE id = ?",
                ((p.seq, *line_columns(p.line), p.status.value, now, p.line.id)
                 for p in intake.resets),
            )  # fmt: skip
        return list(intake.changed)

    def heartbeat(self, owner: str, *, lease: float) -> None:
        """Nothing to do: the run lock says who runs."""

    def held_by_others(self, owner: str) -> int:
        """0: the run lock makes this runner the only one."""
        return 0

    def manifest_lock(self) -> contextlib.AbstractContextManager[None]:
        """Nothing to lock: the run lock makes this runner the only writer."""
        return contextlib.nullcontext()

    def adopt(self, owner: str) -> list[StoredLine]:
        """Every ``accepted`` and ``downloading`` line, now ``owner``'s (others are dead)."""
        followed = (LineStatus.ACCEPTED.value, LineStatus.DOWNLOADING.value)
        with self._transaction() as cursor:
            cursor.execute(
                "UPDATE lines SET owner = ? WHERE status IN (?, ?)"
                " AND (owner IS NULL OR owner != ?)",
                (owner, *followed, owner),
            )
        return self.lines([LineStatus.ACCEPTED, LineStatus.DOWNLOADING])

    def held_from_retry(self, status: LineStatus) -> int:
        """0: the run lock makes this runner the only one."""
        return 0

    def requeue(self, statuses: Iterable[LineStatus], *, to: LineStatus) -> int:
        """Move every line in ``statuses`` to ``to``; return how many moved.

        No other runner is live (the run lock is this one's), so only the states are checked.
        """
        wanted = retriable(statuses)
        if not wanted:
            return 0
        marks = ", ".join("?" * len(wanted))
        clear = ", task_id = NULL, sent_at = NULL" if to == LineStatus.PENDING else ""
        with self._transaction() as cursor:
            cursor.execute(
                f"UPDATE lines SET status = ?, owner = NULL, error = NULL{clear},"  # noqa: S608
                f" updated_at = ? WHERE status IN ({marks})",
                (to.value, time.time(), *wanted),
            )
            return cursor.rowcount

    def recover(self, owner: str) -> int:
        """Settle what other (dead: the run lock is ours) runners left; see the protocol."""
        error = encode_value("error", CUT_OFF)
        with self._transaction(sync=True) as cursor:
            cursor.execute(
                "UPDATE lines SET status = ?, error = ?, updated_at = ?"
                " WHERE status = ? AND (owner IS NULL OR owner != ?)",
                (LineStatus.UNCERTAIN.value, error, time.time(), LineStatus.SENDING.value, owner),
            )
            uncertain = cursor.rowcount
            cursor.execute(
                "UPDATE lines SET status = ?, owner = NULL, updated_at = ?"
                " WHERE status = ? AND (owner IS NULL OR owner != ?)",
                (LineStatus.PENDING.value, time.time(), LineStatus.CLAIMED.value, owner),
            )
            return uncertain

    def claim(self, owner: str, *, lease: float) -> StoredLine | None:
        """Take the next ``pending`` line (or an expired claim) for ``owner``."""
        now = time.time()
        with self._transaction() as cursor:
            row = cursor.execute(
                f"SELECT {_COLUMNS} FROM lines WHERE status = ?"  # noqa: S608 - our columns
                " OR (status = ? AND lease_until < ?) ORDER BY seq LIMIT 1",
                (LineStatus.PENDING.value, LineStatus.CLAIMED.value, now),
            ).fetchone()
            if row is None:
                return None
            cursor.execute(
                "UPDATE lines SET status = ?, owner = ?, lease_until = ?, updated_at = ?"
                " WHERE id = ?",
                (LineStatus.CLAIMED.value, owner, now + lease, now, row[0]),
            )
        line = stored_line(row)
        return StoredLine(**{**_fields(line), "status": LineStatus.CLAIMED, "owner": owner})

    def transition(
        self,
        line_id: str,
        *,
        expect: LineStatus | Iterable[LineStatus],
        to: LineStatus,
        owner: str | None = None,
        **values: Any,
    ) -> StoredLine:
        """Move a line from ``expect`` to ``to``, durably; see :class:`BatchStore`."""
        unknown = set(values) - SETTABLE
        if unknown:
            raise TypeError(f"cannot set {sorted(unknown)}")
        expected = [expect] if isinstance(expect, LineStatus) else list(expect)
        assignments = "".join(f", {name} = ?" for name in values)
        guard = f" AND status IN ({', '.join('?' * len(expected))})"
        args: list[Any] = [to.value, time.time()]
        args += [encode_value(name, value) for name, value in values.items()]
        args += [line_id, *(status.value for status in expected)]
        if owner is not None:
            guard += " AND owner = ?"
            args.append(owner)
        with self._transaction(sync=to in _SYNCED or LineStatus.SENDING in expected) as cursor:
            cursor.execute(
                f"UPDATE lines SET status = ?, updated_at = ?{assignments}"  # noqa: S608
                f" WHERE id = ?{guard}",
                args,
            )
            if cursor.rowcount != 1:
                found = cursor.execute(
                    "SELECT status, owner FROM lines WHERE id = ?", (line_id,)
                ).fetchone()
                where = f"{found[0]} (owner {found[1]})" if found else "not in the batch"
                raise StaleTransition(
                    f"line {line_id!r}: expected {'/'.join(s.value for s in expected)},"
                    f" found {where}; not moved to {to.value}"
                )
            row = cursor.execute(
                f"SELECT {_COLUMNS} FROM lines WHERE id = ?",  # noqa: S608
                (line_id,),
            ).fetchone()
        return stored_line(row)

    def lines(self, statuses: Iterable[LineStatus] | None = None) -> list[StoredLine]:
        """Every line (or those in ``statuses``), in input order."""
        sql = f"SELECT {_COLUMNS} FROM lines"  # noqa: S608 - our columns
        args: list[str] = []
        if statuses is not None:
            args = [status.value for status in statuses]
            sql += f" WHERE status IN ({', '.join('?' * len(args))})"
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", args).fetchall()
        return [stored_line(row) for row in rows]

    def each_line(self, read: Callable[[StoredLine], _T]) -> list[_T]:
        """``read`` of every line, in input order, without holding every line at once.

        The lines are read one at a time from the database (``read`` must not use the store):
        a big batch's records take what they take, not that and every line's input besides.
        """
        sql = f"SELECT {_COLUMNS} FROM lines ORDER BY seq"  # noqa: S608 - our columns
        with self._lock:
            return [read(stored_line(row)) for row in self._db.execute(sql)]

    def counts(self) -> dict[str, int]:
        """How many lines are in each status."""
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM lines GROUP BY status")
            return dict(rows)

    def figures(self, *, since: float) -> tuple[int, int, float]:
        """Creates sent since ``since``, bytes downloaded, credits consumed."""
        with self._lock:
            sent, size, credits = self._db.execute(
                "SELECT SUM(sent_at >= ?), SUM(bytes), SUM(credits) FROM lines", (since,)
            ).fetchone()
        return int(sent or 0), int(size or 0), float(credits or 0.0)


class DryRunStore(SQLiteBatchStore):
    """A copy in memory of a batch's state (``source``; None: a new batch), for a dry run.

    The dry run adds its lines here as a run would to ``source``: it previews what the run
    would find and do, and nothing of it is written anywhere. Which lines a live worker holds
    is asked of ``source``, which the caller keeps open meanwhile (and closes).
    """

    def __init__(self, source: BatchStore | None) -> None:
        super().__init__(_MEMORY)
        self._source = source
        if isinstance(source, SQLiteBatchStore):
            with source._lock:
                source._db.backup(self._db)  # page by page: the file's exact state
        elif source is not None:
            self._copy(source)

    def __repr__(self) -> str:
        return f"<DryRunStore of {self._source!r}>"

    def _copy(self, source: BatchStore) -> None:
        rows = [
            (line.id, line.seq, line.line, line.model, json.dumps(dict(line.input), default=str),
             line.digest, line.status.value, line.owner, line.task_id, line.callback_url,
             encode_value("sent_input", line.sent_input), line.sent_at, line.finished_at,
             line.updated_at or 0.0, encode_value("files", line.files or None),
             encode_value("error", line.error), line.credits,
             sum(entry.bytes for entry in line.files) if line.files else None)
            for line in source.lines()
        ]  # fmt: skip
        with self._transaction() as cursor:
            cursor.execute("UPDATE meta SET value = ? WHERE key = 'batch_id'", (source.batch_id,))
            cursor.executemany(
                f"INSERT INTO lines ({_COLUMNS}, bytes) VALUES ({', '.join('?' * 18)})",  # noqa: S608
                rows,
            )

    def held_from_retry(self, status: LineStatus) -> int:
        """What the source says: its live workers' lines are left out of a retry."""
        return 0 if self._source is None else self._source.held_from_retry(status)


_MEMORY = ":memory:"
_T = TypeVar("_T")


def each_line(store: BatchStore, read: Callable[[StoredLine], _T]) -> list[_T]:
    """``read`` of every line of ``store``, in input order (one at a time from SQLite)."""
    if isinstance(store, SQLiteBatchStore):
        return store.each_line(read)
    return [read(line) for line in store.lines()]


def line_columns(line: LineInput) -> tuple[Any, ...]:
    """The columns of a line from the file, as written: line, model, input, digest, error."""
    payload = json.dumps(dict(line.input), default=str)
    return (line.line, line.model, payload, line.digest, encode_value("error", line.error))


def _fields(line: StoredLine) -> dict[str, Any]:
    return {name: getattr(line, name) for name in StoredLine.__slots__}


def stored_line(row: Sequence[Any]) -> StoredLine:
    """A line from a row of the store's columns (JSON columns as text)."""
    (ident, seq, number, model, payload, fingerprint, status, owner, task_id, callback_url,
     sent_input, sent_at, finished_at, updated_at, files, error, credits) = row  # fmt: skip
    return StoredLine(
        id=ident,
        line=number,
        seq=seq,
        model=model,
        input=json.loads(payload),
        digest=fingerprint,
        status=LineStatus(status),
        owner=owner,
        task_id=task_id,
        callback_url=callback_url,
        sent_input=json.loads(sent_input) if sent_input else None,
        sent_at=sent_at,
        finished_at=finished_at,
        updated_at=updated_at,
        files=_FILES.decode(files) if files else (),
        error=stored_error(error),
        credits=credits,
    )


def is_running(path: str | os.PathLike[str]) -> bool:
    """Whether a runner holds the run lock of the SQLite store at ``path``."""
    import fcntl

    lock = Path(f"{path}.lock")
    if not lock.exists():
        return False
    with lock.open("a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False
