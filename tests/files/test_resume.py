"""Resumed downloads keep every byte received: cuts at any offset, as often as the link likes."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kieframe
from kieframe.testing import Emulator
from kieframe.testing._emulator import build_mp4

from .conftest import FAST, HAILUO

SIZE = 40_000  # under one network read and one write batch: cuts land inside both
INPUT = {"prompt": "a slow pan", "image_url": "https://example.com/a.png"}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """One emulator for the module (hypothesis runs many examples against it)."""
    with Emulator(timing=FAST, rate_limits=False, result_size=SIZE) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def record(emu: Emulator) -> kieframe.TaskRecord:
    """A finished task whose single result is ``SIZE`` bytes."""
    with _client(emu) as client:
        return client.wait(client.submit(HAILUO, INPUT))


def _client(emu: Emulator) -> kieframe.Client:
    return kieframe.Client(Emulator.API_KEY, base_url=emu.base_url)


def _download(
    emu: Emulator, record: kieframe.TaskRecord, cuts: list[int], *, use_async: bool = False
) -> tuple[bytes, list[int], int]:
    """Download with the next requests cut after ``cuts`` bytes each: bytes, progress, requests."""
    emu.clear_faults()
    for cut in cuts:
        emu.fault("files", "drop", cut_after=cut)
    before = emu.stats.requests.get("files", 0)
    seen: list[int] = []
    with tempfile.TemporaryDirectory() as folder:
        if use_async:

            async def fetch() -> tuple[Path, ...]:
                async with kieframe.AsyncClient(Emulator.API_KEY, base_url=emu.base_url) as aio:
                    return await aio.download(
                        record, to=folder, progress=lambda p, d, t: seen.append(d)
                    )

            (path,) = asyncio.run(fetch())
        else:
            with _client(emu) as client:
                (path,) = client.download(
                    record, to=folder, progress=lambda p, d, t: seen.append(d)
                )
        data = path.read_bytes()
    return data, seen, emu.stats.requests["files"] - before


# Cuts that each deliver at least one byte and, together, less than the whole file.
_progressing_cuts = st.lists(st.integers(1, SIZE // 4), min_size=1, max_size=6).filter(
    lambda cuts: sum(cuts) < SIZE
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=_progressing_cuts)
def test_every_received_byte_is_kept_across_cuts(
    emu: Emulator, record: kieframe.TaskRecord, cuts: list[int]
) -> None:
    data, seen, requests = _download(emu, record, cuts)
    assert data == build_mp4(size=SIZE, seed=record.task_id)
    assert requests == len(cuts) + 1  # each cut resumed where it stopped; none resent a byte
    kept_after_each_cut = list(itertools.accumulate(cuts))
    assert set(kept_after_each_cut) <= set(seen)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(every=st.integers(2_000, 15_000), use_async=st.booleans())
def test_a_link_cut_every_few_bytes_still_completes(
    emu: Emulator, record: kieframe.TaskRecord, every: int, use_async: bool
) -> None:
    cuts = [every] * (SIZE // every + 1)  # more cuts than retries: progress is what counts
    data, _, requests = _download(emu, record, cuts, use_async=use_async)
    assert data == build_mp4(size=SIZE, seed=record.task_id)
    assert requests == -(-SIZE // every)


def test_a_link_cut_every_hundred_bytes_completes(
    emu: Emulator, record: kieframe.TaskRecord
) -> None:
    data, seen, requests = _download(emu, record, [100] * (SIZE // 100))
    assert data == build_mp4(size=SIZE, seed=record.task_id)
    assert requests == SIZE // 100
    assert seen[-1] == SIZE
