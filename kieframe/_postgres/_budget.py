"""Rate budgets shared by every process: one row per account and kind, serialised by its lock.

A slot is taken inside one short transaction that locks the budget's row
(``SELECT ... FOR UPDATE``) and reads the database's clock (``clock_timestamp()``), so workers on
several machines share one window whatever their own clocks say. Only a slot that is free *now*
is taken; otherwise the caller sleeps until the database says one will be and asks again. So a
429 seen by any process (:meth:`PostgresWindow.penalise`, stored as the row's ``blocked_until``)
holds back every process's next create, and no slot is ever held by a process that died: a
lock dies with its connection, and a slot is only a time already past.
"""

from __future__ import annotations

import time

from ._connect import Database

__all__ = ["PostgresWindow"]

# How long a caller sleeps at most before asking again (a penalty may have been lifted, or
# another process's reservation may have been given back).
_MAX_NAP = 1.0


class PostgresWindow:
    """At most ``limit`` events in any ``window`` seconds for ``account``'s ``kind`` of request.

    The same methods as the in-process :class:`~kieframe._ratelimit.SlidingWindow`, except that
    :meth:`reserve` blocks until a slot is free and then returns 0 (call it from a thread in
    async code). Raises :class:`~kieframe._postgres.DatabaseUnavailable` when the database
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
        """Block until a slot is free, take it and return 0 (also 0 when unlimited)."""
        if self.limit <= 0:
            return 0.0
        while (wait := self._try_take()) > 0:
            time.sleep(min(wait, _MAX_NAP))
        return 0.0

    def _try_take(self) -> float:
        """Take a slot if one is free now (return 0), else return the seconds to the next."""
        with self._db.session() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO kieframe_budgets (account, kind) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                (self.account, self.kind),
            )
            row = conn.execute(
                "SELECT slots, blocked_until FROM kieframe_budgets"
                " WHERE account = %s AND kind = %s FOR UPDATE",
                (self.account, self.kind),
            ).fetchone()
            clock = conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
            if row is None or clock is None:  # pragma: no cover - the row was just ensured
                raise RuntimeError("the budget row vanished")
            now = float(str(clock[0]))
            stored: list[float] = row[0]  # type: ignore[assignment]  # double precision[]
            slots = [slot for slot in stored if slot > now - self.window]
            at = max(now, float(str(row[1])))
            if len(slots) >= self.limit:
                at = max(at, slots[-self.limit] + self.window)
            if at > now:
                return at - now
            slots.append(now)
            conn.execute(
                "UPDATE kieframe_budgets SET slots = %s WHERE account = %s AND kind = %s",
                (slots, self.account, self.kind),
            )
            return 0.0

    def penalise(self, seconds: float) -> None:
        """After a 429, hold every process's next event back for ``seconds``."""
        if self.limit <= 0:
            return
        with self._db.session() as conn:
            conn.execute(
                "INSERT INTO kieframe_budgets AS b (account, kind, blocked_until)"
                " VALUES (%s, %s, extract(epoch FROM clock_timestamp()) + %s)"
                " ON CONFLICT (account, kind) DO UPDATE SET blocked_until ="
                " greatest(b.blocked_until, excluded.blocked_until)",
                (self.account, self.kind, seconds),
            )
