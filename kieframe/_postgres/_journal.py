"""The journal on PostgreSQL: every create, written before it is sent, fenced by its owner."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from .._journal import JournalEntry, JournalStatus
from ._connect import Database

__all__ = ["PostgresJournal"]

logger = logging.getLogger("kieframe")

_COLUMNS = "id, host, model, input, status, task_id, detail, created_at, updated_at"
_OPEN = ("sending", "accepted", "uncertain")
_UNSETTLED = ("sending", "uncertain")


class PostgresJournal:
    """A :class:`~kieframe.SubmissionLog` in a PostgreSQL database, shared by every process.

    Each journal object is one owner (a random id): the outcome of a create is written only by
    the owner that began it and only while it is still ``sending``
    (``... WHERE owner = $me AND status = 'sending'``), so a process cannot overwrite an entry
    that someone else has since settled. Timestamps come from the database's clock.
    """

    def __init__(self, database: Database, *, owner: str | None = None) -> None:
        self._db = database
        self.owner = owner or uuid.uuid4().hex

    def __repr__(self) -> str:
        return f"<PostgresJournal owner={self.owner} {self._db!r}>"

    def begin(self, *, model: str, input: Mapping[str, Any], host: str | None = None) -> int:
        """Record a create about to be sent (to the Jobs API at ``host``); return its entry id."""
        payload = json.dumps(dict(input), sort_keys=True, default=str)
        with self._db.session() as conn:
            row = conn.execute(
                "INSERT INTO kieframe_submissions (owner, host, model, input, status)"
                " VALUES (%s, %s, %s, %s::jsonb, 'sending') RETURNING id",
                (self.owner, host, model, payload),
            ).fetchone()
        if row is None:  # pragma: no cover - INSERT ... RETURNING always answers a row
            raise RuntimeError("the journal did not return an entry id")
        return int(str(row[0]))

    def _settle(self, entry: int, status: JournalStatus, **columns: str) -> None:
        assignments = "".join(f", {name} = %s" for name in columns)
        with self._db.session() as conn:
            cursor = conn.execute(
                f"UPDATE kieframe_submissions SET status = %s,"  # noqa: S608 - names are ours
                f" updated_at = clock_timestamp(){assignments}"
                " WHERE id = %s AND owner = %s AND status = 'sending'".encode(),
                (status.value, *columns.values(), entry, self.owner),
            )
            changed = cursor.rowcount
        if not changed:
            raise RuntimeError(
                f"journal entry {entry} is no longer sending under this owner ({self.owner}):"
                f" not marking it {status.value} {columns}"
            )

    def accepted(self, entry: int, *, task_id: str) -> None:
        """kie.ai accepted the create of ``entry`` as ``task_id``."""
        self._settle(entry, JournalStatus.ACCEPTED, task_id=task_id)

    def rejected(self, entry: int, *, reason: str) -> None:
        """kie.ai refused the create of ``entry``."""
        self._settle(entry, JournalStatus.REJECTED, detail=reason)

    def uncertain(self, entry: int, *, reason: str) -> None:
        """The create of ``entry`` got no usable answer."""
        self._settle(entry, JournalStatus.UNCERTAIN, detail=reason)

    def finished(
        self, task_id: str, *, succeeded: bool, detail: str | None = None, host: str | None = None
    ) -> None:
        """The task ``task_id`` reached success or fail (unknown ids are ignored).

        With ``host``, the entry of that host (or one whose host was never recorded) is
        updated, never a namesake from another host; the newest such entry if several.
        """
        status = JournalStatus.SUCCEEDED if succeeded else JournalStatus.FAILED
        with self._db.session() as conn:
            conn.execute(
                "UPDATE kieframe_submissions SET status = %s, detail = %s,"
                " updated_at = clock_timestamp() WHERE id = ("
                " SELECT id FROM kieframe_submissions WHERE task_id = %s"
                " AND (%s::text IS NULL OR host = %s OR host IS NULL)"
                " ORDER BY host IS NOT DISTINCT FROM %s DESC, id DESC LIMIT 1)",
                (status.value, detail, task_id, host, host, host),
            )

    def resolve(self, entry: int, *, task_id: str | None) -> None:
        """Settle a ``sending`` or ``uncertain`` entry after checking with kie.ai (any owner).

        ``task_id`` is the task found for it (the entry becomes ``accepted``), or None when there
        is none (it becomes ``rejected``).
        """
        import psycopg

        if task_id is None:
            status, column, value = (
                JournalStatus.REJECTED,
                "detail",
                "resolved: no task was created",
            )
        else:
            status, column, value = JournalStatus.ACCEPTED, "task_id", task_id
        try:
            with self._db.session() as conn:
                cursor = conn.execute(
                    f"UPDATE kieframe_submissions SET status = %s, {column} = %s,"  # noqa: S608
                    " updated_at = clock_timestamp()"
                    " WHERE id = %s AND status = ANY(%s)".encode(),
                    (status.value, value, entry, list(_UNSETTLED)),
                )
                changed = cursor.rowcount
        except psycopg.errors.UniqueViolation:
            raise ValueError(f"task {task_id} is already in the journal (same host)") from None
        if not changed:
            raise ValueError(f"entry {entry} is not sending or uncertain: nothing to resolve")

    def dismiss(self, entry: int, *, reason: str = "dismissed") -> None:
        """Set an open entry aside (``dismissed``); raises ValueError if it is not open."""
        with self._db.session() as conn:
            cursor = conn.execute(
                "UPDATE kieframe_submissions SET status = 'dismissed', detail = %s,"
                " updated_at = clock_timestamp() WHERE id = %s AND status = ANY(%s)",
                (reason, entry, list(_OPEN)),
            )
            changed = cursor.rowcount
        if not changed:
            raise ValueError(f"entry {entry} is not open: nothing to dismiss")

    def entries(self, *, status: JournalStatus | None = None) -> list[JournalEntry]:
        """Every entry (or those with ``status``), oldest first."""
        with self._db.session() as conn:
            if status is None:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM kieframe_submissions ORDER BY id"  # noqa: S608
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM kieframe_submissions"  # noqa: S608
                    " WHERE status = %s ORDER BY id",
                    (status.value,),
                ).fetchall()
        return [_entry(row) for row in rows]

    def unfinished(self) -> list[JournalEntry]:
        """Entries that need attention: tasks to collect and creates to reconcile."""
        return [entry for entry in self.entries() if entry.status in _OPEN]


def _entry(row: tuple[Any, ...]) -> JournalEntry:
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
