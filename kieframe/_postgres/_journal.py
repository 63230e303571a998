"""The journal on PostgreSQL: every create, written before it is sent, fenced by its owner."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from .._journal import JournalEntry, JournalStatus, SqlJournal
from ._connect import Database

__all__ = ["PostgresJournal"]


class PostgresJournal(SqlJournal):
    """A :class:`~kieframe.SubmissionLog` in a PostgreSQL database, shared by every process.

    Each journal object is one owner (a random id): the outcome of a create is written only by
    the owner that began it and only while it is still ``sending``
    (``... WHERE owner = $me AND status = 'sending'``), so a process cannot overwrite an entry
    that someone else has since settled (reconciled by hand, or by the create's callback,
    received by any process). Timestamps come from the database's clock.
    """

    _table = "kieframe_submissions"
    _now = "clock_timestamp()"

    def __init__(self, database: Database, *, owner: str | None = None) -> None:
        self._db = database
        self.owner = owner or uuid.uuid4().hex

    def __repr__(self) -> str:
        return f"<PostgresJournal owner={self.owner} {self._db!r}>"

    def _run(self, sql: str, args: Sequence[object]) -> tuple[int, list[tuple[Any, ...]]]:
        import psycopg

        try:
            with self._db.session() as conn:
                cursor = conn.execute(sql.replace("?", "%s").encode(), tuple(args))
                rows = cursor.fetchall() if cursor.description is not None else []
                return cursor.rowcount, rows
        except psycopg.errors.UniqueViolation:  # a race past the check of resolve()
            raise ValueError("that task is already in the journal (same host)") from None

    def _insert(self, *, model: str, payload: str, host: str | None, token: str | None) -> int:
        _, rows = self._run(
            "INSERT INTO kieframe_submissions (owner, host, model, input, status, token)"
            " VALUES (?, ?, ?, ?::jsonb, 'sending', ?) RETURNING id",
            (self.owner, host, model, payload, token),
        )
        return int(str(rows[0][0]))

    def _fence(self) -> tuple[str, tuple[object, ...]]:
        return " AND owner = ?", (self.owner,)

    def _entry(self, row: tuple[Any, ...]) -> JournalEntry:
        ident, host, model, payload, status, task_id, detail, created, updated = row
        return JournalEntry(
            id=int(ident),
            host=host,
            model=model,
            input=payload,
            status=JournalStatus(status),
            task_id=task_id,
            detail=detail,
            created_at=created,
            updated_at=updated,
        )
