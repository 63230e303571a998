"""Servers that answer as kie.ai might but the emulator would not: the client copes, both kinds.

Each answer is one the docs allow or a proxy makes (``Retry-After: 0``, a body that does not
decode, a garbled record, a failed record in an error envelope, a BOM...), injected with the
emulator's ``raw`` fault; the client is the real one, over real sockets.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina

import kieframe
from kieframe.journal import Journal, JournalStatus
from kieframe.lifecycle import PollPlan, RateLimits
from kieframe.testing import Emulator

WAN = "wan/2-5-image-to-video"
INPUT = {"prompt": "a slow pan", "image_url": "https://example.com/a.png"}
#: Retry-After values that mean "retry now": zero, and a date in the past.
AT_ONCE = ["0", "Wed, 21 Oct 2015 07:28:00 GMT"]


def body(code: Any = 200, data: Any = None, msg: str = "ok") -> bytes:
    return json.dumps({"code": code, "msg": msg, "data": data}).encode()


def options(emulator: Emulator) -> dict[str, Any]:
    return {
        "base_url": emulator.base_url,
        "upload_base_url": emulator.upload_base_url,
        "poll": PollPlan.every(0.02),
        "rate_limits": RateLimits.off(),
    }


@pytest.fixture
def client(kie_emulator: Emulator) -> Iterator[kieframe.Client]:
    with kieframe.Client(Emulator.API_KEY, **options(kie_emulator)) as made:
        yield made


@pytest.fixture
def few_retries() -> Iterator[None]:
    """Two attempts per read, without backoff pauses."""
    with stamina.set_testing(True, attempts=2):
        yield


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("after", AT_ONCE)
def test_retry_after_now_is_retried_by_every_read(
    client: kieframe.Client, kie_emulator: Emulator, status: int, after: str
) -> None:
    task = client.wait(client.submit(WAN, INPUT))
    for endpoint in ("credit", "recordInfo"):
        busy = body(status, msg="busy")
        kie_emulator.fault(endpoint, "raw", code=status, body=busy, headers={"retry-after": after})
    assert client.credits() > 0
    assert client.get(task.task_id).succeeded
    assert kie_emulator.stats.requests["credit"] == 2


@pytest.mark.parametrize("after", AT_ONCE)
async def test_retry_after_now_is_retried_by_async_reads(
    kie_emulator: Emulator, after: str
) -> None:
    kie_emulator.fault("credit", "raw", code=503, body=body(503), headers={"retry-after": after})
    async with kieframe.AsyncClient(Emulator.API_KEY, **options(kie_emulator)) as client:
        assert await client.credits() > 0


#: A body labelled gzip that is not: httpx raises DecodingError reading it.
UNDECODABLE: dict[str, Any] = {"code": 200, "body": body(), "headers": {"content-encoding": "gzip"}}


@pytest.mark.usefixtures("few_retries")
def test_an_answer_that_does_not_decode_is_no_answer_to_a_read(
    client: kieframe.Client, kie_emulator: Emulator
) -> None:
    kie_emulator.fault("credit", "raw", times=2, **UNDECODABLE)
    with pytest.raises(kieframe.NoAnswerError):
        client.credits()
    assert kie_emulator.stats.requests["credit"] == 2  # retried, as any read without an answer


async def test_an_undecodable_create_answer_is_uncertain_and_journaled_so(
    kie_emulator: Emulator, tmp_path: Path
) -> None:
    kie_emulator.fault("createTask", "raw", **UNDECODABLE)
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        async with kieframe.AsyncClient(
            Emulator.API_KEY, journal=journal, **options(kie_emulator)
        ) as client:
            with pytest.raises(kieframe.SubmissionUncertain):
                await client.submit(WAN, INPUT)
        (entry,) = journal.unfinished()
    finally:
        journal.close()
    assert entry.status is JournalStatus.UNCERTAIN
    assert kie_emulator.stats.requests["createTask"] == 1  # never resent


def test_a_garbled_record_is_an_outage_to_a_wait(
    client: kieframe.Client, kie_emulator: Emulator
) -> None:
    task = client.submit(WAN, INPUT)
    kie_emulator.fault("recordInfo", "raw", code=200, body=body(data="temporarily unavailable"))
    assert client.wait(task, timeout=30).succeeded


def test_an_error_answer_carrying_the_failed_record_ends_a_wait_with_it(
    client: kieframe.Client, kie_emulator: Emulator
) -> None:
    kie_emulator.script(outcome="never")
    task = client.submit(WAN, INPUT)
    failed = {"taskId": task.task_id, "state": "fail", "failCode": "500", "failMsg": "policy"}
    kie_emulator.fault("recordInfo", "raw", code=200, body=body(501, failed, msg="policy"))
    with pytest.raises(kieframe.TaskFailed) as caught:
        client.wait(task, timeout=30)
    assert (caught.value.fail_code, caught.value.record.fail_msg) == ("500", "policy")


@pytest.mark.parametrize("code", [408, 501])
def test_upstream_failure_codes_end_a_wait_as_the_task_failed(
    client: kieframe.Client, kie_emulator: Emulator, code: int
) -> None:
    kie_emulator.script(outcome="never")
    task = client.submit(WAN, INPUT)
    kie_emulator.fault("recordInfo", "code", code=code)
    with pytest.raises(kieframe.TaskFailed) as caught:
        client.wait(task, timeout=30)
    assert caught.value.fail_code == str(code)


@pytest.mark.parametrize("code", [408, 501])
def test_a_proxys_408_or_501_without_kies_envelope_is_an_outage_to_a_wait(
    client: kieframe.Client, kie_emulator: Emulator, code: int
) -> None:
    task = client.submit(WAN, INPUT)
    page = b"<html><body>Request Timeout</body></html>"
    kie_emulator.fault("recordInfo", "raw", code=code, body=page, headers={"retry-after": "0"})
    assert client.wait(task, timeout=30).succeeded  # the task was not taken for failed


@pytest.mark.parametrize(
    "answer",
    [b'{"code": 200.0, "msg": "ok", "data": 7}', b'\xef\xbb\xbf{"code": 200, "data": 7}'],
    ids=["integral-float-code", "utf8-bom"],
)
def test_tolerated_envelopes(
    client: kieframe.Client, kie_emulator: Emulator, answer: bytes
) -> None:
    kie_emulator.fault("credit", "raw", code=200, body=answer)
    assert client.credits() == 7


def test_a_usage_cap_is_out_of_credits(client: kieframe.Client, kie_emulator: Emulator) -> None:
    kie_emulator.fault("credit", "code", code=433, msg="sub-key over its cap")
    with pytest.raises(kieframe.InsufficientCreditsError) as caught:
        client.credits()
    assert caught.value.code == 433


def test_the_library_logger_stays_silent_unless_configured() -> None:
    handlers = logging.getLogger("kieframe").handlers
    assert any(isinstance(handler, logging.NullHandler) for handler in handlers)
