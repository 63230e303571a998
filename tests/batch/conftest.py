"""Fixtures of the batch tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._forks import Zygote


@pytest.fixture(scope="session")
def zygote() -> Iterator[Zygote]:
    """Forks batch workers from one process that imported kieframe (see :mod:`._forks`)."""
    forks = Zygote()
    yield forks
    forks.close()
