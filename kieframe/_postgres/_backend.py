"""One object holding every shared store of one database, made from its URL."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

from .._ratelimit import Budgets, RateLimits
from ._budget import PostgresWindow
from ._callbacks import PostgresCallbackClaims, PostgresCallbackHub
from ._connect import Database, redact
from ._journal import PostgresJournal
from ._schema import SCHEMA_VERSION, migrate, schema_version
from ._uploads import PostgresUploadCache

__all__ = ["Backend", "account_label", "backend_from_url"]


def account_label(api_key: str) -> str:
    """The default label of an account's shared budgets: a hash of its key (never the key)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


@dataclass(eq=False)
class Backend:
    """The PostgreSQL stores of one database, shared by every client of this process.

    :attr:`journal` and :attr:`hub` are made once; budgets and upload caches per account and
    upload host. ``url`` is kept as given; only :func:`redact`-ed forms are ever shown.
    """

    url: str
    database: Database = field(init=False, repr=False)
    journal: PostgresJournal = field(init=False, repr=False)
    hub: PostgresCallbackHub = field(init=False, repr=False)
    claims: PostgresCallbackClaims = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.database = Database(self.url)
        self.journal = PostgresJournal(self.database)
        self.hub = PostgresCallbackHub(self.database)
        self.claims = PostgresCallbackClaims(self.database)

    def __repr__(self) -> str:
        return f"<Backend {redact(self.url)}>"

    def windows(self, account: str, limits: RateLimits) -> tuple[PostgresWindow, PostgresWindow]:
        """The (create, read) budgets of ``account`` (see :func:`account_label`)."""

        def window(kind: str, limit: int, seconds: float) -> PostgresWindow:
            return PostgresWindow(
                self.database, account=account, kind=kind, limit=limit, window=seconds
            )

        return (
            window("create", limits.creates, limits.create_window),
            window("read", limits.reads, limits.read_window),
        )

    def budgets(self, account: str, limits: RateLimits) -> Budgets:
        """``account``'s budgets as a client's limiter: taking a slot blocks (off the loop)."""
        create, read = self.windows(account, limits)
        return Budgets({"create": create, "read": read}, blocking=True)

    def upload_cache(self, namespace: str) -> PostgresUploadCache:
        """The shared upload cache of uploads to ``namespace`` (an upload host)."""
        return PostgresUploadCache(self.database, namespace=namespace)

    def migrate(self) -> list[int]:
        """Apply the migrations the database lacks; return their versions."""
        conn = self.database.connect()
        try:
            return migrate(conn)
        finally:
            conn.close()

    def check_schema(self) -> None:
        """Raise a clear error unless the database's schema is the one this kieframe needs."""
        with self.database.session() as conn:
            found = schema_version(conn)
        if found != SCHEMA_VERSION:
            raise RuntimeError(
                f"the kieframe database {redact(self.url)} has schema version {found}, this"
                f" kieframe needs {SCHEMA_VERSION}: run `kieframe db init`"
            )

    def close(self) -> None:
        """Stop the callback listener and close the connections (they reopen on next use)."""
        self.hub.close()
        self.database.close()


_backends: dict[str, Backend] = {}
_backends_lock = threading.Lock()


def backend_from_url(url: str) -> Backend:
    """The backend of the database at ``url``, one per process (made on first use)."""
    with _backends_lock:
        backend = _backends.get(url)
        if backend is None:
            backend = _backends[url] = Backend(url)
        return backend
