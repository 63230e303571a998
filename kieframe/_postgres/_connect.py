"""Where the database is, and one reconnecting connection to it.

A store keeps one autocommit connection and opens it again after the server went away: a
statement that fails because the database cannot be reached raises :class:`DatabaseUnavailable`,
and the next one tries to connect anew. Nothing here retries a statement by itself: the caller
decides (a create is never sent when its journal entry or its budget slot could not be written).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .._config import ENV_DATABASE_URL
from .._config import resolve_database_url as database_url
from .._errors import DatabaseUnavailable

if TYPE_CHECKING:
    import psycopg

__all__ = ["ENV_DATABASE_URL", "Database", "DatabaseUnavailable", "database_url", "redact"]

_CONNECT_TIMEOUT = 5


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and reprs."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        parts = conninfo_to_dict(url)
    except Exception:  # an unparsable URL is shown as nothing at all
        return "<unparsable database URL>"
    if "password" in parts:
        parts["password"] = "***"  # noqa: S105 - a mask, not a password
    return make_conninfo(**{key: str(value) for key, value in parts.items()})


class Database:
    """One autocommit connection to ``url``, opened on first use and again after a failure.

    Thread-safe: statements run one at a time under a lock (each is short).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def __repr__(self) -> str:
        return f"<Database {redact(self.url)}>"

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """A new autocommit connection (the caller closes it)."""
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT)
        except psycopg.Error as error:
            raise self.unavailable(error) from error

    def unavailable(self, error: BaseException) -> DatabaseUnavailable:
        """The error to raise when the database failed with ``error``."""
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return DatabaseUnavailable(
            f"the kieframe database ({redact(self.url)}) cannot be reached ({detail}); nothing"
            " that needed it was sent to kie.ai"
        )

    @contextmanager
    def session(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """The shared connection, held for one unit of work (wrap statements in ``transaction``).

        A failure of the connection itself closes it and raises :class:`DatabaseUnavailable`;
        other database errors (a constraint, a bug) pass through unchanged.
        """
        import psycopg

        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = self.connect()
            try:
                yield self._conn
            except (psycopg.OperationalError, psycopg.InterfaceError) as error:
                self._conn.close()
                self._conn = None
                raise self.unavailable(error) from error

    def close(self) -> None:
        """Close the connection (it opens again on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
