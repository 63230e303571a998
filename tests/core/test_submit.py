"""The submit operation without I/O: every failure of a create, and what the journal is told."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import partial
from typing import Any

import pytest

import kieframe
from kieframe._core._effects import Blocking, Call, Effect, Reserve, Sleep
from kieframe._core._submit import CREATE_TASK, submit_op
from kieframe._records import Task
from kieframe._registry import default_registry
from kieframe.errors import NoAnswerError, ServerError

from ._script import INPUT, UNIX_START, WAN, Script, envelope

RATE_WINDOW = 10.5
ACCEPTED = partial(envelope, 200, {"taskId": "task-1"})


class FakeJournal:
    """An in-memory SubmissionLog: the calls it received, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def begin(self, *, model: str, input: Mapping[str, Any], host: str | None = None) -> int:
        self.calls.append(("begin", model))
        return 7

    def accepted(self, entry: int, *, task_id: str) -> None:
        self.calls.append(("accepted", task_id))

    def rejected(self, entry: int, *, reason: str) -> None:
        self.calls.append(("rejected", reason))

    def uncertain(self, entry: int, *, reason: str) -> None:
        self.calls.append(("uncertain", reason))

    def finished(
        self, task_id: str, *, succeeded: bool, detail: str | None = None, host: str | None = None
    ) -> None:  # pragma: no cover - waits only
        self.calls.append(("finished", task_id))

    def outcome(self) -> list[str]:
        return [name for name, _ in self.calls]


def submit(script: Script, journal: FakeJournal | None = None, attempts: int = 3) -> Task:
    op = submit_op(
        default_registry(),
        WAN,
        INPUT,
        callback_url=None,
        cache=None,
        journal=journal,
        host="https://api.kie.ai",
        attempts=attempts,
        rate_window=RATE_WINDOW,
        clock=script.clock,
    )
    return script.run(op)


def creates(script: Script) -> list[Call]:
    return [call for call in script.of(Call) if call.path == CREATE_TASK]


def test_an_accepted_create_returns_the_task_and_when_it_was_sent() -> None:
    script = Script(calls=[ACCEPTED])
    task = submit(script)
    assert (task.task_id, task.model, task.submitted_at) == ("task-1", WAN, UNIX_START)
    assert len(creates(script)) == 1
    assert creates(script)[0].budget == "create"
    assert not creates(script)[0].retry  # a create is never resent by the driver


@pytest.mark.parametrize("retry_after", [None, 2.5])
def test_a_429_is_resent_after_the_window(retry_after: float | None) -> None:
    limited = partial(envelope, 429, msg="too many")
    if retry_after is not None:
        limited = kieframe.RateLimitError("too many", retry_after=retry_after)  # type: ignore[assignment]
    script = Script(calls=[limited, ACCEPTED])
    assert submit(script).task_id == "task-1"
    assert len(creates(script)) == 2
    assert [s.seconds for s in script.of(Sleep)] == [retry_after or RATE_WINDOW]


def test_429s_past_the_attempts_raise_the_rate_limit_error() -> None:
    script = Script(calls=[partial(envelope, 429)] * 3)
    with pytest.raises(kieframe.RateLimitError):
        submit(script, attempts=3)
    assert len(creates(script)) == 3


def test_a_refused_connection_is_resent_at_once() -> None:
    refused = NoAnswerError("connect refused", request_sent=False)
    script = Script(calls=[refused, ACCEPTED])
    assert submit(script).task_id == "task-1"
    assert len(creates(script)) == 2
    assert script.of(Sleep) == []


@pytest.mark.parametrize(
    "failure",
    [
        NoAnswerError("read timed out", request_sent=True),
        ServerError("bad gateway", code=502),
        partial(envelope, 500, status=200),  # an error inside an HTTP 200
        partial(envelope, 501, msg="generation failed"),
        partial(envelope, 200, {"no": "task id"}),
        partial(envelope, 200, None),
    ],
    ids=["read-timeout", "5xx", "500-in-200", "501-in-200", "no-task-id", "no-data"],
)
def test_anything_ambiguous_is_uncertain_and_never_resent(failure: Any) -> None:
    journal = FakeJournal()
    script = Script(calls=[failure])
    with pytest.raises(kieframe.SubmissionUncertain) as caught:
        submit(script, journal)
    assert len(creates(script)) == 1
    assert caught.value.model == WAN
    assert caught.value.sent_at == UNIX_START
    assert caught.value.__cause__ is not None
    assert journal.outcome() == ["begin", "uncertain"]


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (400, kieframe.errors.BadRequestError),
        (401, kieframe.AuthenticationError),
        (402, kieframe.InsufficientCreditsError),
        (422, kieframe.errors.BadRequestError),
        (433, kieframe.InsufficientCreditsError),
        (505, kieframe.APIError),
    ],
)
def test_a_refusal_inside_an_http_200_is_rejected_not_uncertain(
    code: int, error: type[kieframe.APIError]
) -> None:
    journal = FakeJournal()
    script = Script(calls=[partial(envelope, code, msg="no")])
    with pytest.raises(error) as caught:
        submit(script, journal)
    assert caught.value.code == code
    assert journal.outcome() == ["begin", "rejected"]


def test_a_refused_connection_past_the_attempts_is_rejected() -> None:
    journal = FakeJournal()
    script = Script(calls=[NoAnswerError("refused", request_sent=False)] * 2)
    with pytest.raises(NoAnswerError):
        submit(script, journal, attempts=2)
    assert journal.outcome() == ["begin", "rejected"]


def test_the_journal_is_written_before_the_create_and_after() -> None:
    journal = FakeJournal()
    script = Script(calls=[ACCEPTED])
    submit(script, journal)
    assert journal.calls == [("begin", WAN), ("accepted", "task-1")]
    kinds = [type(effect).__name__ for effect in script.effects]
    # prepare, the budget's slot, begin, create, accepted: every journal write is an effect the
    # driver performs, and the slot is taken before the create is written down as sending
    assert kinds == ["Blocking", "Reserve", "Blocking", "Call", "Blocking"]
    assert script.of(Reserve) == [Reserve("create")]
    assert [call.reserved for call in script.of(Call)] == [True]  # its slot is not taken twice


def test_an_interrupt_while_waiting_for_a_slot_writes_nothing_down() -> None:
    journal = FakeJournal()

    def at_slot(effect: Effect) -> BaseException | None:
        return KeyboardInterrupt() if isinstance(effect, Reserve) else None

    script = Script(interrupt=at_slot)
    with pytest.raises(KeyboardInterrupt):
        submit(script, journal)
    assert journal.calls == []  # nothing left "sending" or "uncertain": nothing was sent
    assert script.of(Call) == []


def test_a_create_resent_after_a_429_takes_a_fresh_slot() -> None:
    journal = FakeJournal()
    limited = partial(envelope, 429, msg="rate limited")
    script = Script(calls=[limited, ACCEPTED])
    submit(script, journal)
    assert [call.reserved for call in script.of(Call)] == [True, False]
    assert journal.outcome() == ["begin", "accepted"]


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, asyncio.CancelledError])
def test_an_interrupt_while_sending_leaves_an_uncertain_entry(
    interrupt: type[BaseException],
) -> None:
    journal = FakeJournal()

    def at_create(effect: Effect) -> BaseException | None:
        return interrupt() if isinstance(effect, Call) else None

    script = Script(interrupt=at_create)
    with pytest.raises(interrupt):
        submit(script, journal)
    assert journal.calls == [("begin", WAN), ("uncertain", "interrupted while sending")]


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, asyncio.CancelledError])
def test_an_interrupt_after_acceptance_keeps_the_task_id(interrupt: type[BaseException]) -> None:
    journal = FakeJournal()
    writes = 0

    def at_accepted_write(effect: Effect) -> BaseException | None:
        nonlocal writes
        writes += isinstance(effect, Blocking)
        return interrupt() if writes == 3 else None  # prepare, begin, then accepted

    script = Script(calls=[ACCEPTED], interrupt=at_accepted_write)
    with pytest.raises(interrupt) as caught:
        submit(script, journal)
    assert any("task task-1" in note for note in caught.value.__notes__)


def test_an_input_that_cannot_be_sent_fails_before_the_journal() -> None:
    journal = FakeJournal()
    script = Script()
    op = submit_op(
        default_registry(),
        WAN,
        kieframe.RawInput({"prompt": float("nan")}),
        callback_url=None,
        cache=None,
        journal=journal,
        attempts=3,
        rate_window=RATE_WINDOW,
        clock=script.clock,
    )
    with pytest.raises(kieframe.InputValidationError):
        script.run(op)
    assert journal.calls == []
    assert script.of(Call) == []
