"""With a journal, every create is on disk before it is sent, and its outcome after."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import stamina
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kieframe
from kieframe.authoring import url_pattern
from kieframe.errors import BadRequestError
from kieframe.journal import Journal, JournalStatus
from kieframe.lifecycle import RateLimits
from kieframe.testing import Emulator
from kieframe.testing.pytest_plugin import FAST_POLL, FAST_TIMING

WAN = "wan/2-5-image-to-video"
INPUT = {"prompt": "a heron in the reeds", "image_url": "https://example.com/h.png"}


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    journal = Journal(tmp_path / "journal.sqlite3")
    yield journal
    journal.close()


@pytest.fixture
def client(kie_emulator: Emulator, journal: Journal) -> Iterator[kieframe.Client]:
    with kieframe.Client(
        Emulator.API_KEY,
        base_url=kie_emulator.base_url,
        poll=FAST_POLL,
        rate_limits=RateLimits.off(),
        journal=journal,
    ) as client:
        yield client


def test_a_run_is_journaled_from_send_to_success(client: kieframe.Client, journal: Journal) -> None:
    result = client.run(WAN, INPUT)
    (entry,) = journal.entries()
    assert entry.status is JournalStatus.SUCCEEDED
    assert entry.task_id == result.task_id
    assert entry.host == str(client.base_url)
    assert entry.input["prompt"] == INPUT["prompt"]


def test_an_accepted_task_stays_unfinished_until_waited(
    client: kieframe.Client, journal: Journal
) -> None:
    task = client.submit(WAN, INPUT)
    (entry,) = journal.unfinished()
    assert (entry.status, entry.task_id) == (JournalStatus.ACCEPTED, task.task_id)
    client.wait(task)
    assert journal.unfinished() == []


def test_a_journaled_task_is_found_with_its_model_and_submission(
    client: kieframe.Client, journal: Journal
) -> None:
    """What `kieframe wait|download ID` waits on: the grace from its submission, and its model's
    deadline as the default timeout."""
    task = client.submit(WAN, INPUT)
    found = client._journaled(task.task_id)
    assert found is not None
    assert (found.task_id, found.model, found.input["prompt"]) == (
        task.task_id,
        WAN,
        INPUT["prompt"],
    )
    (entry,) = journal.entries()
    assert found.submitted_at == entry.created_at.timestamp()
    assert client._default_deadline(found) == client.registry.get_model(WAN).deadline
    assert client._journaled("an id from elsewhere") is None


def test_an_ambiguous_create_is_journaled_as_uncertain(
    client: kieframe.Client, journal: Journal, kie_emulator: Emulator
) -> None:
    kie_emulator.fault("createTask", "drop")
    with pytest.raises(kieframe.SubmissionUncertain):
        client.submit(WAN, INPUT)
    (entry,) = journal.unfinished()
    assert entry.status is JournalStatus.UNCERTAIN
    assert entry.task_id is None
    assert len(kie_emulator.tasks) == 1  # the task exists: the journal is how it is reconciled


def test_a_refused_create_is_closed(
    client: kieframe.Client, journal: Journal, kie_emulator: Emulator
) -> None:
    kie_emulator.fault("createTask", "code", code=402, msg="no credits")
    with pytest.raises(kieframe.InsufficientCreditsError):
        client.submit(WAN, INPUT)
    assert [e.status for e in journal.entries()] == [JournalStatus.REJECTED]
    assert journal.unfinished() == []


def test_a_failed_task_is_journaled_as_failed(
    client: kieframe.Client, journal: Journal, kie_emulator: Emulator
) -> None:
    kie_emulator.script(outcome="fail", fail_msg="moderated")
    with pytest.raises(kieframe.TaskFailed):
        client.run(WAN, INPUT)
    (entry,) = journal.entries()
    assert entry.status is JournalStatus.FAILED
    assert "moderated" in (entry.detail or "")


def test_bad_input_never_reaches_the_journal(client: kieframe.Client, journal: Journal) -> None:
    with pytest.raises(kieframe.InputValidationError):
        client.submit(WAN, {"prompt": ""})
    assert journal.entries() == []


_BAD_URLS = ["http://[::1", "http://[::1/cb", "https://example.com:99999/cb", "http://a/\x7f"]


@given(url=st.sampled_from(_BAD_URLS) | st.text(max_size=20).map("http://".__add__))
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_a_malformed_callback_url_is_refused_by_name_before_anything_is_sent(
    client: kieframe.Client, journal: Journal, kie_emulator: Emulator, url: str
) -> None:
    """Refused as ``callback_url`` (no raw ValueError from tagging it), or a URL that works."""
    before = len(kie_emulator.tasks)
    if re.search(url_pattern(), url) is None:
        with pytest.raises(kieframe.InputValidationError) as caught:
            client.submit(WAN, INPUT, callback_url=url)
        assert caught.value.fields == ("callback_url",)
        assert len(kie_emulator.tasks) == before
    else:
        client.submit(WAN, INPUT, callback_url=url)
        (task,) = kie_emulator.tasks[before:]
        assert task.callback_url is not None
    unsettled = (JournalStatus.SENDING, JournalStatus.UNCERTAIN)
    assert not [entry for entry in journal.entries() if entry.status in unsettled]


async def test_the_async_client_journals_too(kie_emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    async with kieframe.AsyncClient(
        Emulator.API_KEY, base_url=kie_emulator.base_url, poll=FAST_POLL, journal=path
    ) as client:
        await client.run(WAN, INPUT)
    reopened = Journal(path)
    assert [e.status for e in reopened.entries()] == [JournalStatus.SUCCEEDED]
    reopened.close()


def test_a_crash_mid_wait_leaves_the_task_to_collect(
    kie_emulator: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "j.sqlite3"
    kie_emulator.script(outcome="never")
    with kieframe.Client(
        Emulator.API_KEY, base_url=kie_emulator.base_url, poll=FAST_POLL, journal=path
    ) as client:
        task = client.submit(WAN, INPUT)
        with pytest.raises(kieframe.WaitTimeout):
            client.wait(task, timeout=0.1)
    # A later process finds the task in the journal and collects it.
    reopened = Journal(path)
    (entry,) = reopened.unfinished()
    reopened.close()
    assert entry.task_id == task.task_id
    stamina.set_testing(True, attempts=1)  # one read is all this check needs
    try:
        with kieframe.Client(Emulator.API_KEY, base_url=kie_emulator.base_url) as later:
            assert later.get(entry.task_id).state == "generating"
    finally:
        stamina.set_testing(False)


class _InterruptedSend(httpx.BaseTransport):
    """A transport on which Ctrl-C lands while the create is being sent."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt


def test_ctrl_c_during_a_create_leaves_it_uncertain(journal: Journal) -> None:
    with (
        kieframe.Client("key", base_url="http://127.0.0.1:9", transport=_InterruptedSend(),
                        journal=journal) as client,
        pytest.raises(KeyboardInterrupt),
    ):  # fmt: skip
        client.submit(WAN, INPUT)
    (entry,) = journal.unfinished()
    assert entry.status is JournalStatus.UNCERTAIN
    assert "interrupted" in (entry.detail or "")


def test_an_unexpected_code_on_create_is_not_taken_for_a_refusal(
    client: kieframe.Client, journal: Journal, kie_emulator: Emulator
) -> None:
    kie_emulator.fault("createTask", "code", code=501, msg="generation failed")
    with pytest.raises(kieframe.SubmissionUncertain) as caught:
        client.submit(WAN, INPUT)
    assert isinstance(caught.value.__cause__, kieframe.APIError)
    assert caught.value.__cause__.code == 501
    assert [e.status for e in journal.unfinished()] == [JournalStatus.UNCERTAIN]


def test_an_uncertain_entry_can_be_resolved(journal: Journal) -> None:
    entry = journal.begin(model="m", input={})
    journal.uncertain(entry, reason="read timeout")
    journal.resolve(entry, task_id="found-it")
    (found,) = journal.unfinished()
    assert (found.status, found.task_id) == (JournalStatus.ACCEPTED, "found-it")
    other = journal.begin(model="m", input={})
    journal.resolve(other, task_id=None)  # checked: kie.ai has no such task
    assert [e.id for e in journal.unfinished()] == [entry]
    with pytest.raises(ValueError, match="nothing to resolve"):
        journal.resolve(entry, task_id=None)  # accepted: a paid task is never written off
    third = journal.begin(model="m", input={})
    with pytest.raises(ValueError, match="already in the journal"):
        journal.resolve(third, task_id="found-it")


class _SlowAccepts(Journal):
    """A journal whose "accepted" write (a slow disk) says when it starts, and waits for a go."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.started = threading.Event()
        self.release = threading.Event()

    def accepted(self, entry: int, *, task_id: str) -> None:
        self.started.set()
        self.release.wait(60)
        super().accepted(entry, task_id=task_id)


async def test_cancelling_a_submit_during_its_journal_write_keeps_the_task(
    kie_emulator: Emulator,
) -> None:
    journal = _SlowAccepts(":memory:")
    async with kieframe.AsyncClient(
        Emulator.API_KEY, base_url=kie_emulator.base_url, journal=journal
    ) as client:
        submitting = asyncio.create_task(client.submit(WAN, INPUT))
        # kie.ai has the task and the journal write is under way: cancel now.
        assert await asyncio.to_thread(journal.started.wait, 60)
        submitting.cancel()
        journal.release.set()  # the write ends after the cancel, however slow the machine
        with pytest.raises(asyncio.CancelledError) as caught:
            await submitting
    (created,) = kie_emulator.tasks
    assert any(created.task_id in note for note in caught.value.__notes__)
    (entry,) = journal.unfinished()
    assert (entry.status, entry.task_id) == (JournalStatus.ACCEPTED, created.task_id)


def _nested(depth: int) -> object:
    value: object = "deep"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("a lone \ud800 surrogate", id="surrogate"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(_nested(100_000), id="nested"),
    ],
)
def test_an_input_that_cannot_be_sent_leaves_no_uncertain_entry(
    client: kieframe.Client, journal: Journal, kie_emulator: Emulator, value: object
) -> None:
    """A body that cannot be encoded is refused before the journal or kie.ai sees it."""
    raw = kieframe.RawInput({"prompt": value, "image_url": "https://example.com/h.png"})
    with pytest.raises(kieframe.InputValidationError) as caught:
        client.submit(WAN, raw)
    assert caught.value.fields == ("input",)
    assert journal.entries() == []
    assert not kie_emulator.tasks


@given(prompt=st.text(st.characters(exclude_categories=())))
@settings(
    max_examples=25,
    deadline=None,  # each example is a round trip to the emulator: no timing on a busy machine
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_text_is_sent_or_refused_never_left_uncertain(
    client: kieframe.Client, journal: Journal, prompt: str
) -> None:
    raw = kieframe.RawInput({"prompt": prompt, "image_url": "https://example.com/h.png"})
    # Refused here, or by the emulator's own validation (an empty or long prompt), or sent.
    with contextlib.suppress(kieframe.InputValidationError, BadRequestError):
        client.submit(WAN, raw)
    unsettled = (JournalStatus.SENDING, JournalStatus.UNCERTAIN)
    assert not [entry for entry in journal.entries() if entry.status in unsettled]


def test_runs_against_restarted_emulators_keep_their_own_entries_and_files(
    journal: Journal, tmp_path: Path
) -> None:
    """Two emulator runs (same seed, same port range) share a journal and an output folder."""
    saved: list[Path] = []
    for _ in range(2):
        with (
            Emulator(seed=0, timing=FAST_TIMING, rate_limits=False) as emulator,
            kieframe.Client(
                Emulator.API_KEY, base_url=emulator.base_url, poll=FAST_POLL, journal=journal
            ) as client,
        ):
            saved += client.run(WAN, INPUT, download_to=tmp_path / "out").files
    assert len(set(saved)) == 2
    assert all(path.exists() for path in saved)
    assert [e.status for e in journal.entries()] == [JournalStatus.SUCCEEDED] * 2


class _NoFinished:
    """A journal an extension author wrote, one method short."""

    def begin(self, **_: object) -> int:
        return 1

    def accepted(self, entry: int, *, task_id: str) -> None: ...

    def rejected(self, entry: int, *, reason: str) -> None: ...

    def uncertain(self, entry: int, *, reason: str) -> None: ...


def test_a_journal_object_missing_a_method_is_told_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        TypeError, match=r"journal takes .*SubmissionLog.*_NoFinished has no finished$"
    ):
        kieframe.Client("key", base_url="http://127.0.0.1:9", journal=_NoFinished())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []  # nothing was taken for a path
