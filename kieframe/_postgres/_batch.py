"""Batches on PostgreSQL: many workers, on any machines, cooperating on one batch.

A batch is a row of ``kieframe_batches`` (by name, with a random id that callback URLs carry) and
its lines are rows of ``kieframe_batch_lines``. Workers take lines with
``SELECT ... FOR UPDATE SKIP LOCKED`` (so one line is never handed to two of them), and every
worker keeps a heartbeat row in ``kieframe_batch_workers`` whose lease it renews while it runs.
Every lease is on the database's clock (``clock_timestamp()``), never a worker's.

A worker whose heartbeat lease ran out is dead to the others: its claims go back to ``pending``
(nothing of them was sent), its ``sending`` lines become ``uncertain`` (never resent on their
own), and the accepted lines it was following are adopted by a live worker. Every transition
that names an owner is fenced by it, and (except the outcome of a create already in flight) by
that owner's lease being live: a worker that lost its lease cannot move a line another took.

A store given an ``outage_timeout`` rides out the database going away: each statement that
cannot reach it is tried again, with jittered exponential backoff, until the database has been
unreachable for that long (then :class:`DatabaseUnavailable` says so). The one write that lets
a create leave is never retried (see :func:`~kieframe._batch._store.fail_fast`): no create
leaves later than its ``sending`` could be written. A worker whose lease ran out meanwhile
finds its lines fenced.
"""

# ruff: noqa: S608 - the SQL is made of this module's own fragments; values are parameters

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from .._batch._intake import Known, plan_intake
from .._batch._records import LineInput, LineStatus
from .._batch._store import (
    CUT_OFF,
    SETTABLE,
    StaleTransition,
    StoredLine,
    encode_value,
    failing_fast,
    line_columns,
    retriable,
    stored_error,
    stored_line,
)
from ._connect import Database, DatabaseUnavailable, redact

__all__ = ["BatchNotFound", "PostgresBatchStore"]

_NOW = "extract(epoch FROM clock_timestamp())"
_COLUMNS = (
    "l.id, l.seq, l.line, l.model, l.input::text, l.digest, l.status, l.owner, l.task_id,"
    " l.callback_url, l.sent_input::text, l.sent_at, l.finished_at, l.updated_at, l.files::text,"
    " l.error::text, l.credits"
)
_JSON = frozenset({"sent_input", "files", "error"})
# The owner of line ``l`` holds a live lease (the database's clock).
_LIVE = (
    "EXISTS (SELECT 1 FROM kieframe_batch_workers w WHERE w.batch = l.batch"
    " AND w.owner = l.owner AND w.lease_until > clock_timestamp())"
)
_IN_PROGRESS = [
    status.value
    for status in (
        LineStatus.CLAIMED,
        LineStatus.SENDING,
        LineStatus.ACCEPTED,
        LineStatus.DOWNLOADING,
    )
]
_FOLLOWED = [LineStatus.ACCEPTED.value, LineStatus.DOWNLOADING.value]
_FIRST_PAUSE = 0.1  # seconds between tries while the database is away: doubling, up to
_LONGEST_PAUSE = 2.0  # this (a restart is noticed within about that long)
_JITTER = random.Random()  # its own: waiting out an outage leaves the global generator be
_LOCK_SPACE = 0x6B6962  # advisory locks of batch manifests: (space, hash of the batch id)


_T = TypeVar("_T")
logger = logging.getLogger("kieframe")


class BatchNotFound(LookupError):
    """No batch of that name in the database."""


class _Outage:
    """How long the database has been unreachable, and the retries that ride it out.

    Shared by every thread of a store: the budget runs from the first failure until a statement
    gets through, so once it is spent every statement fails at once (the worker stops quickly).
    """

    def __init__(self, timeout: float, where: str) -> None:
        self.timeout = timeout
        self._where = where
        self._lock = threading.Lock()
        self._since: float | None = None

    def call(self, statement: Callable[[], _T], *, back: Callable[[], None]) -> _T:
        """``statement()``, tried again while the database is away and the budget lasts.

        ``back`` runs before each retry of ``statement`` (it renews the leases, so that a
        worker whose lease ran out in the outage is alive again before it claims anything).
        """
        try:
            result = statement()
        except DatabaseUnavailable as error:
            if self.timeout <= 0 or failing_fast():
                raise
            result = self._retry(statement, back, error)
        self._came_back()
        return result

    def _retry(
        self, statement: Callable[[], _T], back: Callable[[], None], error: DatabaseUnavailable
    ) -> _T:
        """Try again with jittered exponential backoff until the outage's budget is spent.

        Its own loop, not stamina's: stamina's hooks would log every retry of a long outage.
        """
        deadline = self._went_away(error)
        pause = _FIRST_PAUSE
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(pause * (0.5 + _JITTER.random() / 2), left))  # jittered
            pause = min(pause * 2, _LONGEST_PAUSE)
            try:
                back()
                return statement()
            except DatabaseUnavailable as again:
                error = again
        raise self._over(error) from error

    def _went_away(self, error: DatabaseUnavailable) -> float:
        """When the outage's budget runs out (monotonic), logging when the outage starts."""
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()
                logger.warning("%s; waiting up to %g s for it to come back", error, self.timeout)
            return self._since + self.timeout

    def _came_back(self) -> None:
        if self._since is None:  # the usual case: no lock taken
            return
        with self._lock:
            if self._since is None:
                return
            logger.warning(
                "the kieframe database (%s) is back after %.1f s",
                self._where,
                time.monotonic() - self._since,
            )
            self._since = None

    def _over(self, error: DatabaseUnavailable) -> DatabaseUnavailable:
        return DatabaseUnavailable(
            f"{error}; it stayed unreachable for the whole outage timeout ({self.timeout:g} s),"
            " so this worker stopped: nothing is lost, run the batch again to resume"
        )


class PostgresBatchStore:
    """A :class:`~kieframe.batch.BatchStore` in a PostgreSQL database, shared by many workers.

    ``name`` picks the batch (several live in one database); the first store to open a name
    makes the batch (``create=False`` raises :class:`BatchNotFound` instead). The tables come
    from ``kieframe db init``. Thread-safe; statements are short transactions.

    With an ``outage_timeout`` (seconds), a statement that cannot reach the database is tried
    again, with backoff, until the database has been away that long; each retry renews the
    leases of this store's workers first (one that ran out in the outage is taken again).
    Without one, it raises :class:`DatabaseUnavailable` at once.
    """

    def __init__(
        self,
        database: Database | str,
        *,
        name: str,
        create: bool = True,
        outage_timeout: float = 0.0,
    ) -> None:
        self._db = database if isinstance(database, Database) else Database(database)
        self._owns_db = not isinstance(database, Database)
        self.name = name
        self._outage = _Outage(outage_timeout, redact(self._db.url))
        self._leases: dict[str, float] = {}  # the workers this store keeps alive, and leases
        try:
            self._id = self._call(lambda: self._open(create=create))
        except BaseException:
            self.close()
            raise

    def _open(self, *, create: bool) -> str:
        """The batch's id, made with the batch if ``create`` and none has the name yet."""
        name = self.name
        with self._db.session() as conn:
            if create:
                conn.execute(
                    "INSERT INTO kieframe_batches (name, id) VALUES (%s, %s)"
                    " ON CONFLICT (name) DO NOTHING",
                    (name, uuid.uuid4().hex),
                )
            row = conn.execute(
                "SELECT id FROM kieframe_batches WHERE name = %s", (name,)
            ).fetchone()
        if row is None:
            raise BatchNotFound(f"no batch {name!r} in {redact(self._db.url)}")
        return str(row[0])

    def __repr__(self) -> str:
        return f"<PostgresBatchStore {self.name!r} {self._db!r}>"

    @property
    def batch_id(self) -> str:
        """The batch's id (random, made with the batch)."""
        return self._id

    def close(self) -> None:
        """Close the connection if this store opened it."""
        if self._owns_db:
            self._db.close()

    def _call(self, statement: Callable[[], _T]) -> _T:
        """``statement()``, riding out an outage of the database (see the class)."""
        return self._outage.call(statement, back=self._renew)

    def _renew(self) -> None:
        """Renew the leases of this store's workers (before a statement retried in an outage)."""
        for owner, lease in list(self._leases.items()):
            self._beat(owner, lease)

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            with self._db.session() as conn:
                cursor = conn.execute(sql.encode(), tuple(args))
                return cursor.fetchall() if cursor.description is not None else []

        return self._call(run)

    # -- lines ----------------------------------------------------------------------------

    def add_lines(self, lines: Sequence[LineInput], *, replace: bool = False) -> list[str]:
        """Record new lines; return the ids of known lines whose input changed.

        Workers joining at once are serialised by the batch's row lock: the first adds the
        lines, the others find them known.
        """
        return self._call(lambda: self._add_lines(lines, replace=replace))

    def _add_lines(self, lines: Sequence[LineInput], *, replace: bool) -> list[str]:
        with self._db.session() as conn, conn.transaction():
            conn.execute("SELECT 1 FROM kieframe_batches WHERE id = %s FOR UPDATE", (self._id,))
            rows: list[tuple[Any, ...]] = conn.execute(
                "SELECT id, digest, status, seq, line, error::text FROM kieframe_batch_lines"
                " WHERE batch = %s",
                (self._id,),
            ).fetchall()
            known = {
                str(ident): Known(
                    str(digest), LineStatus(str(status)), seq, number, stored_error(error)
                )
                for ident, digest, status, seq, number, error in rows
            }
            intake = plan_intake(known, lines, replace=replace)
            with conn.cursor() as cursor:
                if intake.inserts:
                    cursor.executemany(
                        "INSERT INTO kieframe_batch_lines (batch, id, seq, line, model, input,"
                        " digest, error, status, updated_at) VALUES (%s, %s, %s, %s, %s,"
                        f" %s::jsonb, %s, %s::jsonb, %s, {_NOW})",
                        [(self._id, p.line.id, p.seq, *line_columns(p.line), p.status.value)
                         for p in intake.inserts],
                    )  # fmt: skip
                if intake.moves:
                    cursor.executemany(
                        "UPDATE kieframe_batch_lines SET seq = %s, line = %s"
                        " WHERE batch = %s AND id = %s",
                        [(seq, number, self._id, ident) for ident, seq, number in intake.moves],
                    )
                if intake.resets:
                    cursor.executemany(
                        "UPDATE kieframe_batch_lines SET seq = %s, line = %s, model = %s,"
                        " input = %s::jsonb, digest = %s, error = %s::jsonb, status = %s,"
                        " owner = NULL, lease_until = NULL, task_id = NULL, callback_url = NULL,"
                        " sent_input = NULL, sent_at = NULL, finished_at = NULL, files = NULL,"
                        f" credits = NULL, bytes = NULL, updated_at = {_NOW}"
                        " WHERE batch = %s AND id = %s",
                        [(p.seq, *line_columns(p.line), p.status.value, self._id, p.line.id)
                         for p in intake.resets],
                    )  # fmt: skip
        return list(intake.changed)

    def held_from_retry(self, status: LineStatus) -> int:
        """Lines in ``status`` a live worker holds (its failures): :meth:`requeue` leaves them."""
        rows = self._query(
            "SELECT count(*) FROM kieframe_batch_lines AS l WHERE l.batch = %s AND l.status = %s"
            f" AND l.owner IS NOT NULL AND {_LIVE}",
            (self._id, status.value),
        )
        return int(rows[0][0])

    def requeue(self, statuses: Iterable[LineStatus], *, to: LineStatus) -> int:
        """Move the lines in ``statuses`` that no live worker holds to ``to``; return how many.

        Fenced like a claim: a line a live worker failed (it may have just retried it) stays.
        """
        wanted = retriable(statuses)
        if not wanted:
            return 0
        clear = ", task_id = NULL, sent_at = NULL" if to == LineStatus.PENDING else ""

        def run() -> int:
            with self._db.session() as conn:
                cursor = conn.execute(
                    "UPDATE kieframe_batch_lines AS l SET status = %s, owner = NULL, error = NULL"
                    f"{clear}, updated_at = {_NOW} WHERE l.batch = %s AND l.status = ANY(%s)"
                    f" AND (l.owner IS NULL OR NOT {_LIVE})".encode(),
                    (to.value, self._id, wanted),
                )
                return cursor.rowcount

        return self._call(run)

    def recover(self, owner: str) -> int:
        """Settle the lines of workers whose lease ran out; see the protocol.

        Their ``sending`` lines become ``uncertain`` and their claims go back to ``pending``.
        """
        return self._call(lambda: self._recover(owner))

    def _recover(self, owner: str) -> int:
        error = encode_value("error", CUT_OFF)
        dead = f"l.batch = %s AND l.status = %s AND l.owner IS DISTINCT FROM %s AND NOT {_LIVE}"
        with self._db.session() as conn, conn.transaction():
            cursor = conn.execute(
                "UPDATE kieframe_batch_lines AS l SET status = %s, error = %s::jsonb,"
                f" updated_at = {_NOW} WHERE {dead}".encode(),
                (LineStatus.UNCERTAIN.value, error, self._id, LineStatus.SENDING.value, owner),
            )
            uncertain = cursor.rowcount
            conn.execute(
                "UPDATE kieframe_batch_lines AS l SET status = %s, owner = NULL,"
                f" lease_until = NULL, updated_at = {_NOW} WHERE {dead}".encode(),
                (LineStatus.PENDING.value, self._id, LineStatus.CLAIMED.value, owner),
            )
        return uncertain

    def claim(self, owner: str, *, lease: float) -> StoredLine | None:
        """Take the next ``pending`` line (or a claim whose lease or owner died) for ``owner``.

        ``FOR UPDATE SKIP LOCKED``: workers claiming at once each get another line. A worker
        without a live lease of its own (it ran out during an outage) takes nothing.
        """
        rows = self._query(
            "WITH next AS (SELECT l.id FROM kieframe_batch_lines AS l WHERE l.batch = %s"
            " AND (l.status = %s OR (l.status = %s AND (l.lease_until < clock_timestamp()"
            f" OR NOT {_LIVE}))) AND EXISTS (SELECT 1 FROM kieframe_batch_workers w"
            " WHERE w.batch = l.batch AND w.owner = %s AND w.lease_until > clock_timestamp())"
            " ORDER BY l.seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
            " UPDATE kieframe_batch_lines AS l SET status = %s, owner = %s,"
            f" lease_until = clock_timestamp() + make_interval(secs => %s), updated_at = {_NOW}"
            f" FROM next WHERE l.batch = %s AND l.id = next.id RETURNING {_COLUMNS}",
            (self._id, LineStatus.PENDING.value, LineStatus.CLAIMED.value, owner,
             LineStatus.CLAIMED.value, owner, lease, self._id),
        )  # fmt: skip
        return stored_line(rows[0]) if rows else None

    def transition(
        self,
        line_id: str,
        *,
        expect: LineStatus | Iterable[LineStatus],
        to: LineStatus,
        owner: str | None = None,
        **values: Any,
    ) -> StoredLine:
        """Move a line from ``expect`` to ``to``, fenced by ``owner`` and its lease.

        A transition out of ``sending`` (the outcome of a create in flight) needs only the owner
        to still hold the line: what kie.ai answered is kept even if the lease ran out meanwhile;
        so does one back to ``pending`` (a worker can always give back a line it still holds).
        """
        unknown = set(values) - SETTABLE
        if unknown:
            raise TypeError(f"cannot set {sorted(unknown)}")
        expected = [expect] if isinstance(expect, LineStatus) else list(expect)
        assignments = "".join(
            f", {name} = %s{'::jsonb' if name in _JSON else ''}" for name in values
        )
        args: list[Any] = [to.value, *(encode_value(n, v) for n, v in values.items())]
        args += [self._id, line_id, [status.value for status in expected]]
        guard = ""
        if owner is not None:
            guard = " AND l.owner = %s"
            args.append(owner)
            if LineStatus.SENDING not in expected and to != LineStatus.PENDING:
                guard += f" AND {_LIVE}"
        rows = self._query(
            f"UPDATE kieframe_batch_lines AS l SET status = %s, updated_at = {_NOW}{assignments}"
            f" WHERE l.batch = %s AND l.id = %s AND l.status = ANY(%s){guard}"
            f" RETURNING {_COLUMNS}",
            args,
        )
        if rows:
            return stored_line(rows[0])
        found = self._query(
            "SELECT status, owner FROM kieframe_batch_lines WHERE batch = %s AND id = %s",
            (self._id, line_id),
        )
        where = f"{found[0][0]} (owner {found[0][1]})" if found else "not in the batch"
        raise StaleTransition(
            f"line {line_id!r}: expected {'/'.join(s.value for s in expected)}"
            f"{' held by a live ' + owner if owner else ''}, found {where}; not moved to {to.value}"
        )

    def lines(self, statuses: Iterable[LineStatus] | None = None) -> list[StoredLine]:
        """Every line (or those in ``statuses``), in input order."""
        sql = f"SELECT {_COLUMNS} FROM kieframe_batch_lines AS l WHERE l.batch = %s"
        args: list[Any] = [self._id]
        if statuses is not None:
            sql += " AND l.status = ANY(%s)"
            args.append([status.value for status in statuses])
        return [stored_line(row) for row in self._query(sql + " ORDER BY l.seq", args)]

    def counts(self) -> dict[str, int]:
        """How many lines are in each status."""
        rows = self._query(
            "SELECT status, count(*) FROM kieframe_batch_lines WHERE batch = %s GROUP BY status",
            (self._id,),
        )
        return {str(status): int(count) for status, count in rows}

    def figures(self, *, since: float) -> tuple[int, int, float]:
        """Creates sent since ``since``, bytes downloaded, credits consumed."""
        rows = self._query(
            "SELECT count(*) FILTER (WHERE sent_at >= %s), sum(bytes), sum(credits)"
            " FROM kieframe_batch_lines WHERE batch = %s",
            (since, self._id),
        )
        sent, size, credits = rows[0]
        return int(sent or 0), int(size or 0), float(credits or 0.0)

    # -- workers ----------------------------------------------------------------------------

    def heartbeat(self, owner: str, *, lease: float) -> None:
        """``owner`` is alive for ``lease`` more seconds of the database's clock (0: it left)."""
        if lease > 0:
            self._leases[owner] = lease
        else:
            self._leases.pop(owner, None)
        self._call(lambda: self._beat(owner, lease))

    def _beat(self, owner: str, lease: float) -> None:
        with self._db.session() as conn:
            conn.execute(
                "INSERT INTO kieframe_batch_workers (batch, owner, host, lease_until)"
                " VALUES (%s, %s, %s, clock_timestamp() + make_interval(secs => %s))"
                " ON CONFLICT (batch, owner) DO UPDATE SET lease_until = excluded.lease_until",
                (self._id, owner, socket.gethostname(), lease),
            )

    def adopt(self, owner: str) -> list[StoredLine]:
        """The accepted and downloading lines ``owner`` follows: its own and the dead's."""
        self._query(
            "UPDATE kieframe_batch_lines AS l SET owner = %s WHERE l.batch = %s"
            " AND l.status = ANY(%s) AND l.owner IS DISTINCT FROM %s"
            f" AND (l.owner IS NULL OR NOT {_LIVE})",
            (owner, self._id, _FOLLOWED, owner),
        )
        rows = self._query(
            f"SELECT {_COLUMNS} FROM kieframe_batch_lines AS l WHERE l.batch = %s"
            " AND l.status = ANY(%s) AND l.owner = %s ORDER BY l.seq",
            (self._id, _FOLLOWED, owner),
        )
        return [stored_line(row) for row in rows]

    def held_by_others(self, owner: str) -> int:
        """Lines in progress (claimed to downloading) held by other live workers."""
        rows = self._query(
            "SELECT count(*) FROM kieframe_batch_lines AS l WHERE l.batch = %s"
            f" AND l.status = ANY(%s) AND l.owner IS DISTINCT FROM %s AND {_LIVE}",
            (self._id, _IN_PROGRESS, owner),
        )
        return int(rows[0][0])

    def live_workers(self) -> int:
        """How many workers hold a live lease on this batch."""
        rows = self._query(
            "SELECT count(*) FROM kieframe_batch_workers WHERE batch = %s"
            " AND lease_until > clock_timestamp()",
            (self._id,),
        )
        return int(rows[0][0])

    @contextlib.contextmanager
    def manifest_lock(self) -> Iterator[None]:
        """Held while a worker writes the manifest: one writer at a time, on any machine.

        (An advisory lock on a connection of its own, released when it closes.)
        """
        conn = self._call(self._locked)
        try:
            yield
        finally:
            conn.close()

    def _locked(self) -> Any:
        """A new connection holding the manifest's advisory lock."""
        import psycopg

        conn = self._db.connect()
        try:
            conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_LOCK_SPACE, self._id))
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            conn.close()
            raise self._db.unavailable(error) from error
        return conn
