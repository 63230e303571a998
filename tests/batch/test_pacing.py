"""Paced creates (polling cannot follow, no callback URL) wait for room among the tasks polled."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

import kieframe.batch as kb
from kieframe import AsyncClient, PollPlan
from kieframe.testing import Timing

from ._support import SPEC, batch_options, emulator, make_registry, write_jsonl

# A model said to take ten minutes: polled every 10 ms, one task is all the read budget can
# follow, and creates spaced for ten-minute tasks would come one per ~9 minutes.
SLOW_SPEC = dataclasses.replace(SPEC, id="test/slow-typical", typical_seconds=600.0, deadline=900.0)


def test_tasks_that_finish_at_once_free_their_place_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = make_registry(SLOW_SPEC)
    source = write_jsonl(tmp_path / "in.jsonl", 6)
    # Every task the client has sent and not yet seen finish: never more than the cap.
    held = 0
    peak = 0
    submit, wait = AsyncClient.submit, AsyncClient.wait

    async def counted_submit(self: AsyncClient, *args: Any, **kwargs: Any) -> Any:
        nonlocal held, peak
        held += 1
        peak = max(peak, held)
        return await submit(self, *args, **kwargs)

    async def counted_wait(self: AsyncClient, *args: Any, **kwargs: Any) -> Any:
        nonlocal held
        try:
            return await wait(self, *args, **kwargs)
        finally:
            held -= 1

    monkeypatch.setattr(AsyncClient, "submit", counted_submit)
    monkeypatch.setattr(AsyncClient, "wait", counted_wait)
    seen: list[kb.Preview] = []
    instant = Timing(invisible=0, waiting=0, queuing=0, generating=0)
    with emulator(registry, timing=instant) as emu:
        options = batch_options(emu, registry) | {
            "model": SLOW_SPEC.id,
            "poll": PollPlan.every(0.01),
        }
        run = kb.run_async(source, out=tmp_path / "out", on_preview=seen.append, **options)
        # Creates spaced for ten-minute tasks would send one line in this time, not six.
        result = asyncio.run(asyncio.wait_for(run, timeout=60))
        assert len(emu.tasks) == 6
    (preview,) = seen
    assert preview.mode == kb.WaitMode.PACED
    assert preview.in_flight == 1
    assert result.all_succeeded
    assert peak == preview.in_flight  # six creates, one task polled at a time
