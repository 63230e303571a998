"""Fixtures for the emulator tests: a started emulator, a client for it, a callback receiver."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from kieframe.testing._emulator import Emulator

from ._support import FAST, HEADERS, Receiver


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A running emulator with fast task phases and no rate limits, private to one test."""
    with Emulator(timing=FAST, rate_limits=False, result_size=64 * 1024) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[httpx.Client]:
    """An httpx client for ``emulator`` with a valid key and a User-Agent."""
    with httpx.Client(base_url=emulator.base_url, headers=HEADERS, timeout=10) as http:
        yield http


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A callback receiver on loopback."""
    with Receiver().running() as running:
        yield running
