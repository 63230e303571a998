"""Task records are decoded from kie.ai's shapes, tolerant of what the service really sends."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nesting import DEEP_JSON, nested_json

import kieframe
from kieframe._records import parse_record


def test_documented_record_is_decoded() -> None:
    record = parse_record(
        {
            "taskId": "281e5b0f39b9",
            "model": "wan/2-5-image-to-video",
            "state": "success",
            "param": json.dumps({"model": "wan/2-5-image-to-video", "input": {"prompt": "p"}}),
            "resultJson": json.dumps({"resultUrls": ["https://f/1.mp4"]}),
            "failCode": None,
            "failMsg": None,
            "costTime": 8123,
            "completeTime": 1757584172613,
            "createTime": 1757584164490,
            "consumeCredits": 60,
            "remainedCredits": 940,
        }
    )
    assert record.state is kieframe.TaskState.SUCCESS
    assert record.succeeded
    assert record.finished
    assert not record.failed
    assert record.param == {"model": "wan/2-5-image-to-video", "input": {"prompt": "p"}}
    assert record.result_urls == ("https://f/1.mp4",)
    assert record.cost_ms == 8123
    assert record.created_at == dt.datetime(2025, 9, 11, 9, 49, 24, 490000, tzinfo=dt.UTC)
    assert (record.credits_consumed, record.credits_remaining) == (60, 940)


def test_callback_style_task_id_is_accepted() -> None:
    assert parse_record({"task_id": "abc", "state": "waiting"}).task_id == "abc"


def test_a_record_without_id_is_refused() -> None:
    with pytest.raises(ValueError, match="taskId"):
        parse_record({"state": "success"})


@given(
    param=st.one_of(st.none(), st.text(), st.integers()),
    result=st.one_of(st.none(), st.text(), st.just("[1, 2]"), st.just('{"resultUrls": 5}')),
    state=st.one_of(st.none(), st.text(max_size=10)),
    times=st.one_of(st.none(), st.text(), st.booleans(), st.integers(-5, 2**41)),
)
def test_junk_fields_never_crash_the_parser(
    param: object, result: object, state: object, times: object
) -> None:
    record = parse_record(
        {
            "taskId": "t",
            "param": param,
            "resultJson": result,
            "state": state,
            "createTime": times,
            "costTime": times,
        }
    )
    assert record.task_id == "t"
    assert isinstance(record.result_urls, tuple)
    assert record.raw["taskId"] == "t"


@given(text=DEEP_JSON, field=st.sampled_from(["param", "resultJson", "resultObject"]))
def test_json_fields_nested_deeper_than_python_recurses_are_junk(text: str, field: str) -> None:
    """A ``resultJson`` or ``param`` too deep to decode gives a record without it, no crash."""
    record = parse_record({"taskId": "t", "state": "success", field: text})
    assert record.task_id == "t"
    assert record.result_urls == ()
    assert record.param is None or isinstance(record.param, dict)


def test_a_record_nested_too_deeply_is_read_without_its_result() -> None:
    """Client.get and Client.wait read such a record as one without a result."""
    data = {"taskId": "t1", "state": "success", "resultJson": nested_json(100_000),
            "param": nested_json(100_000, kind="object")}  # fmt: skip

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code": 200, "msg": "ok", "data": data})

    transport = httpx.MockTransport(answer)
    with kieframe.Client("k", base_url="http://kie.test", transport=transport) as client:
        record = client.get("t1")
        assert (record.task_id, record.result_urls, record.param) == ("t1", (), None)
        assert client.wait("t1", timeout=5).result_urls == ()
