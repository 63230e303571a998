"""The database schema, as numbered migrations recorded in ``kieframe_schema_version``.

:func:`migrate` applies the migrations a database lacks, each in its own transaction, under an
advisory lock so that several processes starting at once apply each exactly once. Running it
again changes nothing. A migration, once released, is never edited: changes come as new ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "schema_version"]

#: The migrations, in order: (version, what it does, SQL).
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "journal, budgets, callbacks and upload cache",
        """
        CREATE TABLE kieframe_submissions (
            id bigserial PRIMARY KEY,
            owner text NOT NULL,
            host text,
            model text NOT NULL,
            input jsonb NOT NULL,
            status text NOT NULL,
            task_id text,
            detail text,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX kieframe_submissions_status ON kieframe_submissions (status);
        CREATE UNIQUE INDEX kieframe_submissions_task
            ON kieframe_submissions (task_id, coalesce(host, '')) WHERE task_id IS NOT NULL;
        CREATE TABLE kieframe_budgets (
            account text NOT NULL,
            kind text NOT NULL,
            slots double precision[] NOT NULL DEFAULT '{}',
            blocked_until double precision NOT NULL DEFAULT 0,
            PRIMARY KEY (account, kind)
        );
        CREATE TABLE kieframe_callbacks (
            seq bigserial PRIMARY KEY,
            task_id text NOT NULL,
            record jsonb NOT NULL,
            confirmed boolean NOT NULL,
            received_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX kieframe_callbacks_task ON kieframe_callbacks (task_id);
        CREATE TABLE kieframe_callback_claims (
            task_id text NOT NULL,
            state text NOT NULL,
            claimed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (task_id, state)
        );
        CREATE TABLE kieframe_uploads (
            namespace text NOT NULL,
            sha256 text NOT NULL,
            url text NOT NULL,
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (namespace, sha256)
        );
        """,
    ),
    (
        2,
        "the submission token that callback URLs carry",
        """
        ALTER TABLE kieframe_submissions ADD COLUMN token text;
        CREATE UNIQUE INDEX kieframe_submissions_token
            ON kieframe_submissions (token) WHERE token IS NOT NULL;
        """,
    ),
    (
        3,
        "batches: lines claimed by workers with leases, and the workers' heartbeats",
        """
        CREATE TABLE kieframe_batches (
            name text PRIMARY KEY,
            id text NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE TABLE kieframe_batch_lines (
            batch text NOT NULL REFERENCES kieframe_batches (id) ON DELETE CASCADE,
            id text NOT NULL,
            seq integer NOT NULL,
            line integer NOT NULL,
            model text,
            input jsonb NOT NULL,
            digest text NOT NULL,
            status text NOT NULL,
            owner text,
            lease_until timestamptz,
            task_id text,
            callback_url text,
            sent_input jsonb,
            sent_at double precision,
            finished_at double precision,
            updated_at double precision NOT NULL,
            files jsonb,
            error jsonb,
            credits double precision,
            bytes bigint,
            PRIMARY KEY (batch, id)
        );
        CREATE INDEX kieframe_batch_lines_status ON kieframe_batch_lines (batch, status, seq);
        CREATE TABLE kieframe_batch_workers (
            batch text NOT NULL REFERENCES kieframe_batches (id) ON DELETE CASCADE,
            owner text NOT NULL,
            host text,
            started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            lease_until timestamptz NOT NULL,
            PRIMARY KEY (batch, owner)
        );
        """,
    ),
)

#: The schema version this kieframe expects.
SCHEMA_VERSION = MIGRATIONS[-1][0]

_LOCK_ID = 0x6B6965  # "kie": one advisory lock serialises migrations across processes


def schema_version(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The highest migration applied to the database (0 for an empty one)."""
    row = conn.execute("SELECT to_regclass('kieframe_schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    found = conn.execute("SELECT coalesce(max(version), 0) FROM kieframe_schema_version")
    version = found.fetchone()
    return int(str(version[0])) if version is not None else 0


def migrate(conn: psycopg.Connection[tuple[object, ...]]) -> list[int]:
    """Apply the missing migrations (``conn`` in autocommit mode); return their versions."""
    applied: list[int] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS kieframe_schema_version ("
            " version integer PRIMARY KEY, description text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        current = schema_version(conn)
        for version, description, sql in MIGRATIONS:
            if version <= current:
                continue
            with conn.transaction():
                conn.execute(sql.encode())
                conn.execute(
                    "INSERT INTO kieframe_schema_version (version, description) VALUES (%s, %s)",
                    (version, description),
                )
            applied.append(version)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied
