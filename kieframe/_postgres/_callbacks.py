"""Callbacks shared by every process: a table of received records, LISTEN/NOTIFY, and claims.

A receiver in any process writes each record it passes on to ``kieframe_callbacks`` and notifies
the channel with the row's number; every :class:`PostgresCallbackHub` listens, reads the rows it
was told of and wakes its own waits. A listener that lost its connection reconnects and re-reads
the rows written meanwhile, so a wait in any process resolves even across a restart of the
database. LISTEN needs a session connection: behind a transaction-mode pooler notifications go
astray, which :meth:`PostgresCallbackHub.start` detects by notifying itself.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from typing import Any

from .._callbacks._hub import CallbackHub
from .._core._effects import Delivery
from .._records import TaskRecord, parse_record
from ._connect import Database, DatabaseUnavailable

__all__ = ["PostgresCallbackClaims", "PostgresCallbackHub"]

logger = logging.getLogger("kieframe")

#: The NOTIFY channel.
CHANNEL = "kieframe_callbacks"
_PING_TIMEOUT = 5.0
_POLL = 0.5  # how often the listener looks up from its socket to see whether it must stop
_LOOKBACK = 30.0  # seconds of rows re-read after a reconnect, for inserts that committed late
_SEEN = 100_000


class PostgresCallbackHub(CallbackHub):
    """A :class:`~kieframe.CallbackHub` whose deliveries reach the waits of every process.

    :meth:`deliver` writes the record to the database (and wakes this process's waits at once);
    a listener thread started by :meth:`start` (on first use) wakes this process's waits for
    records delivered anywhere. On start it reads the latest ``capacity`` records, so a wait
    that begins after its callback arrived, even in a process started later, returns at once.
    """

    def __init__(
        self, database: Database, *, watchdog: float | None = None, capacity: int = 10_000
    ) -> None:
        super().__init__(watchdog=watchdog, capacity=capacity)
        self._db = database
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._horizon: float | None = None  # received_at (epoch) of the newest row read

    def __repr__(self) -> str:
        listening = "listening" if self.listening else "idle"
        return f"<PostgresCallbackHub {listening} records={len(self._latest)}>"

    @property
    def listening(self) -> bool:
        """Whether the listener thread runs."""
        return self._thread is not None and self._thread.is_alive()

    # -- start and stop ---------------------------------------------------------------------

    def start(self) -> None:
        """Connect the listener (checking that notifications reach it) and start its thread.

        Raises :class:`~kieframe._postgres.DatabaseUnavailable` when the database cannot be
        reached or does not deliver this process's own notification (a transaction-mode pooler).
        """
        with self._start_lock:
            if self.listening:
                return
            self._stop.clear()
            conn = self._listen(check=True)
            self._thread = threading.Thread(
                target=self._run, args=(conn,), name="kieframe-callback-listener", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Stop the listener thread (waits already parked keep waiting on their watchdog)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def _listen(self, *, check: bool) -> Any:
        """A new listening connection, caught up with the rows written meanwhile."""
        conn = self._db.connect()
        try:
            conn.execute(f"LISTEN {CHANNEL}")
            if check:
                self._check_notifications(conn)
            self._catch_up(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_notifications(self, conn: Any) -> None:
        token = f"ping:{uuid.uuid4().hex}"
        with self._db.session() as other:
            other.execute("SELECT pg_notify(%s, %s)", (CHANNEL, token))
        for note in conn.notifies(timeout=_PING_TIMEOUT):
            if note.payload == token:
                return
        raise DatabaseUnavailable(
            f"LISTEN on {self._db!r} did not receive this process's own notification within "
            f"{_PING_TIMEOUT:g} s: callbacks need a session connection (connect directly, or "
            "through a pooler in session mode, not transaction mode)"
        )

    def _run(self, conn: Any) -> None:
        import psycopg

        backoff = 0.1
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = self._listen(check=False)
                    logger.info("callback listener reconnected to %r", self._db)
                    backoff = 0.1
                # stop_after=1: return with the first notification (and any that came with it)
                # instead of collecting them until the timeout.
                notes = list(conn.notifies(timeout=_POLL, stop_after=1))
                seqs = [int(note.payload) for note in notes if note.payload.isdigit()]
                if seqs:
                    self._read(conn, "seq = ANY(%s)", seqs)
            except (psycopg.Error, DatabaseUnavailable) as error:
                logger.warning("callback listener lost the database (%s); reconnecting", error)
                if conn is not None:
                    conn.close()
                conn = None
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
        if conn is not None:
            conn.close()

    # -- reading ----------------------------------------------------------------------------

    def _catch_up(self, conn: Any) -> None:
        if self._horizon is None:  # first start: the latest records, as an in-process hub holds
            self._read(conn, "seq IN (SELECT seq FROM kieframe_callbacks ORDER BY seq DESC"
                       " LIMIT %s)", self.capacity)  # fmt: skip
        else:
            self._read(conn, "received_at > to_timestamp(%s::float8)", self._horizon - _LOOKBACK)

    def _read(self, conn: Any, where: str, argument: object) -> None:
        rows = conn.execute(
            "SELECT seq, record, confirmed, extract(epoch FROM received_at)"  # noqa: S608 - ours
            f" FROM kieframe_callbacks WHERE {where} ORDER BY seq".encode(),
            (argument,),
        ).fetchall()
        if self._horizon is None:
            self._horizon = 0.0
        for seq, record, confirmed, received in rows:
            self._horizon = max(self._horizon, float(received))
            if self._mark_seen(int(seq)):
                try:
                    parsed = parse_record(record)
                except ValueError:
                    logger.warning("ignoring the unreadable callback row %s", seq)
                    continue
                super().deliver(parsed, confirmed=bool(confirmed))

    def _mark_seen(self, seq: int) -> bool:
        """Remember ``seq``; False if it was seen already."""
        with self._lock:
            if seq in self._seen:
                return False
            self._seen[seq] = None
            while len(self._seen) > _SEEN:
                self._seen.popitem(last=False)
            return True

    # -- the hub's API ----------------------------------------------------------------------

    def deliver(self, record: TaskRecord, *, confirmed: bool) -> None:
        """Pass on a record to the waits of every process (this one's at once).

        Raises :class:`~kieframe._postgres.DatabaseUnavailable` when the record could not be
        written (this process's waits were woken all the same).
        """
        try:
            with self._db.session() as conn:
                row = conn.execute(
                    "WITH added AS (INSERT INTO kieframe_callbacks (task_id, record, confirmed)"
                    " VALUES (%s, %s::jsonb, %s) RETURNING seq)"
                    " SELECT seq, pg_notify(%s, seq::text) FROM added",
                    (record.task_id, json.dumps(dict(record.raw), default=str), confirmed, CHANNEL),
                ).fetchone()
            if row is not None:
                self._mark_seen(int(str(row[0])))
        finally:
            super().deliver(record, confirmed=confirmed)

    async def deliver_async(self, record: TaskRecord, *, confirmed: bool) -> None:
        """:meth:`deliver` on a worker thread: the database write never blocks the loop."""
        import asyncio

        await asyncio.to_thread(self.deliver, record, confirmed=confirmed)

    def wait(self, task_id: str, *, after: int = 0, timeout: float) -> Delivery | None:
        """Block until a delivery newer than ``after`` arrives for the task, or ``timeout``."""
        self.start()
        return super().wait(task_id, after=after, timeout=timeout)

    async def wait_async(
        self,
        task_id: str,
        *,
        after: int = 0,
        timeout: float,  # noqa: ASYNC109 - the watchdog's interval, mirroring wait()
    ) -> Delivery | None:
        """Await a delivery newer than ``after`` for the task, or ``timeout``."""
        if not self.listening:
            import asyncio

            await asyncio.to_thread(self.start)
        return await super().wait_async(task_id, after=after, timeout=timeout)


class PostgresCallbackClaims:
    """Which (task, state) callbacks were already handled, by any receiver: one row each."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def __repr__(self) -> str:
        return f"<PostgresCallbackClaims {self._db!r}>"

    def claim(self, task_id: str, state: str) -> bool:
        """Claim the handling of ``task_id`` reaching ``state``; False if another receiver did."""
        with self._db.session() as conn:
            cursor = conn.execute(
                "INSERT INTO kieframe_callback_claims (task_id, state) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                (task_id, state),
            )
            return cursor.rowcount == 1
