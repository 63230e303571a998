"""The upload cache on PostgreSQL: one row per uploaded content, shared by every process."""

from __future__ import annotations

import logging

from .._files._cache import UPLOAD_TTL, UploadCache
from ._connect import Database, DatabaseUnavailable

__all__ = ["PostgresUploadCache"]

logger = logging.getLogger("kieframe")


class PostgresUploadCache(UploadCache):
    """Content hash → upload link for every process; expiry by the database's clock.

    An unreachable database is not fatal here: the file is uploaded again (a cache miss).
    """

    def __init__(self, database: Database, *, namespace: str, ttl: float = UPLOAD_TTL) -> None:
        super().__init__(namespace=namespace, ttl=ttl)
        self._db = database

    def __repr__(self) -> str:
        return f"<PostgresUploadCache {self.namespace} {self._db!r}>"

    def get(self, sha256: str, *, now: float | None = None) -> str | None:
        """The link of content ``sha256`` if it was uploaded and is still trusted."""
        try:
            with self._db.session() as conn:
                row = conn.execute(
                    "SELECT url FROM kieframe_uploads WHERE namespace = %s AND sha256 = %s"
                    " AND expires_at > coalesce(to_timestamp(%s::float8), clock_timestamp())",
                    (self.namespace, sha256, now),
                ).fetchone()
        except DatabaseUnavailable as error:
            logger.warning("upload cache unavailable (%s); uploading again", error)
            return None
        return str(row[0]) if row is not None else None

    def put(self, sha256: str, url: str, *, now: float | None = None) -> None:
        """Remember that content ``sha256`` was just uploaded to ``url``."""
        try:
            with self._db.session() as conn:
                conn.execute(
                    "INSERT INTO kieframe_uploads (namespace, sha256, url, expires_at)"
                    " VALUES (%s, %s, %s,"
                    " coalesce(to_timestamp(%s::float8), clock_timestamp())"
                    " + make_interval(secs => %s))"
                    " ON CONFLICT (namespace, sha256) DO UPDATE"
                    " SET url = excluded.url, expires_at = excluded.expires_at",
                    (self.namespace, sha256, url, now, self.ttl),
                )
        except DatabaseUnavailable as error:
            logger.warning("upload cache unavailable (%s); the link is not shared", error)
