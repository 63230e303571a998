"""SIGKILL the batch process at random points, run it again: nothing is paid twice, nothing lost.

The batch runs in a child process (forked from one that imported kieframe once: :mod:`._forks`)
against an emulator in this one; the child is killed after a
seeded random delay, then the batch is run again here until every line is final. Creates left
uncertain by the kill are reconciled as a person would (looking the task up on "kie.ai", here
the emulator), then a last run must give the manifest of an uninterrupted run.
"""

from __future__ import annotations

import collections
import json
import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest

import kieframe.batch as kb
from kieframe.batch import LineStatus

from ._forks import Zygote
from ._support import (
    batch_options,
    comparable,
    emulator,
    make_registry,
    manifest,
    write_jsonl,
)
from .test_faults import check_files, creates_per_prompt

LINES = 40


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[object, ...]]:
    """The manifest of an uninterrupted run."""
    folder = tmp_path_factory.mktemp("reference")
    registry = make_registry()
    source = write_jsonl(folder / "in.jsonl", LINES)
    with emulator(registry) as emu:
        result = kb.run(source, out=folder / "out", **batch_options(emu, registry))
    assert result.all_succeeded
    return comparable(manifest(folder / "out"))


@pytest.mark.parametrize("seed", range(4))
def test_a_killed_batch_resumes_without_paying_twice(
    tmp_path: Path, seed: int, reference: list[tuple[object, ...]], zygote: Zygote
) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", LINES)
    out = tmp_path / "out"
    with emulator(registry, seed=seed) as emu:
        emu.fault("files", "drop", cut_after=2000, probability=0.2)
        child = zygote.run(source, out, emu.base_url)  # the batch, in a process of its own
        rng = random.Random(seed)
        # Kill in the first half of the sends: late enough to catch lines in every state, early
        # enough that a slow status read on a loaded machine never misses the running child.
        wait_until_moved(out, rng.randrange(1, LINES // 2), zygote, child)
        time.sleep(rng.uniform(0.0, 0.05))
        zygote.signal(child, signal.SIGSTOP)  # frozen where it is: it cannot finish meanwhile
        assert kb.status(out).running  # read from this process while the child holds the run
        zygote.signal(child, signal.SIGKILL)
        assert zygote.wait(child) == -signal.SIGKILL  # killed mid-batch, not finished
        assert not kb.status(out).running
        options = batch_options(emu, registry)

        resumed = kb.run(source, out=out, **options)
        assert all(line.status in kb_final() for line in resumed.records), [
            (r.id, r.status.value, r.error) for r in resumed.records if r.status not in kb_final()
        ]
        counts = creates_per_prompt(emu)
        assert max(counts.values(), default=0) <= 1  # never paid twice
        for line in resumed.records:
            made = counts[f"prompt {int(line.id[1:])}"]
            assert made == 1 or line.status == LineStatus.UNCERTAIN, line  # 0 or 1 if uncertain
        open_ids = {item.id for item in resumed.reconcile}
        assert open_ids == {r.id for r in resumed.records if r.status == LineStatus.UNCERTAIN}

        # A person reconciles: look the task up on kie.ai (the emulator) and settle the line.
        by_prompt = {str(task.input["prompt"]): task.task_id for task in emu.tasks}
        for item in resumed.reconcile:
            assert item.sent_input is not None
            kb.resolve(out, item.id, task_id=by_prompt.get(str(item.sent_input["prompt"])))
        final = kb.run(source, out=out, **options)
        assert final.all_succeeded
        assert creates_per_prompt(emu) == collections.Counter(
            {f"prompt {n}": 1 for n in range(LINES)}
        )
    check_files(out, final.records)
    assert comparable(manifest(out)) == reference
    leftovers = [p for p in (out / ".parts").rglob("*") if p.is_file()]
    assert leftovers == []
    assert json.loads((out / "summary.json").read_text())["all_succeeded"] is True


def wait_until_moved(out: Path, count: int, zygote: Zygote, child: int) -> None:
    """Return once ``count`` lines have left ``pending`` (or the child has ended)."""
    deadline = time.monotonic() + 60
    while zygote.poll(child) is None and time.monotonic() < deadline:
        try:
            status = kb.status(out)
        except (FileNotFoundError, sqlite3.Error):  # not created yet
            status = None
        if status is not None and status.total - status.counts.get("pending", 0) >= count:
            return
        time.sleep(0.005)


def kb_final() -> frozenset[LineStatus]:
    """Statuses a line may be in once a run has ended normally."""
    return frozenset({LineStatus.SUCCEEDED, LineStatus.UNCERTAIN, LineStatus.FAILED})
