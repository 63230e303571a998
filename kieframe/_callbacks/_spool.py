"""A durable queue of accepted callbacks: one SQLite file in WAL mode, committed in groups.

The receiver acknowledges a callback once its record is on disk. Requests that arrive together
share one commit (one fsync): each adds its record to the pending group, and a flusher task writes
the whole group in one transaction from a worker thread, then passes every record in it on and
releases its requests. Handled records are deleted in a later commit. Records still in the file
when a receiver starts (it was killed after acknowledging them) are replayed, so an acknowledged
callback is handled even across a crash: at least once, and exactly once unless the process dies
while its handler runs or before the commit that deletes its record.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec

from .._records import TaskRecord, parse_record

__all__ = ["Spool"]

logger = logging.getLogger("kieframe")

Committed = Callable[[int, TaskRecord], None]


class Spool:
    """Accepted callbacks kept in the SQLite file at ``path`` until they were handled.

    Each commit is flushed to the disk (fsync) unless ``fsync`` is False: then it is handed to
    the operating system, which keeps it if the process is killed, though not if the machine loses
    power. :meth:`open` creates the file (and its directory) and returns the records left in it;
    :meth:`add` resolves once its record is committed (``committed`` was called with it and its
    number first); :meth:`done` forgets a handled record. All of it runs on one event loop.
    """

    def __init__(
        self, path: str | os.PathLike[str], committed: Committed, *, fsync: bool = True
    ) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._committed = committed
        self._db: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._adds: list[tuple[TaskRecord, asyncio.Future[None]]] = []
        self._done: list[int] = []
        self._wake: asyncio.Event | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._closing = False

    def __repr__(self) -> str:
        return f"<Spool {str(self.path)!r}>"

    def open(self) -> list[tuple[int, TaskRecord]]:
        """Open the file and start the flusher on the running loop; the records left in it."""
        if self._db is not None:
            raise RuntimeError(f"{self!r} is open already: one receiver, on one loop, per file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as error:
            raise OSError(f"cannot open the callback spool {str(self.path)!r}: {error}") from None
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk when it returns; NORMAL: in the OS's cache, which a
            # killed process does not lose (a power cut may), and the disk at checkpoints.
            db.execute(f"PRAGMA synchronous={'FULL' if self.fsync else 'NORMAL'}")
            db.execute("CREATE TABLE IF NOT EXISTS callbacks"
                       " (seq INTEGER PRIMARY KEY, record BLOB NOT NULL)")  # fmt: skip
            rows = db.execute("SELECT seq, record FROM callbacks ORDER BY seq").fetchall()
        except sqlite3.Error as error:
            db.close()
            raise OSError(f"cannot read the callback spool {str(self.path)!r}: {error}") from None
        left: list[tuple[int, TaskRecord]] = []
        for seq, raw in rows:
            try:
                left.append((seq, parse_record(msgspec.json.decode(raw))))
            except (ValueError, RecursionError, msgspec.DecodeError):
                logger.warning("dropping the unreadable callback %s of %s", seq, self.path)
                self._done.append(seq)
        self._db, self._closing = db, False
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="kieframe-spool")
        self._wake = asyncio.Event()
        self._flusher = asyncio.get_running_loop().create_task(
            self._flush(), name="kieframe-callback-spool"
        )
        if self._done:
            self._wake.set()
        return left

    async def add(self, record: TaskRecord) -> None:
        """Return once ``record`` is on disk and passed on; raises OSError if it cannot be."""
        assert self._wake is not None, "the spool is not open"
        future = asyncio.get_running_loop().create_future()
        self._adds.append((record, future))
        self._wake.set()
        await future

    def done(self, seq: int) -> None:
        """Forget the handled record ``seq`` (in the next commit)."""
        if self._wake is not None:
            self._done.append(seq)
            self._wake.set()

    async def close(self) -> None:
        """Commit what is pending, stop the flusher and close the file."""
        flusher, wake = self._flusher, self._wake
        if flusher is None or wake is None:
            return
        self._flusher, self._closing = None, True
        wake.set()
        await flusher
        assert self._thread is not None
        assert self._db is not None
        self._thread.shutdown()
        self._db.close()
        self._db, self._thread, self._wake = None, None, None

    async def _flush(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._adds or self._done:
                await self._commit_pending()
            if self._closing and not self._adds:  # one wake may carry both work and the close
                return

    async def _commit_pending(self) -> None:
        adds, self._adds = self._adds, []
        done, self._done = self._done, []
        loop = asyncio.get_running_loop()
        try:
            records = [msgspec.json.encode(dict(record.raw)) for record, _ in adds]
            seqs = await loop.run_in_executor(self._thread, self._write, records, done)
        except Exception as error:  # every request waiting here must get its answer
            logger.error("could not write %d callbacks to %s: %s", len(adds), self.path, error)
            self._done.extend(done)  # deleted in a later commit, or replayed and handled again
            for _, future in adds:
                if not future.done():
                    future.set_exception(OSError(f"the callback spool failed: {error}"))
            return
        for (record, future), seq in zip(adds, seqs, strict=True):
            self._committed(seq, record)
            if not future.done():
                future.set_result(None)

    def _write(self, records: list[bytes], done: list[int]) -> list[int]:
        """One transaction (one fsync): add ``records``, delete ``done``; the new numbers."""
        db = self._db
        assert db is not None
        seqs: list[int] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            for record in records:
                cursor = db.execute("INSERT INTO callbacks (record) VALUES (?)", (record,))
                seqs.append(cursor.lastrowid or 0)  # never 0: an INTEGER PRIMARY KEY from 1
            db.executemany("DELETE FROM callbacks WHERE seq = ?", [(seq,) for seq in done])
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return seqs
