"""The batch store's rules, for any sequence of runners' moves: fencing and never sending twice."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kieframe._batch._manifest import record, records, snapshot
from kieframe._batch._settle import submission_url
from kieframe._batch._store import DryRunStore, StoredLine, each_line
from kieframe._records import parse_record
from kieframe.batch import (
    BatchBusy,
    FileEntry,
    LineError,
    LineInput,
    LineStatus,
    SQLiteBatchStore,
    StaleTransition,
    settle_handler,
)

OWNERS = ("a", "b")
# What runners do; the moves a person or an explicit retry option makes are not in this list.
MOVES = st.lists(
    st.tuples(
        st.sampled_from(["claim", "send", "accept", "uncertain", "refuse", "recover", "settle"]),
        st.sampled_from(OWNERS),
        st.integers(0, 3),
    ),
    max_size=40,
)


def _store(folder: str, lines: int = 4) -> SQLiteBatchStore:
    store = SQLiteBatchStore(Path(folder) / "state.sqlite3")
    store.add_lines(
        [LineInput(id=f"l{n}", line=n + 1, model="m", input={"n": n}) for n in range(lines)]
    )
    return store


def _apply(store: SQLiteBatchStore, move: str, owner: str, index: int) -> None:
    line = f"l{index}"
    moves: dict[str, tuple[LineStatus, LineStatus, dict[str, Any]]] = {
        "send": (LineStatus.CLAIMED, LineStatus.SENDING, {"sent_at": 1.0}),
        "accept": (LineStatus.SENDING, LineStatus.ACCEPTED, {"task_id": f"t{index}"}),
        "uncertain": (LineStatus.SENDING, LineStatus.UNCERTAIN, {}),
        "refuse": (LineStatus.SENDING, LineStatus.REJECTED, {}),
    }
    if move == "claim":
        store.claim(owner, lease=600)
    elif move == "recover":
        store.recover(owner)
    elif move == "settle":  # a callback, unfenced by owner
        with contextlib.suppress(StaleTransition):
            store.transition(line, expect=LineStatus.UNCERTAIN, to=LineStatus.ACCEPTED)
    else:
        expect, to, values = moves[move]
        before = {stored.id: stored for stored in store.lines()}[line]
        try:
            store.transition(line, expect=expect, to=to, owner=owner, **values)
        except StaleTransition:
            after = {stored.id: stored for stored in store.lines()}[line]
            assert after == before  # a refused transition changes nothing
        else:
            assert before.status == expect
            assert before.owner == owner


@settings(max_examples=60, deadline=None)
@given(MOVES)
def test_a_line_once_sent_is_never_claimed_again(moves: list[tuple[str, str, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = _store(folder)
        sent: set[str] = set()
        try:
            for move, owner, index in moves:
                _apply(store, move, owner, index)
                statuses = {line.id: line.status for line in store.lines()}
                sent |= {
                    line
                    for line, status in statuses.items()
                    if status not in (LineStatus.PENDING, LineStatus.CLAIMED)
                }
                for line in sent:
                    assert statuses[line] not in (LineStatus.PENDING, LineStatus.CLAIMED)
        finally:
            store.close()


def test_a_changed_input_is_reported_and_replaced_only_when_not_in_flight(
    tmp_path: Path,
) -> None:
    store = _store(str(tmp_path), lines=2)
    claimed = store.claim("a", lease=600)
    assert claimed is not None
    store.transition(claimed.id, expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner="a")
    changed = [LineInput(id=f"l{n}", line=n + 1, model="m", input={"n": -n - 1}) for n in range(2)]
    assert store.add_lines(changed) == ["l0", "l1"]
    assert store.add_lines(changed, replace=True) == ["l0"]  # l0 is in flight: never replaced
    assert {line.id: line.input["n"] for line in store.lines()} == {"l0": 0, "l1": -2}
    store.close()


def test_a_second_runner_is_refused(tmp_path: Path) -> None:
    first = SQLiteBatchStore(tmp_path / "s.sqlite3")
    first.lock()
    second = SQLiteBatchStore(tmp_path / "s.sqlite3")
    with pytest.raises(BatchBusy):
        second.lock()
    second.close()
    first.close()


def test_a_running_batch_that_has_sent_nothing_yet_shows_no_eta(tmp_path: Path) -> None:
    """Its rate is unknown: no estimate, rather than one create a minute (hours for a batch)."""
    store = SQLiteBatchStore(tmp_path / "s.sqlite3")
    store.add_lines(
        [LineInput(id=f"l{n}", line=n + 1, model="m", input={"n": n}) for n in range(300)]
    )
    assert snapshot(store, running=True).eta_seconds is None
    status = snapshot(store, running=False)  # at the full create budget
    assert status.eta_seconds is not None
    assert status.eta_seconds == pytest.approx(300 * 60 / status.create_budget)
    store.close()


@pytest.mark.parametrize("cut_off", [False, True], ids=["sending", "uncertain"])
def test_a_late_callback_of_a_lines_earlier_task_never_settles_its_retry(
    tmp_path: Path, cut_off: bool
) -> None:
    """The retry's create is in flight (or its worker died): only its own task settles it."""
    store = SQLiteBatchStore(tmp_path / "s.sqlite3")
    store.add_lines([LineInput(id="l0", line=1, model="m", input={"n": 0})])
    urls = []
    for attempt in ("t-1", "t-2"):  # sent, failed, retried: sent again
        if attempt == "t-2":
            assert store.requeue([LineStatus.FAILED], to=LineStatus.PENDING) == 1
        assert store.claim("a", lease=60.0) is not None
        urls.append(submission_url("https://me.example/kie", store.batch_id, "l0"))
        store.transition("l0", expect=LineStatus.CLAIMED, to=LineStatus.SENDING, owner="a",
                         callback_url=urls[-1])  # fmt: skip
        if attempt == "t-1":
            store.transition("l0", expect=LineStatus.SENDING, to=LineStatus.FAILED, owner="a",
                             task_id="t-1")  # fmt: skip
    if cut_off:
        assert store.recover("b") == 1
    waiting = LineStatus.UNCERTAIN if cut_off else LineStatus.SENDING

    def callback(task_id: str, url: str) -> None:
        param = json.dumps({"callBackUrl": url})
        settle_handler(store)(parse_record({"taskId": task_id, "state": "fail", "param": param}))

    callback("t-1", urls[0])  # kie.ai delivering the first task's callback late
    (line,) = store.lines()
    assert (line.status, line.task_id) == (waiting, None)
    callback("t-2", urls[1])
    (line,) = store.lines()
    assert (line.status, line.task_id) == (LineStatus.ACCEPTED, "t-2")
    store.close()


class _Elsewhere:
    """A store that is not SQLite (as a database's is): only the protocol's methods."""

    def __init__(self, store: SQLiteBatchStore) -> None:
        self._store = store
        self.batch_id = store.batch_id

    def lines(self, statuses: Any = None) -> list[StoredLine]:
        return self._store.lines(statuses)

    def held_from_retry(self, status: LineStatus) -> int:
        return 1


FILES = st.lists(  # successive readings of a file: lines dropped, moved, changed, added
    st.lists(st.tuples(st.integers(0, 6), st.sampled_from(["a", "b"])), max_size=6,
             unique_by=lambda item: item[0]),
    min_size=1, max_size=4,
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(FILES, MOVES)
def test_lines_read_one_at_a_time_and_a_dry_runs_copy_are_the_lines_themselves(
    files: list[list[tuple[int, str]]], moves: list[tuple[str, str, int]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = _store(folder)
        for move in moves:
            _apply(store, *move)
        with contextlib.suppress(StaleTransition):
            store.transition("l0", expect=LineStatus.PENDING, to=LineStatus.FAILED,
                             error=LineError(type="TaskFailed", message="x"), credits=2.5,
                             files=(FileEntry(path="l0-1.mp4", bytes=9, sha256="0" * 64),),
                             bytes=9, finished_at=3.0)  # fmt: skip
        for lines in files:  # a line left out keeps its place: places may tie
            store.add_lines(
                [LineInput(id=f"l{n}", line=seq + 1, model="m", input={"p": p})
                 for seq, (n, p) in enumerate(lines)],
                replace=True,
            )  # fmt: skip
        every = store.lines()
        assert each_line(store, lambda line: line) == every
        assert records(store) == [record(line) for line in every]
        for source in (store, _Elsewhere(store)):
            copy = DryRunStore(source)  # type: ignore[arg-type]
            assert sorted(copy.lines(), key=lambda line: (line.seq, line.id)) == sorted(
                every, key=lambda line: (line.seq, line.id)
            )
            assert copy.counts() == store.counts()
            assert copy.figures(since=0.0) == store.figures(since=0.0)
            assert copy.batch_id == store.batch_id
            assert copy.held_from_retry(LineStatus.FAILED) == (source is not store)
            copy.close()
        store.close()
