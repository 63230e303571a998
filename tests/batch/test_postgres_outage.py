"""PostgreSQL batch workers ride out the database going away (a restart, a failover).

The test cluster is stopped while workers run and started again. Nothing waits for a time: the
server is started again once every worker has said that it is waiting for the database, and
what was sent during the outage is bounded by the mechanism (a create leaves only after its
``sending`` was written, so once the server is down no new create can start; one that had
passed that write may still land, at most one per create slot).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from waiting import wait_for

import kieframe.batch as kb
from kieframe._batch._store import fail_fast
from kieframe._cli._exit import ExitCode, exit_code_for
from kieframe.batch import LineInput, LineStatus
from kieframe.errors import DatabaseUnavailable
from kieframe.postgres import PostgresBatchStore
from kieframe.testing import Emulator
from kieframe.testing.postgres import PostgresCluster

from ._support import emulator, make_registry, shared_options, write_jsonl
from .test_faults import creates_per_prompt
from .test_postgres_store import expire

LINES = 40
WORKERS = 2
CONCURRENCY = 2
WAITING = "waiting up to"  # what a store logs once when the database goes away


class Outages(logging.Handler):
    """Counts the "waiting for the database" messages of kieframe's logger."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.waiting = 0
        self.back = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.waiting += WAITING in message
        self.back += "is back after" in message


@pytest.fixture
def outages() -> Iterator[Outages]:
    handler = Outages()
    logger = logging.getLogger("kieframe")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with emulator(make_registry(), window_scale=0.1) as running:
        yield running


def restart_when(cluster: PostgresCluster, ready: Callable[[float], bool]) -> tuple[float, float]:
    """Stop the server, start it again once ``ready(down_at)``; return when it was down."""
    cluster.stop()
    down_at = time.time()  # from here on, no statement reaches the database
    wait_for(lambda: ready(down_at))
    up_at = time.time()
    cluster.start()
    return down_at, up_at


@pytest.mark.parametrize(
    ("lease", "outlast"), [(30.0, False), (1.0, True)], ids=["leases-kept", "leases-lapsed"]
)
def test_workers_ride_out_a_database_restart_and_send_nothing_while_it_is_down(
    tmp_path: Path,
    kie_postgres: PostgresCluster,
    kie_database_url: str,
    emu: Emulator,
    outages: Outages,
    lease: float,
    outlast: bool,
) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", LINES)
    out = tmp_path / "out"
    options = {
        **shared_options(emu.base_url, registry),
        "state": kie_database_url,
        "concurrency": CONCURRENCY,
        "db_outage_timeout": 120.0,  # far beyond the outage: a cap, not a timing
        "lease": lease,
    }
    results: list[kb.BatchResult] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(kb.run(source, out=out, **options))
        except BaseException as error:  # the test reports it
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(emu.tasks) >= 8)  # mid-run: the workers are sending
    # Every worker is waiting for the database; with a short lease, the outage outlasts every
    # lease: the last renewal was before the server stopped, and the database's clock is this
    # machine's. The workers find their lines fenced, or taken over, when it is back.
    down_at, up_at = restart_when(
        kie_postgres,
        lambda down_at: (
            outages.waiting >= WORKERS and (not outlast or time.time() > down_at + lease)
        ),
    )
    for thread in threads:
        thread.join(120)
    assert not errors

    assert outages.waiting == outages.back == WORKERS  # once each way, per worker
    final = kb.read_records(out, state=kie_database_url)
    assert [(line.id, line.status) for line in final] == [
        (f"l{n}", LineStatus.SUCCEEDED) for n in range(LINES)
    ]
    assert creates_per_prompt(emu) == collections.Counter({f"prompt {n}": 1 for n in range(LINES)})
    # Each slot's create leaves only after its line was written down as sending; once the
    # server is down no new create can start, so at most one per slot lands in the outage,
    # and that one was written down before it.
    sent_while_down = [t for t in emu.tasks if down_at < t.created_at < up_at]
    assert len(sent_while_down) <= WORKERS * CONCURRENCY
    sent_at = {line.task_id: line.sent_at for line in final}
    for task in sent_while_down:
        sent = sent_at[task.task_id]
        assert sent is not None
        assert sent.timestamp() < down_at


def test_a_statement_waits_for_the_database_and_renews_the_lease_when_it_is_back(
    kie_postgres: PostgresCluster, kie_database_url: str, outages: Outages
) -> None:
    store = PostgresBatchStore(kie_database_url, name="b", outage_timeout=120.0)
    lines = [LineInput(id=f"l{n}", line=n + 1, model="m", input={"n": n}) for n in range(2)]
    store.add_lines(lines)
    store.heartbeat("a", lease=600.0)
    expire(kie_database_url, "a")  # its lease ran out during the outage, say
    claimed: list[Any] = []
    thread = threading.Thread(target=lambda: claimed.append(store.claim("a", lease=600.0)))
    try:
        kie_postgres.stop()
        with fail_fast(), pytest.raises(DatabaseUnavailable):  # what lets a create leave
            store.counts()  # does not wait
        thread.start()
        wait_for(lambda: outages.waiting == 1)  # the claim waits for the database
        kie_postgres.start()
        thread.join(60)
        assert outages.back == 1
        # Back: its lease renewed first, the claim went through as if nothing had happened.
        assert store.live_workers() == 1
        assert [line.id for line in claimed] == ["l0"]
        assert [(line.status, line.owner) for line in store.lines()] == [
            (LineStatus.CLAIMED, "a"),
            (LineStatus.PENDING, None),
        ]
    finally:
        kie_postgres.start()
        store.close()


def test_a_worker_without_a_live_lease_claims_nothing(kie_database_url: str) -> None:
    store = PostgresBatchStore(kie_database_url, name="b")
    try:
        store.add_lines([LineInput(id="l0", line=1, model="m", input={})])
        store.heartbeat("a", lease=600.0)
        expire(kie_database_url, "a")
        assert store.claim("a", lease=600.0) is None  # until its heartbeat is back
        store.heartbeat("a", lease=600.0)
        claimed = store.claim("a", lease=600.0)
        assert claimed is not None
        assert claimed.id == "l0"
    finally:
        store.close()


def test_past_the_outage_timeout_the_worker_stops_with_exit_9_and_a_rerun_finishes(
    tmp_path: Path, kie_postgres: PostgresCluster, kie_database_url: str, emu: Emulator
) -> None:
    registry = make_registry()
    count = 6
    source = write_jsonl(tmp_path / "in.jsonl", count)
    out = tmp_path / "out"
    options = {**shared_options(emu.base_url, registry), "state": kie_database_url}
    # The first run's waits end only by callbacks that never come (kie.ai calls a closed
    # port; the watchdog would poll in ten minutes): it is still running when the server stops.
    # It learns of the outage when its heartbeat (every third of its lease) cannot be renewed.
    stuck = {"callback_url": "http://127.0.0.1:9/kie", "listen": ("127.0.0.1", 0),
             "watchdog": 600.0, "db_outage_timeout": 0.5, "lease": 1.5}  # fmt: skip
    errors: list[BaseException] = []

    def work() -> None:
        try:
            kb.run(source, out=out, **{**options, **stuck})
        except BaseException as error:  # the test looks at it
            errors.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        wait_for(lambda: len(emu.tasks) == count)
        kie_postgres.stop()
        thread.join(120)
    finally:
        kie_postgres.start()
    (error,) = errors
    assert isinstance(error, DatabaseUnavailable)
    assert exit_code_for(error) == ExitCode.NO_ANSWER  # exit code 9, as documented
    assert "outage timeout (0.5 s)" in str(error)
    assert "run the batch again to resume" in str(error)

    where = {"state": kie_database_url}
    # Its lease could not be ended: the next run takes its lines over once it has run out.
    for (owner,) in workers(kie_database_url):
        expire(kie_database_url, owner)
    # The next runs listen for callbacks too: their waits poll every half second (the watchdog)
    options["listen"] = ("127.0.0.1", 0)
    rerun = kb.run(source, out=out, **options)
    # A create whose answer could not be written down is left to reconcile, never resent.
    by_prompt = {str(task.input["prompt"]): task.task_id for task in emu.tasks}
    assert {item.id for item in rerun.reconcile} == {
        line.id for line in rerun.records if line.status == LineStatus.UNCERTAIN
    }
    for item in rerun.reconcile:
        assert item.sent_input is not None
        kb.resolve(out, item.id, task_id=by_prompt[str(item.sent_input["prompt"])], **where)
    final = kb.run(source, out=out, **options)
    assert final.all_succeeded
    assert creates_per_prompt(emu) == collections.Counter({f"prompt {n}": 1 for n in range(count)})


def workers(url: str) -> list[tuple[str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT owner FROM kieframe_batch_workers").fetchall()
