"""Fixtures for the files tests: an emulator, both clients pointed at it, fast retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import stamina

import kieframe
from kieframe.lifecycle import PollPlan
from kieframe.testing import Emulator
from kieframe.testing._emulator import Timing

FAST = Timing(invisible=0.02, waiting=0.02, queuing=0.02, generating=0.05)
RESULT_SIZE = 200_000
HAILUO = "hailuo/02-image-to-video-pro"


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    """Retries without their backoff pauses (stamina's testing mode), six attempts each."""
    with stamina.set_testing(True, attempts=6):
        yield


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A running emulator with fast tasks, no rate limits and 200 KB results."""
    with Emulator(timing=FAST, rate_limits=False, result_size=RESULT_SIZE) as emulator:
        yield emulator


def make_client(emu: Emulator, *, upload_cache: Path | None = None) -> kieframe.Client:
    """A blocking client for ``emu``."""
    return kieframe.Client(
        Emulator.API_KEY,
        base_url=emu.base_url,
        upload_base_url=emu.upload_base_url,
        poll=PollPlan.every(0.05),
        upload_cache=upload_cache,
    )


@pytest.fixture
def client(emu: Emulator) -> Iterator[kieframe.Client]:
    """A blocking client for the emulator."""
    with make_client(emu) as made:
        yield made


@pytest.fixture
async def aclient(emu: Emulator) -> AsyncIterator[kieframe.AsyncClient]:
    """An asyncio client for the emulator."""
    async with kieframe.AsyncClient(
        Emulator.API_KEY,
        base_url=emu.base_url,
        upload_base_url=emu.upload_base_url,
        poll=PollPlan.every(0.05),
    ) as made:
        yield made
