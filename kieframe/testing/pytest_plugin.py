"""pytest fixtures for code that uses kieframe: an emulator and clients wired to it.

Enable them in a ``conftest.py``::

    pytest_plugins = ["kieframe.testing.pytest_plugin"]

then ask for ``kie_emulator``, ``kie_client`` or ``kie_async_client`` in a test. Each test gets
its own emulator on a free loopback port, with fast task phases and no rate limits, and clients
that poll every 20 ms; nothing reaches kie.ai. ``kie_database_url`` is a fresh PostgreSQL
database with kieframe's tables, in a throwaway cluster (``kie_postgres``) that the session
starts on first use and removes at its end (see :mod:`kieframe.testing.postgres`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .._client import AsyncClient, Client
from .._core._poll import PollPlan
from .._ratelimit import RateLimits
from ._emulator import Emulator, Timing

if TYPE_CHECKING:
    from .postgres import PostgresCluster

__all__ = [
    "FAST_POLL",
    "FAST_TIMING",
    "kie_async_client",
    "kie_client",
    "kie_database_url",
    "kie_emulator",
    "kie_postgres",
]

#: Task phases of a few tens of milliseconds.
FAST_TIMING = Timing(invisible=0.02, waiting=0.02, queuing=0.02, generating=0.05)
#: Poll every 20 ms.
FAST_POLL = PollPlan.every(0.02)


def _options(emulator: Emulator) -> dict[str, Any]:
    return {
        "base_url": emulator.base_url,
        "upload_base_url": emulator.upload_base_url,
        "poll": FAST_POLL,
        "rate_limits": RateLimits.off(),
        "timeout": 10.0,
    }


@pytest.fixture
def kie_emulator() -> Iterator[Emulator]:
    """A running kie.ai emulator, private to one test."""
    with Emulator(timing=FAST_TIMING, rate_limits=False, result_size=32 * 1024) as emulator:
        yield emulator


@pytest.fixture
def kie_client(kie_emulator: Emulator) -> Iterator[Client]:
    """A :class:`~kieframe.Client` talking to ``kie_emulator``."""
    with Client(Emulator.API_KEY, **_options(kie_emulator)) as client:
        yield client


@pytest.fixture
async def kie_async_client(kie_emulator: Emulator) -> AsyncIterator[AsyncClient]:
    """An :class:`~kieframe.AsyncClient` talking to ``kie_emulator``."""
    async with AsyncClient(Emulator.API_KEY, **_options(kie_emulator)) as client:
        yield client


@pytest.fixture(scope="session")
def kie_postgres() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster for the test session; skips without binaries or psycopg."""
    pytest.importorskip("psycopg", reason="the PostgreSQL tests need kieframe[postgres]")
    from .postgres import PostgresCluster, find_binaries

    binaries = find_binaries()
    if binaries is None:
        pytest.skip(
            "no PostgreSQL binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        )
    with PostgresCluster.start_new(binaries) as cluster:
        yield cluster


@pytest.fixture
def kie_database_url(kie_postgres: PostgresCluster) -> Iterator[str]:
    """The URL of a fresh database with kieframe's tables, dropped after the test."""
    url = kie_postgres.create_database()
    yield url
    kie_postgres.start()  # a test may have stopped the server
    kie_postgres.drop_database(url)
