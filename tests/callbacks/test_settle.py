"""A create whose answer was lost is settled by its callback, in the client's SQLite journal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from waiting import wait_for

import kieframe
from kieframe.callbacks import CallbackHub, CallbackReceiver, CallbackServer
from kieframe.journal import Journal, JournalStatus
from kieframe.lifecycle import PollPlan, RateLimits
from kieframe.testing._emulator import Emulator

from ._support import HAILUO, INPUT, KEY, NO_WATCHDOG, signed_headers


@pytest.fixture
def journaled(emulator: Emulator, tmp_path: Path) -> Iterator[kieframe.Client]:
    """A client of ``emulator`` that journals to a file."""
    with kieframe.Client(
        Emulator.API_KEY,
        base_url=emulator.base_url,
        upload_base_url=emulator.upload_base_url,
        poll=PollPlan.every(0.05),
        rate_limits=RateLimits.off(),
        journal=tmp_path / "journal.sqlite3",
    ) as client:
        yield client


def _receiver_of(client: kieframe.Client) -> tuple[CallbackReceiver, Journal]:
    """A receiver that re-reads through ``client`` (and so settles in its journal); the journal."""
    assert isinstance(client.journal, Journal)
    hub = CallbackHub(watchdog=NO_WATCHDOG)
    return CallbackReceiver(hmac_key=KEY, client=client, hub=hub), client.journal


def test_a_create_whose_answer_was_lost_is_settled_by_its_callback(
    emulator: Emulator, journaled: kieframe.Client
) -> None:
    receiver, book = _receiver_of(journaled)
    emulator.fault("createTask", "drop")  # the task is made, its answer is lost
    with CallbackServer(receiver, port=0) as server:
        with pytest.raises(kieframe.SubmissionUncertain):
            journaled.submit(HAILUO, INPUT, callback_url=f"{server.url}/kie?tenant=7")
        (info,) = emulator.tasks
        entry = wait_for(lambda: next(iter(book.entries(status=JournalStatus.ACCEPTED)), None))
    assert (entry.task_id, entry.detail) == (info.task_id, "settled by its callback")
    assert emulator.stats.requests["createTask"] == 1  # never sent again
    assert book.unfinished() == [entry]  # to collect, like any accepted task
    # The callback URL kie.ai was given keeps the user's query and names the submission.
    assert info.callback_url is not None
    query = parse_qs(urlsplit(info.callback_url).query)
    assert query["tenant"] == ["7"]
    assert len(query["kieframe_submission"]) == 1


def test_a_callback_settles_only_the_create_it_names(
    emulator: Emulator, journaled: kieframe.Client, tmp_path: Path
) -> None:
    other = Journal(tmp_path / "other.sqlite3")  # another client's journal, an unsettled create
    stranger = other.begin(model=HAILUO, input=INPUT, token="not-the-one")
    other.uncertain(stranger, reason="read timeout")
    with kieframe.Client(Emulator.API_KEY, base_url=emulator.base_url, journal=other) as second:
        receiver = CallbackReceiver(hmac_key=KEY, client=second, hub=CallbackHub())
        with CallbackServer(receiver, port=0) as server:
            task = journaled.submit(HAILUO, INPUT, callback_url=f"{server.url}/kie")
            wait_for(lambda: receiver.stats.delivered == 1)
    assert [(e.status, e.task_id) for e in other.entries()] == [("uncertain", None)]
    assert isinstance(journaled.journal, Journal)
    (mine,) = journaled.journal.entries()
    assert (mine.status, mine.task_id, mine.detail) == ("accepted", task.task_id, None)
    other.close()


def test_a_callback_url_without_its_query_settles_by_the_record_kie_echoes(
    emulator: Emulator, journaled: kieframe.Client
) -> None:
    receiver, book = _receiver_of(journaled)
    emulator.fault("createTask", "drop")
    with pytest.raises(kieframe.SubmissionUncertain):  # its callback goes nowhere
        journaled.submit(HAILUO, INPUT, callback_url="http://127.0.0.1:9/nowhere")
    (info,) = emulator.tasks
    record = wait_for(lambda: _finished(emulator, info.task_id))
    with CallbackServer(receiver, port=0) as server:  # a URL that lost its query string
        body = {"code": 200, "msg": "ok", "data": record}
        answer = httpx.post(f"{server.url}/kie", json=body, headers=signed_headers(info.task_id))
        assert answer.status_code == 200
        entry = wait_for(lambda: next(iter(book.entries(status=JournalStatus.ACCEPTED)), None))
    assert entry.task_id == info.task_id


def _finished(emulator: Emulator, task_id: str) -> dict[str, object] | None:
    record = emulator.record(task_id)
    return record if record is not None and record["state"] == "success" else None


@pytest.mark.parametrize("tag", [True, False])
def test_tag_callback_urls_off_sends_the_callback_url_as_given(
    emulator: Emulator, tmp_path: Path, tag: bool
) -> None:
    with kieframe.Client(
        Emulator.API_KEY,
        base_url=emulator.base_url,
        poll=PollPlan.every(0.05),
        rate_limits=RateLimits.off(),
        journal=tmp_path / "journal.sqlite3",
        tag_callback_urls=tag,
    ) as client:
        receiver, book = _receiver_of(client)
        emulator.fault("createTask", "drop")  # the task is made, its answer is lost
        with CallbackServer(receiver, port=0) as server:
            url = f"{server.url}/kie?tenant=7"
            with pytest.raises(kieframe.SubmissionUncertain):
                client.submit(HAILUO, INPUT, callback_url=url)
            (info,) = emulator.tasks
            wait_for(lambda: receiver.stats.delivered == 1)
        (entry,) = book.entries()
    if tag:  # the callback named the create and settled it
        assert info.callback_url != url
        assert (entry.status, entry.task_id) == ("accepted", info.task_id)
    else:  # sent as given; the callback cannot name the create: it stays to resolve by hand
        assert info.callback_url == url
        assert (entry.status, entry.task_id) == ("uncertain", None)
