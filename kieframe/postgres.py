"""The PostgreSQL backend: one database shared by every process and machine of a deployment.

Give clients a database URL (``Client(database_url=...)`` or ``$KIEFRAME_DATABASE_URL``) and
their journal, create and read budgets, upload cache and callback waits live in it; give the
callback receivers the same backend's hub and claims::

    backend = kieframe.postgres.connect("postgresql://kie@db/kieframe")
    receiver = CallbackReceiver(client=client, hub=backend.hub, claims=backend.claims)

Create the tables once with ``kieframe db init`` (or :meth:`Backend.migrate`). Needs
``pip install "kieframe[postgres]"`` (psycopg 3). See the PostgreSQL guide for deployment.
"""

from __future__ import annotations

from ._errors import DatabaseUnavailable
from ._postgres._backend import Backend, account_label
from ._postgres._backend import backend_from_url as _backend_from_url
from ._postgres._batch import BatchNotFound, PostgresBatchStore
from ._postgres._budget import PostgresWindow
from ._postgres._callbacks import PostgresCallbackClaims, PostgresCallbackHub
from ._postgres._connect import ENV_DATABASE_URL, database_url
from ._postgres._journal import PostgresJournal
from ._postgres._schema import SCHEMA_VERSION
from ._postgres._uploads import PostgresUploadCache

__all__ = [
    "ENV_DATABASE_URL",
    "SCHEMA_VERSION",
    "Backend",
    "BatchNotFound",
    "DatabaseUnavailable",
    "PostgresBatchStore",
    "PostgresCallbackClaims",
    "PostgresCallbackHub",
    "PostgresJournal",
    "PostgresUploadCache",
    "PostgresWindow",
    "account_label",
    "connect",
    "database_url",
]


def connect(url: str | None = None) -> Backend:
    """The backend of the database at ``url`` (default ``$KIEFRAME_DATABASE_URL``).

    One per URL and process, shared with the clients given the same URL. Raises ValueError when
    no URL is given or configured. Nothing is opened until a store is used.
    """
    found = database_url(url)
    if found is None:
        raise ValueError(f"no database URL: pass one or set {ENV_DATABASE_URL}")
    return _backend_from_url(found)
