"""Rate budgets shared by every process: one row per account and kind, serialised by its lock.

A slot is booked inside one short transaction that locks the budget's row
(``SELECT ... FOR UPDATE``) and reads the database's clock (``clock_timestamp()``), so workers on
several machines share one window whatever their own clocks say. The row's lock queues the
callers in turn (first come, first served), and each one books the earliest free slot, now or
later: the booking is a time in the row's ``slots``, and the caller sleeps until it comes. So the
budget is shared in the order the callers asked, not by who wins a race when a slot frees up.

A 429 seen by any process (:meth:`PostgresWindow.penalise`) sets the row's ``blocked_until`` and
cancels the bookings not yet due: a caller that wakes up to a cancelled booking books again,
after the pause. No slot is held by a process that died: a lock dies with its connection, and a
booking is only a time, used once or wasted once (a caller interrupted while it sleeps gives its
booking back). A caller that wakes late stamps its slot with the time it really uses it.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from ._connect import Database

__all__ = ["PostgresWindow"]

logger = logging.getLogger("kieframe")


class PostgresWindow:
    """At most ``limit`` events in any ``window`` seconds for ``account``'s ``kind`` of request.

    The same methods as the in-process :class:`~kieframe._ratelimit.SlidingWindow`, except that
    :meth:`reserve` blocks until the booked slot comes and then returns 0 (call it from a thread
    in async code). Raises :class:`~kieframe._postgres.DatabaseUnavailable` when the database
    cannot be reached: then no slot was taken and the request must not be sent.
    """

    def __init__(
        self, database: Database, *, account: str, kind: str, limit: int, window: float
    ) -> None:
        self._db = database
        self.account = account
        self.kind = kind
        self.limit = limit
        self.window = window

    def __repr__(self) -> str:
        return f"<PostgresWindow {self.kind} {self.limit}/{self.window:g}s account={self.account}>"

    def reserve(self) -> float:
        """Book the earliest free slot, sleep until it comes, and return 0 (0 when unlimited)."""
        if self.limit <= 0:
            return 0.0
        while True:
            at, delay = self._book()
            if delay <= 0:
                return 0.0
            try:
                time.sleep(delay)
                if self._use(at):
                    return 0.0
            except BaseException:
                self._give_back(at)
                raise
            logger.info("a 429 cancelled this process's %s slot; booking again", self.kind)

    def _book(self) -> tuple[float, float]:
        """Book the earliest free slot: its time on the database's clock, and the wait for it."""
        with self._db.session() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO kieframe_budgets (account, kind) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                (self.account, self.kind),
            )
            row = conn.execute(
                "SELECT slots, blocked_until, extract(epoch FROM clock_timestamp())"
                " FROM kieframe_budgets WHERE account = %s AND kind = %s FOR UPDATE",
                (self.account, self.kind),
            ).fetchone()
            if row is None:  # pragma: no cover - the row was just ensured
                raise RuntimeError("the budget row vanished")
            stored: list[float] = row[0]  # type: ignore[assignment]  # double precision[]
            now = float(str(row[2]))
            slots = sorted(slot for slot in stored if slot > now - self.window)
            at = max(now, float(str(row[1])))
            if len(slots) >= self.limit:  # free when the limit-th latest leaves the window
                at = max(at, slots[-self.limit] + self.window)
            while at in slots:  # each booking its own time: it is found again by it
                at = math.nextafter(at, math.inf)
            slots.append(at)
            conn.execute(
                "UPDATE kieframe_budgets SET slots = %s WHERE account = %s AND kind = %s",
                (slots, self.account, self.kind),
            )
        return at, at - now

    def _use(self, at: float) -> bool:
        """Take up the booking at ``at``, now; False if a 429 cancelled it meanwhile.

        The slot is stamped with the database's time of use, when the caller woke later than
        booked (a busy machine): the window then counts the request from when it really leaves.
        """
        with self._db.session() as conn:
            row: Any = conn.execute(
                "UPDATE kieframe_budgets SET slots = array_replace(slots, %s::float8,"
                " greatest(%s::float8, extract(epoch FROM clock_timestamp())))"
                " WHERE account = %s AND kind = %s AND %s::float8 = ANY(slots) RETURNING 1",
                (at, at, self.account, self.kind, at),
            ).fetchone()
        return row is not None

    def _give_back(self, at: float) -> None:
        """Cancel the booking at ``at`` (best effort: at worst one slot goes unused)."""
        try:
            with self._db.session() as conn:
                conn.execute(
                    "UPDATE kieframe_budgets SET slots = array_remove(slots, %s::float8)"
                    " WHERE account = %s AND kind = %s",
                    (at, self.account, self.kind),
                )
        except Exception as error:  # the interrupt matters more than the slot
            logger.debug("could not give back a %s slot: %s", self.kind, error)

    def penalise(self, seconds: float) -> None:
        """After a 429, hold every process's next event back for ``seconds``.

        The bookings not yet due are cancelled: their callers book again, after the pause.
        """
        if self.limit <= 0:
            return
        with self._db.session() as conn:
            conn.execute(
                "INSERT INTO kieframe_budgets AS b (account, kind, blocked_until)"
                " VALUES (%s, %s, extract(epoch FROM clock_timestamp()) + %s)"
                " ON CONFLICT (account, kind) DO UPDATE SET blocked_until ="
                " greatest(b.blocked_until, excluded.blocked_until), slots = ARRAY("
                "SELECT slot FROM unnest(b.slots) AS slot"
                " WHERE slot <= extract(epoch FROM clock_timestamp()))",
                (self.account, self.kind, seconds),
            )
