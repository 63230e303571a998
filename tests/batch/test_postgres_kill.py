"""Several workers run one batch on PostgreSQL; random ones are SIGKILLed and started again.

Three worker processes (forked from one that imported kieframe once: :mod:`._forks`) run the
same batch (same output folder, same database) against one
emulator whose windows are scaled down; kie.ai's callbacks go to one receiver in this process
(as behind a load balancer), which settles lines for every worker through the database. While
they run, a seeded random worker is killed (after a seeded number of lines have moved) and a
fresh one takes its place, a few times. Once every worker has ended, no line is lost and none
was created twice; the creates left uncertain by the kills are reconciled as a person would
(looking the task up on "kie.ai", here the emulator), and one more run finishes the batch.
"""

from __future__ import annotations

import collections
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kieframe.batch as kb
from kieframe import CallbackReceiver, CallbackServer, Client
from kieframe.batch import LineStatus
from kieframe.postgres import PostgresBatchStore
from kieframe.testing import Emulator

from ._forks import Zygote
from ._support import emulator, make_registry, manifest, shared_options, write_jsonl
from .test_faults import check_files, creates_per_prompt

LINES = 40
WORKERS = 3
KILLS = 3
LEASE = 2.0  # a killed worker's lines are taken over this long (database clock) after it died


class Workers:
    """The worker processes of one batch (forked by a zygote); every one is killed or waited for."""

    def __init__(
        self, zygote: Zygote, emu: Emulator, source: Path, out: Path, url: str, callback: str
    ) -> None:
        self.zygote = zygote
        self.args = (source, out, emu.base_url)
        # Uncertain lines wait for their callbacks only briefly: those of creates made come
        # within it, and those of creates that never left stay for a person to reconcile.
        self.options: dict[str, Any] = {
            "state": url, "callback_url": callback, "listen": ["127.0.0.1", 0], "lease": LEASE,
            "settle_timeout": 0.5,
        }  # fmt: skip
        self.running: list[int] = []
        self.ended: list[int] = []

    def start(self) -> None:
        self.running.append(self.zygote.run(*self.args, shared=True, **self.options))

    def kill(self, rng: random.Random) -> None:
        pid = self.running.pop(rng.randrange(len(self.running)))
        self.zygote.signal(pid, signal.SIGKILL)
        self.ended.append(self.zygote.wait(pid))

    def wait(self) -> None:
        for pid in self.running:
            self.ended.append(self.zygote.wait(pid))
        self.running = []

    def stop(self) -> None:
        for pid in self.running:
            self.zygote.signal(pid, signal.SIGKILL)
            self.zygote.wait(pid)


@pytest.fixture
def receiver(kie_database_url: str) -> Iterator[tuple[Emulator, str]]:
    """The emulator, and the URL of the one callback receiver every worker's tasks call."""
    registry = make_registry()
    store = PostgresBatchStore(kie_database_url, name="out")  # the batch of tmp_path/"out"
    with (
        emulator(registry, window_scale=0.1) as emu,
        Client(Emulator.API_KEY, base_url=emu.base_url, upload_base_url=emu.base_url) as reader,
    ):
        handler = kb.settle_handler(store)
        hub_owner = CallbackReceiver(client=reader, handler=handler, database_url=kie_database_url)
        with CallbackServer(hub_owner, host="127.0.0.1", port=0) as server:
            yield emu, f"{server.url}/kieframe"
    store.close()


@pytest.mark.parametrize("seed", range(2))
def test_workers_killed_at_random_lose_no_line_and_pay_nothing_twice(
    tmp_path: Path,
    kie_database_url: str,
    receiver: tuple[Emulator, str],
    zygote: Zygote,
    seed: int,
) -> None:
    emu, callback_url = receiver
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", LINES)
    out = tmp_path / "out"
    rng = random.Random(seed)
    workers = Workers(zygote, emu, source, out, kie_database_url, callback_url)
    try:
        for _ in range(WORKERS):
            workers.start()
        # Kill in the first half of the lines: late enough to catch lines in every state,
        # early enough that the batch is still running (a worker found ended is not killed).
        for moved in sorted(rng.sample(range(2, LINES // 2), KILLS)):
            wait_until_moved(out, kie_database_url, moved)
            time.sleep(rng.uniform(0.0, 0.05))
            workers.kill(rng)
            workers.start()
        workers.wait()
    finally:
        workers.stop()
    assert len(workers.ended) == WORKERS + KILLS
    assert set(workers.ended) <= {0, -signal.SIGKILL}  # killed, or ended by itself, normally
    assert workers.ended[0] == -signal.SIGKILL  # the first kill always finds the batch running

    where = {"state": kie_database_url}
    records = kb.read_records(out, **where)
    assert len(records) == LINES
    counts = creates_per_prompt(emu)
    assert max(counts.values()) <= 1  # never paid twice
    for line in records:  # none lost: done, or uncertain (the kill caught its create in flight)
        assert line.status in (LineStatus.SUCCEEDED, LineStatus.UNCERTAIN), line
        assert counts[f"prompt {int(line.id[1:])}"] == 1 or line.status == LineStatus.UNCERTAIN

    # A person reconciles what is left: look the task up on kie.ai and settle the line.
    by_prompt = {str(task.input["prompt"]): task.task_id for task in emu.tasks}
    for item in kb.to_reconcile(out, **where):
        assert item.sent_input is not None
        kb.resolve(out, item.id, task_id=by_prompt.get(str(item.sent_input["prompt"])), **where)
    final = kb.run(
        source, out=out, state=kie_database_url, **shared_options(emu.base_url, registry)
    )
    assert final.all_succeeded
    assert creates_per_prompt(emu) == collections.Counter({f"prompt {n}": 1 for n in range(LINES)})
    check_files(out, final.records)
    assert [(line["id"], line["status"]) for line in manifest(out)] == [
        (f"l{n}", "succeeded") for n in range(LINES)
    ]  # one manifest, written from the database's state
    assert [line.id for line in kb.read_records(out, **where)] == [f"l{n}" for n in range(LINES)]


def wait_until_moved(out: Path, url: str, count: int) -> None:
    """Return once ``count`` lines have left ``pending`` (a 60 s cap, not a timing)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status = kb.status(out, state=url)
        except FileNotFoundError:  # no worker has made the batch yet
            status = None
        if status is not None and status.total - status.counts.get("pending", 0) >= count:
            return
        time.sleep(0.005)
