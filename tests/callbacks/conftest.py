"""Fixtures for the callback tests: a signing emulator, a receiver served on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import kieframe
from kieframe.callbacks import CallbackHub, CallbackReceiver, CallbackServer
from kieframe.testing._emulator import Emulator

from ._support import FAST, KEY, NO_WATCHDOG, client


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """An emulator that signs callbacks with ``KEY``; fast phases, no rate limits."""
    with Emulator(timing=FAST, hmac_key=KEY, rate_limits=False, result_size=4096) as emu:
        yield emu


@pytest.fixture
def reader(emulator: Emulator) -> Iterator[kieframe.Client]:
    """The client the receiver re-reads records with."""
    with client(emulator) as reading:
        yield reading


@pytest.fixture
def handled() -> list[kieframe.TaskRecord]:
    """Records the receiver's handler was called with, in order."""
    return []


@pytest.fixture
def receiver(reader: kieframe.Client, handled: list[kieframe.TaskRecord]) -> CallbackReceiver:
    """A verifying, re-reading receiver whose handler appends to ``handled``."""
    return CallbackReceiver(
        hmac_key=KEY,
        client=reader,
        handler=handled.append,
        hub=CallbackHub(watchdog=NO_WATCHDOG),
        reread_pauses=(0.0,),  # one more read of a record that lags its callback, at once
    )


@pytest.fixture
def server(
    receiver: CallbackReceiver,
) -> Iterator[CallbackServer]:
    """``receiver`` served by uvicorn on a loopback port."""
    with CallbackServer(receiver, port=0) as serving:
        yield serving
