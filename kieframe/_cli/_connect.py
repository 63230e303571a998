"""How a command reaches kie.ai: the connection options, and a client for them.

With ``--emulator`` the command starts :class:`kieframe.testing.Emulator` in-process and talks to
it, polling every 0.1 s; otherwise it builds a :class:`kieframe.Client` from ``--base-url`` and
``--upload-base-url``, which reads the rest (the key, and the hosts not given) from the
environment and the config file like any client (see ``kieframe._config``).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from .._config import (
    DEFAULT_BASE_URL,
    DEFAULT_UPLOAD_BASE_URL,
    DEFAULT_VISIBILITY_GRACE,
    resolve_database_url,
)
from ._seconds import Seconds

if TYPE_CHECKING:  # loaded by the commands that connect: ``kieframe --help`` needs none of it
    from .._client import Client
    from .._core._poll import PollPlan
    from .._journal import SqlJournal

__all__ = [
    "Connection",
    "client_settings",
    "connect",
    "connection_options",
    "journal_path",
    "opened_journal",
]

F = TypeVar("F", bound=Callable[..., Any])

#: How often the embedded emulator is polled.
EMULATOR_POLL_SECONDS = 0.1
#: The embedded emulator's task phases (seconds): each lasts a few polls, so that each state
#: shows once, as the quick start prints them; short enough for a demo.
EMULATOR_PHASES = {"invisible": 0.05, "waiting": 0.3, "queuing": 0.3, "generating": 0.6}


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    """Where to send requests: the options a command (or the group before it) was given."""

    emulator: bool = False
    base_url: str | None = None
    upload_base_url: str | None = None
    poll_every: float | None = None

    def merged(self, other: Connection) -> Connection:
        """These options, overridden by the ones ``other`` sets."""
        return replace(
            self,
            emulator=self.emulator or other.emulator,
            base_url=other.base_url or self.base_url,
            upload_base_url=other.upload_base_url or self.upload_base_url,
            poll_every=other.poll_every if other.poll_every is not None else self.poll_every,
        )


def connection_options(function: F) -> F:
    """Add ``--emulator``, ``--base-url``, ``--upload-base-url`` and ``--poll-every``.

    The hosts' environment variables are the client's to read, not click's: an error in one
    then names the variable, not "the argument". The command's secret options (``--hmac-key``,
    as given on its command line or by its variable) are masked in its ``-v`` log.
    """
    function = _masking(function)
    decorators = (
        click.option(
            "--emulator",
            is_flag=True,
            default=False,
            help="Start a kie.ai emulator in this process and talk to it (no key, no cost).",
        ),
        click.option(
            "--base-url",
            metavar="URL",
            help=f"The Jobs API host [env KIE_BASE_URL; default {DEFAULT_BASE_URL}].",
        ),
        click.option(
            "--upload-base-url",
            metavar="URL",
            help="The upload API host [env KIE_UPLOAD_BASE_URL; default: a custom --base-url "
            f"(not kie.ai's), else {DEFAULT_UPLOAD_BASE_URL}].",
        ),
        click.option(
            "--poll-every",
            type=Seconds(min=0.01),
            metavar="SECONDS",
            help="Poll at this fixed interval instead of kie.ai's schedule (2-30 s).",
        ),
    )
    for decorate in reversed(decorators):
        function = decorate(function)
    return function


#: A command's options that hold a secret (a webhook key): masked in the lines it logs.
_SECRET_OPTIONS = ("hmac_key", "hmac_keys")


def _masking(function: F) -> F:
    """``function``, first handing the secrets among its options to the log's mask."""

    @functools.wraps(function)
    def masking(*args: Any, **options: Any) -> Any:
        from ._verbose import mask

        for name in _SECRET_OPTIONS:
            value = options.get(name)
            mask(*([value] if isinstance(value, str) else value or ()))
        return function(*args, **options)

    return cast("F", masking)


def connection_from(options: dict[str, Any]) -> Connection:
    """Pop the connection options from a command's keyword arguments."""
    return Connection(
        emulator=bool(options.pop("emulator", False)),
        base_url=options.pop("base_url", None),
        upload_base_url=options.pop("upload_base_url", None),
        poll_every=options.pop("poll_every", None),
    )


@contextlib.contextmanager
def connect(
    connection: Connection,
    *,
    tag_callback_urls: bool = True,
    visibility_grace: float = DEFAULT_VISIBILITY_GRACE,
) -> Iterator[Client]:
    """A client for ``connection``; with ``emulator`` set, the emulator runs for the duration.

    ``tag_callback_urls`` and ``visibility_grace`` are the client's options (the embedded
    emulator's client has no journal, so it tags nothing).
    """
    from .._client import Client
    from .._core._poll import PollPlan

    poll = _poll(connection)
    if connection.emulator:
        from ..testing import Emulator, Timing

        with (
            Emulator(timing=Timing(**EMULATOR_PHASES)) as emulator,
            Client(
                Emulator.API_KEY,
                base_url=emulator.base_url,
                upload_base_url=emulator.upload_base_url,
                poll=poll or PollPlan.every(EMULATOR_POLL_SECONDS),
                visibility_grace=visibility_grace,
            ) as client,
        ):
            yield client
        return
    journal = None if resolve_database_url(None) else journal_path()  # else the database's
    with Client(
        **client_settings(connection),
        journal=journal,
        tag_callback_urls=tag_callback_urls,
        visibility_grace=visibility_grace,
    ) as client:
        yield client


def client_settings(connection: Connection) -> dict[str, Any]:
    """The client options ``connection`` sets (not ``--emulator``); unset ones are None.

    The client reads the key, and hosts not given, from the environment and the config file.
    """
    return {
        "base_url": connection.base_url,
        "upload_base_url": connection.upload_base_url,
        "poll": _poll(connection),
    }


def _poll(connection: Connection) -> PollPlan | None:
    from .._core._poll import PollPlan

    return PollPlan.every(connection.poll_every) if connection.poll_every else None


def journal_path() -> Path | None:
    """Where commands journal their creates: ``$KIEFRAME_JOURNAL`` (``off`` for nowhere)."""
    from .._journal import default_journal_path

    return default_journal_path()


@contextlib.contextmanager
def opened_journal() -> Iterator[tuple[str | None, SqlJournal | None]]:
    """The journal commands use, and where it is (shown to people; no password).

    The PostgreSQL journal when a database is configured (``$KIEFRAME_DATABASE_URL`` or the
    config file), else the SQLite file of :func:`journal_path`; None when there is none yet.
    """
    url = resolve_database_url(None)
    if url:
        try:
            from .._postgres._backend import backend_from_url
            from .._postgres._connect import redact

            backend = backend_from_url(url)
            where = redact(url)
        except ImportError as error:
            raise click.UsageError(f'{error}: pip install "kieframe[postgres]"') from None
        try:
            yield where, backend.journal
        finally:
            backend.close()
        return
    path = journal_path()
    if path is None or not path.exists():
        yield (str(path) if path else None), None
        return
    from .._journal import Journal

    book = Journal(path)
    try:
        yield str(path), book
    finally:
        book.close()
