"""How a command reaches kie.ai: the connection options, and a client for them.

With ``--emulator`` the command starts :class:`kieframe.testing.Emulator` in-process and talks to
it, polling every 0.1 s; otherwise it talks to ``--base-url`` (default kie.ai) with the API key
from ``KIE_API_KEY`` or the config file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click
import httpx

from .._client import DEFAULT_BASE_URL, DEFAULT_UPLOAD_BASE_URL, Client
from .._errors import AuthenticationError
from .._journal import default_journal_path
from .._lifecycle import PollPlan
from ._config import ENV_KEY, config_path, load_settings

__all__ = ["Connection", "client_settings", "connect", "connection_options", "journal_path"]

F = TypeVar("F", bound=Callable[..., Any])

#: How often the embedded emulator is polled.
EMULATOR_POLL_SECONDS = 0.1


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
    """Add ``--emulator``, ``--base-url``, ``--upload-base-url`` and ``--poll-every``."""
    decorators = (
        click.option(
            "--emulator",
            is_flag=True,
            default=False,
            help="Start a kie.ai emulator in this process and talk to it (no key, no cost).",
        ),
        click.option(
            "--base-url",
            envvar="KIE_BASE_URL",
            metavar="URL",
            help=f"The Jobs API host [env KIE_BASE_URL; default {DEFAULT_BASE_URL}].",
        ),
        click.option(
            "--upload-base-url",
            envvar="KIE_UPLOAD_BASE_URL",
            metavar="URL",
            help="The upload API host [env KIE_UPLOAD_BASE_URL; default: a custom --base-url "
            f"(not kie.ai's), else {DEFAULT_UPLOAD_BASE_URL}].",
        ),
        click.option(
            "--poll-every",
            type=click.FloatRange(min=0.01),
            metavar="SECONDS",
            help="Poll at this fixed interval instead of kie.ai's schedule (2-30 s).",
        ),
    )
    for decorate in reversed(decorators):
        function = decorate(function)
    return function


def connection_from(options: dict[str, Any]) -> Connection:
    """Pop the connection options from a command's keyword arguments."""
    return Connection(
        emulator=bool(options.pop("emulator", False)),
        base_url=options.pop("base_url", None),
        upload_base_url=options.pop("upload_base_url", None),
        poll_every=options.pop("poll_every", None),
    )


@contextlib.contextmanager
def connect(connection: Connection) -> Iterator[Client]:
    """A client for ``connection``; with ``emulator`` set, the emulator runs for the duration."""
    poll = PollPlan.every(connection.poll_every) if connection.poll_every else None
    if connection.emulator:
        from ..testing import Emulator

        with (
            Emulator() as emulator,
            Client(
                Emulator.API_KEY,
                base_url=emulator.base_url,
                upload_base_url=emulator.upload_base_url,
                poll=poll or PollPlan.every(EMULATOR_POLL_SECONDS),
            ) as client,
        ):
            yield client
        return
    with Client(**client_settings(connection), journal=journal_path()) as client:
        yield client


def client_settings(connection: Connection) -> dict[str, Any]:
    """The key, hosts and poll plan of a client for ``connection`` (not ``--emulator``)."""
    settings = load_settings()
    if not settings.api_key:
        raise AuthenticationError(
            f"no API key: set {ENV_KEY}, or api_key in {config_path()} "
            "(or try --emulator to run against a local emulator)",
            code=None,
        )
    base_url = connection.base_url or settings.base_url
    # A custom Jobs host (an emulator, a proxy) serves uploads too unless told otherwise; kie.ai's
    # own Jobs host never does: its uploads live on a separate host.
    custom = base_url and httpx.URL(base_url).host != httpx.URL(DEFAULT_BASE_URL).host
    custom_host = base_url if custom else None
    upload_base_url = connection.upload_base_url or settings.upload_base_url or custom_host
    return {
        "api_key": settings.api_key,
        "base_url": base_url or DEFAULT_BASE_URL,
        "upload_base_url": upload_base_url or DEFAULT_UPLOAD_BASE_URL,
        "poll": PollPlan.every(connection.poll_every) if connection.poll_every else None,
    }


def journal_path() -> Path | None:
    """Where commands journal their creates: ``$KIEFRAME_JOURNAL`` (``off`` for nowhere)."""
    return default_journal_path()
