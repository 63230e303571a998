"""Answers a kie.ai stand-in may give that the emulator never does: envelopes, records, paths.

Each test talks to an ``httpx.MockTransport`` standing in for kie.ai.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kieframe
from kieframe import PollPlan, RateLimits, Rehost
from kieframe._envelope import MAX_RETRY_AFTER
from kieframe._records import parse_record
from kieframe.journal import Journal, JournalStatus

WAN = "wan/2-5-image-to-video"
INPUT = {"prompt": "a cat", "image_url": "https://files.example/a.png"}
Handler = Callable[[httpx.Request], httpx.Response]


def envelope(data: object, *, code: object = 200, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": "success", "data": data})


def record(**fields: object) -> dict[str, object]:
    found: dict[str, object] = {
        "taskId": "t1",
        "model": WAN,
        "state": "success",
        "resultJson": json.dumps({"resultUrls": ["https://cdn.example/v.mp4"]}),
    }
    return found | fields


def client(handler: Handler, **options: object) -> kieframe.Client:
    settings: dict[str, object] = {
        "base_url": "http://stand.in",
        "rate_limits": RateLimits.off(),
        "poll": PollPlan.every(0.01),
        "read_attempts": 2,
        "read_retry_timeout": 1.0,
    }
    return kieframe.Client(
        "key",
        transport=httpx.MockTransport(handler),
        **(settings | options),  # type: ignore[arg-type]
    )


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    journal = Journal(tmp_path / "journal.sqlite3")
    yield journal
    journal.close()


# -- base URLs with a path ------------------------------------------------------------------


@pytest.mark.parametrize("base", ["http://stand.in/kie", "http://stand.in/kie/"])
def test_a_path_in_the_base_urls_is_kept(base: str) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path.endswith("/file-url-upload"):
            return envelope({"downloadUrl": "https://up.example/a.png", "mimeType": "image/png"})
        if request.url.path.endswith("/createTask"):
            return envelope({"taskId": "t1"})
        return envelope(7)

    with client(answer, base_url=base, upload_base_url="http://up.in/files/") as kie:
        assert kie.credits() == 7
        kie.submit(WAN, {**INPUT, "image_url": Rehost("https://elsewhere.example/a.png")})
    assert seen == [
        "http://stand.in/kie/api/v1/chat/credit",
        "http://up.in/files/api/file-url-upload",
        "http://stand.in/kie/api/v1/jobs/createTask",
    ]


# -- envelopes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [({"task_id": "t9"}, 200), ({"taskId": "t9"}, "200"), ({"task_id": "t9"}, " 200 ")],
)
def test_a_created_task_is_accepted_in_a_stand_in_spelling(
    data: dict[str, str], code: object, journal: Journal
) -> None:
    with client(lambda _: envelope(data, code=code), journal=journal) as kie:
        task = kie.submit(WAN, INPUT)
    assert task.task_id == "t9"
    (entry,) = journal.entries()
    assert (entry.status, entry.task_id) == (JournalStatus.ACCEPTED, "t9")


def test_an_error_code_as_a_string_is_the_error() -> None:
    answer = {"code": "402", "msg": "no credits", "data": None}
    with (
        client(lambda _: httpx.Response(200, json=answer)) as kie,
        pytest.raises(kieframe.InsufficientCreditsError),
    ):
        kie.credits()


def test_a_cloudflare_403_on_create_is_a_refusal_not_an_uncertain_create(
    journal: Journal,
) -> None:
    sent: list[httpx.Request] = []

    def cloudflare(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(403, text="<html>Attention Required! | Cloudflare</html>")

    with (
        client(cloudflare, journal=journal) as kie,
        pytest.raises(kieframe.AuthenticationError) as caught,
    ):
        kie.submit(WAN, INPUT)
    assert len(sent) == 1  # never resent
    assert caught.value.http_status == 403
    assert "Cloudflare" in caught.value.message
    assert "User-Agent" in caught.value.message
    (entry,) = journal.entries()
    assert entry.status is JournalStatus.REJECTED


def test_a_json_403_from_kie_on_create_stays_uncertain(journal: Journal) -> None:
    with (
        client(lambda _: envelope(None, code=403, status=403), journal=journal) as kie,
        pytest.raises(kieframe.SubmissionUncertain),
    ):
        kie.submit(WAN, INPUT)
    (entry,) = journal.entries()
    assert entry.status is JournalStatus.UNCERTAIN


@pytest.mark.parametrize(
    ("data", "expected"), [("5", 5), (5, 5), (12.5, 12.5), ("12.5", 12.5), (" 7 ", 7)]
)
def test_credits_accept_digit_strings_and_keep_fractions(data: object, expected: float) -> None:
    with client(lambda _: envelope(data)) as kie:
        credits = kie.credits()
    assert credits == expected
    assert type(credits) is type(expected)


@pytest.mark.parametrize("data", ["five", None, True, [], "nan", "inf"])
def test_credits_that_are_no_number_are_a_server_error(data: object) -> None:
    with client(lambda _: envelope(data)) as kie, pytest.raises(kieframe.ServerError):
        kie.credits()


# -- retry-after --------------------------------------------------------------------------------


def test_a_huge_retry_after_on_create_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    answers = iter(
        [
            httpx.Response(
                429, json={"code": 429, "msg": "slow down"}, headers={"Retry-After": "86400"}
            ),
            envelope({"taskId": "t1"}),
        ]
    )
    with client(lambda _: next(answers)) as kie:
        assert kie.submit(WAN, INPUT).task_id == "t1"
    assert slept
    assert max(slept) <= MAX_RETRY_AFTER


def test_a_retry_after_on_a_read_is_bounded_by_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)

    def busy(_: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"code": 503, "msg": "busy"}, headers={"Retry-After": "50"})

    with client(busy) as kie, pytest.raises(kieframe.WaitTimeout):
        kie.wait("t1", timeout=0.5)
    assert slept
    assert max(slept) <= 0.5


# -- records -------------------------------------------------------------------------------------


def read(data: dict[str, object]) -> kieframe.TaskRecord:
    with client(lambda _: envelope(data)) as kie:
        return kie.get("t1")


def test_times_and_cost_as_digit_strings_are_read() -> None:
    found = read(record(createTime="1757584164490", costTime="1234", completeTime="1757584165"))
    assert found.created_at is not None
    assert found.created_at.timestamp() == 1757584164.49
    assert found.completed_at is not None
    assert found.completed_at.timestamp() == 1757584165
    assert found.cost_ms == 1234


@given(st.integers(min_value=1_000_000_000, max_value=4_000_000_000))
def test_seconds_and_milliseconds_give_the_same_time(seconds: int) -> None:
    in_seconds = parse_record(record(updateTime=seconds))
    in_millis = parse_record(record(updateTime=seconds * 1000))
    as_text = parse_record(record(updateTime=str(seconds * 1000)))
    assert in_seconds.updated_at == in_millis.updated_at == as_text.updated_at
    assert in_seconds.updated_at is not None
    assert in_seconds.updated_at.year >= 2001


def test_a_bare_result_url_is_one_file() -> None:
    found = read(record(resultJson=json.dumps({"resultUrls": "https://cdn.example/v.mp4"})))
    assert found.result_urls == ("https://cdn.example/v.mp4",)


@pytest.mark.parametrize("value", ["soon", "", None, True, "1e400", -5])
def test_junk_times_are_none(value: object) -> None:
    assert parse_record(record(createTime=value)).created_at is None


# -- not visible yet ----------------------------------------------------------------------------


NOT_YET: list[Callable[[], httpx.Response]] = [
    lambda: httpx.Response(200, json={"code": 422, "msg": "task not exist", "data": None}),
    lambda: httpx.Response(422, json={"code": 422, "message": "no such record"}),
    lambda: httpx.Response(404, json={"code": 404, "msg": "task not found", "data": None}),
    lambda: httpx.Response(404, text="Not Found"),
    lambda: envelope(None),  # {"code": 200, "data": null}
]


@pytest.mark.parametrize("not_yet", NOT_YET)
def test_a_task_not_shown_yet_in_a_stand_in_spelling_is_waited_for(
    not_yet: Callable[[], httpx.Response],
) -> None:
    reads = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal reads
        if request.url.path.endswith("/createTask"):
            return envelope({"taskId": "t1"})
        reads += 1
        return not_yet() if reads < 3 else envelope(record())

    with client(answer) as kie:
        final = kie.wait(kie.submit(WAN, INPUT), timeout=30)
    assert final.succeeded
    assert reads == 3


@pytest.mark.parametrize("not_yet", NOT_YET)
def test_a_task_never_shown_is_not_found_after_the_grace_window(
    not_yet: Callable[[], httpx.Response],
) -> None:
    with (
        client(lambda _: not_yet(), visibility_grace=0.05) as kie,
        pytest.raises(kieframe.NotFoundError, match="does not know task t1"),
    ):
        kie.wait("t1", timeout=30)


def test_a_404_after_the_task_was_seen_is_not_swallowed() -> None:
    answers = iter([envelope(record(state="generating"))])

    def answer(_: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(404, json={"code": 404, "msg": "gone"}))

    with client(answer) as kie, pytest.raises(kieframe.NotFoundError, match="gone"):
        kie.wait("t1", timeout=30)


# -- rehosted inputs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "info",
    [
        {},
        {"mimeType": "image/jpg"},
        {"mimeType": "image/png; charset=binary"},
        {"mimeType": "IMAGE/JPEG"},
        {"mimeType": None},
    ],
)
def test_a_rehost_answer_in_a_stand_in_spelling_is_accepted(info: dict[str, object]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/file-url-upload"):
            return envelope({"downloadUrl": "https://up.example/a", **info})
        return envelope({"taskId": "t1"})

    with client(answer) as kie:
        task = kie.submit(WAN, {**INPUT, "image_url": Rehost("https://elsewhere.example/a")})
    assert task.input["image_url"] == "https://up.example/a"


@pytest.mark.parametrize("media_type", ["image/gif", "video/mp4; codecs=avc1", "text/html"])
def test_a_rehost_of_another_media_type_is_still_refused(media_type: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return envelope({"downloadUrl": "https://up.example/a", "mimeType": media_type})

    with client(answer) as kie, pytest.raises(kieframe.InputValidationError, match="image_url"):
        kie.submit(WAN, {**INPUT, "image_url": Rehost("https://elsewhere.example/a")})
