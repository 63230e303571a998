"""Callbacks a kie.ai stand-in may send: timestamps in milliseconds, bodies without ``data``."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kieframe
from kieframe import verify_callback
from kieframe._callbacks._verify import signature

KEY = "webhook-key"
NOW = 1_757_584_164.0


def signed(task_id: str, timestamp: str) -> dict[str, str]:
    return {
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Signature": signature(KEY, task_id, timestamp),
    }


BODY = json.dumps({"code": 200, "msg": "ok", "data": {"taskId": "t1", "state": "success"}})


@given(st.floats(min_value=-299, max_value=299))
def test_a_timestamp_in_milliseconds_is_accepted(skew: float) -> None:
    stamp = str(round((NOW + skew) * 1000))
    found = verify_callback(signed("t1", stamp), BODY.encode(), hmac_key=KEY, now=NOW)
    assert found.task_id == "t1"


@pytest.mark.parametrize("skew", [-400.0, 400.0])
def test_a_stale_timestamp_in_milliseconds_is_refused(skew: float) -> None:
    stamp = str(round((NOW + skew) * 1000))
    with pytest.raises(kieframe.CallbackStaleError):
        verify_callback(signed("t1", stamp), BODY.encode(), hmac_key=KEY, now=NOW)


@pytest.mark.parametrize(
    "body",
    [
        {"taskId": "t1", "state": "fail", "failCode": "500", "failMsg": "boom"},
        {"code": 501, "msg": "boom", "taskId": "t1", "state": "fail", "data": None},
        {"code": 501, "msg": "boom", "task_id": "t1", "state": "fail"},
    ],
)
def test_a_body_without_a_data_object_is_its_own_record(body: dict[str, object]) -> None:
    stamp = str(int(NOW))
    found = verify_callback(signed("t1", stamp), json.dumps(body).encode(), hmac_key=KEY, now=NOW)
    assert (found.task_id, found.state) == ("t1", kieframe.TaskState.FAIL)


@pytest.mark.parametrize("body", [{"code": 200, "data": None}, {"state": "success"}, [1, 2]])
def test_a_body_naming_no_task_is_still_malformed(body: object) -> None:
    with pytest.raises(kieframe.CallbackMalformedError):
        verify_callback({}, json.dumps(body).encode(), hmac_key=KEY, now=NOW)
