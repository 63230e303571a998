"""The PostgreSQL backend: journal, budgets, callbacks and upload cache shared across processes.

Optional (``pip install "kieframe[postgres]"``, psycopg 3); switched on by one database URL
(see :func:`database_url`). Nothing here is imported unless a URL is given.
"""

from __future__ import annotations

from ._backend import Backend, account_label, backend_from_url
from ._budget import PostgresWindow
from ._callbacks import PostgresCallbackClaims, PostgresCallbackHub
from ._connect import ENV_DATABASE_URL, Database, DatabaseUnavailable, database_url, redact
from ._journal import PostgresJournal
from ._schema import SCHEMA_VERSION, migrate, schema_version
from ._uploads import PostgresUploadCache

__all__ = [
    "ENV_DATABASE_URL",
    "SCHEMA_VERSION",
    "Backend",
    "Database",
    "DatabaseUnavailable",
    "PostgresCallbackClaims",
    "PostgresCallbackHub",
    "PostgresJournal",
    "PostgresUploadCache",
    "PostgresWindow",
    "account_label",
    "backend_from_url",
    "database_url",
    "migrate",
    "redact",
    "schema_version",
]
