"""The PostgreSQL batch store against a real server: claims, fences, leases and recovery.

Leases are made to run out by the database's own clock (a lease of 0 s, or a heartbeat row moved
into the past with ``clock_timestamp()``), never by sleeping.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kieframe._batch._settle import submission_url
from kieframe._postgres._connect import Database
from kieframe._records import parse_record
from kieframe.batch import (
    BatchStore,
    LineError,
    LineInput,
    LineStatus,
    StaleTransition,
    settle_handler,
)
from kieframe.postgres import PostgresBatchStore

pytestmark = pytest.mark.usefixtures("kie_postgres")

LEASE = 600.0


def inputs(count: int, *, prompt: str = "prompt") -> list[LineInput]:
    return [
        LineInput(id=f"l{n}", line=n + 1, model="m", input={"prompt": f"{prompt} {n}"})
        for n in range(count)
    ]


@pytest.fixture
def open_store(kie_database_url: str) -> Iterator[Callable[..., PostgresBatchStore]]:
    """Stores of the test's database, each with its own connection (one per worker)."""
    made: list[PostgresBatchStore] = []

    def make(name: str = "b") -> PostgresBatchStore:
        store = PostgresBatchStore(kie_database_url, name=name)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def database(kie_database_url: str) -> Iterator[Database]:
    """One connection to the test's database, for every example of a property test."""
    shared = Database(kie_database_url)
    yield shared
    shared.close()


def expire(url: str, owner: str) -> None:
    """End ``owner``'s lease now, by the database's clock."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE kieframe_batch_workers SET lease_until = clock_timestamp() - interval '1 s'"
            " WHERE owner = %s",
            (owner,),
        )


def status_of(store: BatchStore, line_id: str) -> tuple[LineStatus, str | None]:
    line = next(line for line in store.lines() if line.id == line_id)
    return line.status, line.owner


def test_it_is_a_batch_store_and_batches_are_kept_apart_by_name(
    open_store: Callable[..., PostgresBatchStore], kie_database_url: str
) -> None:
    first, again, other = open_store("videos"), open_store("videos"), open_store("images")
    assert isinstance(first, BatchStore)
    assert first.batch_id == again.batch_id != other.batch_id
    assert first.add_lines(inputs(3)) == []
    assert [line.id for line in again.lines()] == ["l0", "l1", "l2"]
    assert other.lines() == []
    # The same lines again change nothing; a changed input is reported, not applied.
    assert again.add_lines(inputs(3)) == []
    assert again.add_lines(inputs(3, prompt="other")) == ["l0", "l1", "l2"]
    assert {line.input["prompt"] for line in first.lines()} == {"prompt 0", "prompt 1", "prompt 2"}
    with pytest.raises(LookupError):
        PostgresBatchStore(kie_database_url, name="nothing", create=False)


def test_a_line_invalid_for_another_reason_takes_the_new_reason(
    open_store: Callable[..., PostgresBatchStore],
) -> None:
    store = open_store()

    def invalid(message: str) -> list[LineInput]:
        error = LineError(type="InputValidationError", message=message)
        return [LineInput(id="l0", line=1, model="m", input={"prompt": "p"}, error=error)]

    assert store.add_lines(invalid("callBackUrl: wanted")) == []
    assert store.add_lines(invalid("image_url: no such file")) == []
    (line,) = store.lines()
    assert line.status == LineStatus.INVALID
    assert line.error == invalid("image_url: no such file")[0].error
    before = store.lines()
    assert store.add_lines(invalid("image_url: no such file")) == []
    assert store.lines() == before  # the same reading again writes nothing


def test_workers_joining_at_once_add_the_lines_once(
    open_store: Callable[..., PostgresBatchStore],
) -> None:
    stores = [open_store() for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    changed: list[list[str]] = []

    def join(store: PostgresBatchStore) -> None:
        barrier.wait()
        changed.append(store.add_lines(inputs(50)))

    threads = [threading.Thread(target=join, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert changed == [[]] * 4
    assert [line.id for line in stores[0].lines()] == [f"l{n}" for n in range(50)]


@pytest.mark.parametrize("workers", [2, 6])
def test_concurrent_claims_never_hand_one_line_to_two_workers(
    open_store: Callable[..., PostgresBatchStore], workers: int
) -> None:
    stores = [open_store() for _ in range(workers)]
    stores[0].add_lines(inputs(120))
    barrier = threading.Barrier(workers)
    taken: dict[str, list[str]] = {}

    def work(index: int, store: PostgresBatchStore) -> None:
        owner = f"w{index}"
        store.heartbeat(owner, lease=LEASE)
        mine = taken.setdefault(owner, [])
        barrier.wait()
        while (line := store.claim(owner, lease=LEASE)) is not None:
            assert line.owner == owner
            assert line.status == LineStatus.CLAIMED
            mine.append(line.id)

    threads = [threading.Thread(target=work, args=item) for item in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [line_id for ids in taken.values() for line_id in ids]
    assert Counter(every) == Counter(f"l{n}" for n in range(120))  # each line exactly once
    lines = stores[0].lines()
    assert all(line.status == LineStatus.CLAIMED for line in lines)
    assert {line.id: line.owner for line in lines} == {
        line_id: owner for owner, ids in taken.items() for line_id in ids
    }


def test_a_worker_whose_lease_ran_out_cannot_move_a_line_another_took(
    open_store: Callable[..., PostgresBatchStore], kie_database_url: str
) -> None:
    a, b = open_store(), open_store()
    a.add_lines(inputs(1))
    a.heartbeat("a", lease=LEASE)
    b.heartbeat("b", lease=LEASE)
    assert (claimed := a.claim("a", lease=LEASE)) is not None
    assert claimed.id == "l0"
    assert b.claim("b", lease=LEASE) is None  # held by a live worker
    expire(kie_database_url, "a")
    # Dead to the others: its claim is taken over, and its own transitions are fenced off.
    taken = b.claim("b", lease=LEASE)
    assert taken is not None
    assert taken.id == "l0"
    assert taken.owner == "b"
    with pytest.raises(StaleTransition):
        a.transition("l0", expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner="a")
    a.heartbeat("a", lease=LEASE)  # back to life: still not its line
    with pytest.raises(StaleTransition):
        a.transition("l0", expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner="a")
    moved = b.transition("l0", expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner="b")
    assert (moved.status, moved.owner) == (LineStatus.SENDING, "b")


def test_a_lapsed_worker_sends_nothing_but_keeps_what_kie_answered(
    open_store: Callable[..., PostgresBatchStore], kie_database_url: str
) -> None:
    store = open_store()
    store.add_lines(inputs(2))
    store.heartbeat("a", lease=LEASE)
    store.claim("a", lease=LEASE)
    store.claim("a", lease=LEASE)
    store.transition("l1", expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner="a")
    expire(kie_database_url, "a")
    # Its claim is no longer its own to send (another worker may be taking it) ...
    with pytest.raises(StaleTransition):
        store.transition("l0", expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner="a")
    # ... but the answer to a create already in flight is the truth about a paid task.
    done = store.transition(
        "l1", expect=LineStatus.SENDING, to=LineStatus.ACCEPTED, owner="a", task_id="t1"
    )
    assert (done.status, done.task_id) == (LineStatus.ACCEPTED, "t1")


def test_recovery_settles_only_the_lines_of_dead_workers(
    open_store: Callable[..., PostgresBatchStore], kie_database_url: str
) -> None:
    store, other = open_store(), open_store()
    store.add_lines(inputs(4))
    for owner in ("dead", "alive"):
        store.heartbeat(owner, lease=LEASE)
        store.claim(owner, lease=LEASE)
        line = store.claim(owner, lease=LEASE)
        assert line is not None
        store.transition(line.id, expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner=owner)
    other.heartbeat("me", lease=LEASE)
    assert other.recover("me") == 0  # everyone is alive
    assert other.held_by_others("me") == 4
    store.heartbeat("dead", lease=0.0)  # it left (or its lease ran out)
    assert other.recover("me") == 1
    assert other.held_by_others("me") == 2
    assert [(line.status, line.owner) for line in other.lines()] == [
        (LineStatus.PENDING, None),  # its claim: nothing was sent, back in the queue
        (LineStatus.UNCERTAIN, "dead"),  # its create in flight: never resent on its own
        (LineStatus.CLAIMED, "alive"),
        (LineStatus.SENDING, "alive"),
    ]
    uncertain = other.lines([LineStatus.UNCERTAIN])[0]
    assert uncertain.error is not None
    assert uncertain.error.type == "SubmissionUncertain"
    taken = other.claim("me", lease=LEASE)
    assert taken is not None
    assert taken.id == "l0"


def test_accepted_lines_of_a_dead_worker_are_adopted_by_one_live_worker(
    open_store: Callable[..., PostgresBatchStore], kie_database_url: str
) -> None:
    store, b, c = open_store(), open_store(), open_store()
    store.add_lines(inputs(3))
    store.heartbeat("a", lease=LEASE)
    for n in range(3):
        store.claim("a", lease=LEASE)
        store.transition(f"l{n}", expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner="a")
        store.transition(
            f"l{n}", expect=LineStatus.SENDING, to=LineStatus.ACCEPTED, owner="a", task_id=f"t{n}"
        )
    for worker, owner in ((b, "b"), (c, "c")):
        worker.heartbeat(owner, lease=LEASE)
        assert worker.adopt(owner) == []  # a is alive and follows its own
    assert [line.id for line in store.adopt("a")] == ["l0", "l1", "l2"]
    expire(kie_database_url, "a")
    adopted = b.adopt("b")
    assert [(line.id, line.owner) for line in adopted] == [("l0", "b"), ("l1", "b"), ("l2", "b")]
    assert c.adopt("c") == []  # b is alive: nobody takes them from it
    with pytest.raises(StaleTransition):  # a comes back too late to download them
        store.transition("l0", expect=LineStatus.ACCEPTED, to=LineStatus.DOWNLOADING, owner="a")


def test_leases_follow_the_database_clock_not_the_workers(
    open_store: Callable[..., PostgresBatchStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, other = open_store(), open_store()
    store.add_lines(inputs(1))
    # A worker whose clock is a day ahead, and one whose clock is a day behind.
    monkeypatch.setattr(time, "time", lambda: 1e9)
    store.heartbeat("skewed", lease=LEASE)
    store.claim("skewed", lease=LEASE)
    monkeypatch.setattr(time, "time", lambda: 4e9)
    other.heartbeat("me", lease=LEASE)
    assert other.held_by_others("me") == 1  # still alive: its lease is on the database's clock
    assert other.claim("me", lease=LEASE) is None
    assert other.recover("me") == 0


@pytest.mark.parametrize("status", [LineStatus.SENDING, LineStatus.UNCERTAIN])
def test_a_callback_received_by_any_worker_settles_another_workers_line(
    open_store: Callable[..., PostgresBatchStore], status: LineStatus
) -> None:
    sender, receiver, elsewhere = open_store(), open_store(), open_store("another batch")
    sender.add_lines(inputs(1))
    sender.heartbeat("b", lease=LEASE)
    sender.claim("b", lease=LEASE)
    sender.transition("l0", expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner="b")
    if status == LineStatus.UNCERTAIN:  # its worker died with the create in flight
        sender.heartbeat("b", lease=0.0)
        assert receiver.recover("a") == 1
    url = submission_url("https://me.example/kie", sender.batch_id, "l0")
    record = parse_record(
        {"taskId": "t-1", "state": "success", "param": json.dumps({"callBackUrl": url})}
    )
    settle_handler(elsewhere)(record)  # another batch's receiver: not its line
    assert status_of(sender, "l0") == (status, "b")
    settle_handler(receiver)(record)
    (line,) = sender.lines()
    assert (line.status, line.task_id, line.owner, line.error) == (
        LineStatus.ACCEPTED, "t-1", "b", None,
    )  # fmt: skip


def test_replace_resets_changed_lines_not_in_flight_and_requeue_moves_a_class(
    open_store: Callable[..., PostgresBatchStore],
) -> None:
    store = open_store()
    store.add_lines(inputs(3))
    store.heartbeat("a", lease=LEASE)
    for n in range(2):
        store.claim("a", lease=LEASE)
        store.transition(f"l{n}", expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner="a")
    store.transition("l0", expect=LineStatus.SENDING, to=LineStatus.REJECTED, owner="a")
    # l0 was rejected (nothing paid), l1 is in flight, l2 was never sent.
    assert store.add_lines(inputs(3, prompt="new"), replace=True) == ["l1"]
    assert [(line.status, line.input["prompt"]) for line in store.lines()] == [
        (LineStatus.PENDING, "new 0"),
        (LineStatus.SENDING, "prompt 1"),
        (LineStatus.PENDING, "new 2"),
    ]
    store.transition("l1", expect=LineStatus.SENDING, to=LineStatus.FAILED, owner="a")
    assert store.requeue([LineStatus.FAILED], to=LineStatus.PENDING) == 0  # a is running
    store.heartbeat("a", lease=0.0)  # a ended: its failed lines are anyone's to retry
    assert store.requeue([LineStatus.FAILED], to=LineStatus.PENDING) == 1
    line = store.lines()[1]
    assert (line.status, line.owner, line.sent_at) == (LineStatus.PENDING, None, None)
    assert store.requeue([], to=LineStatus.PENDING) == 0
    with pytest.raises(ValueError, match="final failed state"):  # never a line in progress
        store.requeue([LineStatus.FAILED, LineStatus.SENDING], to=LineStatus.PENDING)


@pytest.mark.parametrize("outcome", [LineStatus.REJECTED, LineStatus.FAILED])
def test_a_retry_started_beside_a_running_retry_sends_no_line_again(
    open_store: Callable[..., PostgresBatchStore], outcome: LineStatus
) -> None:
    """Two workers started with the same retry option: each failed line is sent once more."""
    a, b = open_store(), open_store()
    a.add_lines(inputs(2))
    a.heartbeat("old", lease=LEASE)
    for _ in range(2):  # a first run: both lines sent, and both failed
        claimed = a.claim("old", lease=LEASE)
        assert claimed is not None
        a.transition(claimed.id, expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner="old")
        a.transition(claimed.id, expect=LineStatus.SENDING, to=outcome, owner="old")
    a.heartbeat("old", lease=0.0)
    sent: Counter[str] = Counter()

    def retry(store: PostgresBatchStore, owner: str) -> None:  # what a worker's start does
        store.heartbeat(owner, lease=LEASE)
        store.requeue([outcome], to=LineStatus.PENDING)
        while (line := store.claim(owner, lease=LEASE)) is not None:
            store.transition(line.id, expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner=owner)
            sent[line.id] += 1
            store.transition(line.id, expect=LineStatus.SENDING, to=outcome, owner=owner)

    retry(a, "a")  # a retries both, and both fail again, while it still runs
    retry(b, "b")  # b starts with the same option: a holds what failed, so b sends nothing
    assert sent == {"l0": 1, "l1": 1}
    a.heartbeat("a", lease=0.0)  # once a has ended, a retry takes them again
    retry(b, "b")
    assert sent == {"l0": 2, "l1": 2}


OWNERS = ("a", "b")
STEPS = st.lists(
    st.tuples(st.sampled_from(["claim", "send", "die", "revive"]), st.sampled_from(OWNERS))
    | st.just(("recover", "x")),  # a third worker's recovery pass
    min_size=3,
    max_size=30,
)  # fmt: skip


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
@example(steps=[("claim", "a"), ("die", "a"), ("send", "a")])  # sends nothing once dead
@example(  # a dead worker's create in flight is never sent again by another
    steps=[("claim", "a"), ("send", "a"), ("die", "a"), ("recover", "x"), ("claim", "b"),
           ("send", "b")]
)  # fmt: skip
def test_whoever_dies_and_comes_back_no_line_is_sent_twice_or_lost(
    database: Database, steps: list[tuple[str, str]]
) -> None:
    store = PostgresBatchStore(database, name=uuid.uuid4().hex)  # a batch per example
    try:
        store.add_lines(inputs(3))
        alive = dict.fromkeys(OWNERS, True)
        held: dict[str, list[str]] = {owner: [] for owner in OWNERS}
        sent: Counter[str] = Counter()
        for owner in OWNERS:
            store.heartbeat(owner, lease=LEASE)
        for step, owner in steps:
            if step == "claim" and (line := store.claim(owner, lease=LEASE)) is not None:
                held[owner].append(line.id)
            elif step == "send" and held[owner]:
                line_id = held[owner].pop(0)
                try:
                    store.transition(
                        line_id, expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner=owner
                    )
                except StaleTransition:
                    continue
                assert alive[owner]  # a worker whose lease ran out never starts a create
                sent[line_id] += 1
            elif step in ("die", "revive"):
                alive[owner] = step == "revive"
                store.heartbeat(owner, lease=LEASE if alive[owner] else 0.0)
            elif step == "recover":
                store.recover(owner)
        assert max(sent.values(), default=0) <= 1  # no create twice
        for line in store.lines():  # none lost: what was sent is known, the rest can be sent
            if sent[line.id]:
                assert line.status in (LineStatus.SENDING, LineStatus.UNCERTAIN)
            else:
                assert line.status in (LineStatus.PENDING, LineStatus.CLAIMED)
    finally:
        store.close()
