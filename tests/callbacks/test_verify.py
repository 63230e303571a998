"""verify_callback: size, shape, signature (constant-time, several keys) and freshness."""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from nesting import TOO_DEEP_JSON, nested_json

import kieframe
from kieframe._callbacks._verify import Verifier, key_list
from kieframe.callbacks import verify_callback
from kieframe.errors import (
    CallbackError,
    CallbackMalformedError,
    CallbackSignatureError,
    CallbackStaleError,
    CallbackTooLargeError,
)
from kieframe.testing._emulator import sign_callback

from ._support import KEY, signed_headers

NOW = 1_750_000_000.0


def body(task_id: str = "task-1", *, field: str = "taskId", state: str = "success") -> bytes:
    data: dict[str, Any] = {field: task_id, "state": state, "model": "m", "resultJson": ""}
    return json.dumps({"code": 200, "msg": "success", "data": data}).encode()


def test_a_signed_callback_gives_its_record() -> None:
    record = verify_callback(signed_headers("task-1", at=NOW), body(), hmac_key=KEY, now=NOW)
    assert (record.task_id, record.state, record.model) == ("task-1", "success", "m")


def test_task_id_is_also_read_as_task_id_with_an_underscore() -> None:
    record = verify_callback(
        signed_headers("t-9", at=NOW), body("t-9", field="task_id"), hmac_key=KEY, now=NOW
    )
    assert record.task_id == "t-9"


def test_headers_may_be_asgi_byte_pairs_in_any_case() -> None:
    pairs = [(k.title().encode(), v.encode()) for k, v in signed_headers("a", at=NOW).items()]
    assert verify_callback(pairs, body("a"), hmac_key=KEY, now=NOW).task_id == "a"


def test_any_of_several_keys_verifies_during_a_rotation() -> None:
    headers = signed_headers("a", at=NOW, key="old-key")
    record = verify_callback(headers, body("a"), hmac_key=[KEY, "old-key"], now=NOW)
    assert record.task_id == "a"
    with pytest.raises(CallbackSignatureError):
        verify_callback(headers, body("a"), hmac_key=[KEY], now=NOW)


@pytest.mark.parametrize("drop", ["x-webhook-timestamp", "x-webhook-signature"])
def test_a_missing_signature_header_is_401(drop: str) -> None:
    headers = signed_headers("a", at=NOW)
    del headers[drop]
    with pytest.raises(CallbackSignatureError) as caught:
        verify_callback(headers, body("a"), hmac_key=KEY, now=NOW)
    assert caught.value.status == 401


@pytest.mark.parametrize("skew", [-301, 301, -86_400, 86_400])
def test_a_timestamp_past_the_tolerance_either_way_is_stale(skew: int) -> None:
    headers = signed_headers("a", at=NOW + skew)
    with pytest.raises(CallbackStaleError) as caught:
        verify_callback(headers, body("a"), hmac_key=KEY, now=NOW)
    assert caught.value.status == 400


@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_a_timestamp_within_the_tolerance_is_fresh(skew: int) -> None:
    headers = signed_headers("a", at=NOW + skew)
    assert verify_callback(headers, body("a"), hmac_key=KEY, now=NOW).task_id == "a"


def test_the_tolerance_is_configurable() -> None:
    headers = signed_headers("a", at=NOW - 30)
    with pytest.raises(CallbackStaleError):
        verify_callback(headers, body("a"), hmac_key=KEY, now=NOW, tolerance=10)


def test_a_signed_timestamp_that_is_not_unix_seconds_is_malformed() -> None:
    headers = {
        "x-webhook-timestamp": "soon",
        "x-webhook-signature": sign_callback(KEY, "a", "soon"),
    }
    with pytest.raises(CallbackMalformedError):
        verify_callback(headers, body("a"), hmac_key=KEY, now=NOW)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"code": 200}',
        b'{"data": "x"}',
        b'{"data": {"state": "success"}}',
        b'{"data": {"taskId": ""}}',
    ],
)
def test_a_body_without_json_data_or_task_id_is_malformed(raw: bytes) -> None:
    with pytest.raises(CallbackMalformedError) as caught:
        verify_callback(signed_headers("a"), raw, hmac_key=KEY)
    assert caught.value.status == 400
    assert isinstance(caught.value, kieframe.KieError)


def _raw(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope).encode()


@pytest.mark.parametrize(
    ("envelope", "fail_code", "fail_msg"),
    [
        ({"code": 501, "msg": "failed",
          "data": {"taskId": "t9", "failCode": "500", "failMsg": "x"}}, "500", "x"),
        ({"code": 501, "msg": "generation failed", "data": {"taskId": "t9"}},
         "501", "generation failed"),
        ({"code": "501", "msg": "failed", "taskId": "t9", "data": None}, "501", "failed"),
    ],
)  # fmt: skip
def test_a_failure_callback_without_a_state_is_a_failure(
    envelope: dict[str, Any], fail_code: str, fail_msg: str
) -> None:
    """kie.ai's failure callbacks carry code 501: the task failed, whatever data lacks."""
    record = verify_callback(signed_headers("t9", at=NOW), _raw(envelope), hmac_key=KEY, now=NOW)
    assert (record.task_id, record.state, record.failed) == ("t9", "fail", True)
    assert (record.fail_code, record.fail_msg) == (fail_code, fail_msg)


def test_a_success_callback_without_a_state_is_a_success_when_it_carries_the_result() -> None:
    result = json.dumps({"resultUrls": ["https://f.example/1.mp4"]})
    raw = _raw({"code": 200, "msg": "success", "data": {"taskId": "t9", "resultJson": result}})
    record = verify_callback(signed_headers("t9", at=NOW), raw, hmac_key=KEY, now=NOW)
    assert (record.state, record.result_urls) == ("success", ("https://f.example/1.mp4",))


@pytest.mark.parametrize(
    "envelope",
    [
        {"code": 200, "msg": "success", "task_id": "t9", "data": None},
        {"code": 200, "msg": "success", "data": {"taskId": "t9", "resultJson": ""}},
        {"msg": "success", "data": {"taskId": "t9"}},
        {"code": 455, "msg": "maintenance", "data": {"taskId": "t9"}},
    ],
)
def test_a_callback_that_says_no_state_is_refused_only_when_trusted(
    envelope: dict[str, Any],
) -> None:
    """Neither a state nor a code that tells one: a trusted body (no re-read) is refused, 400;
    one that is re-read (as verify_callback's caller does) is accepted, its state unknown."""
    headers = signed_headers("t9", at=NOW)
    with pytest.raises(CallbackMalformedError, match="state") as caught:
        Verifier(key_list(KEY), trusted=True).verify(headers, _raw(envelope), now=NOW)
    assert (caught.value.status, caught.value.task_id) == (400, "t9")
    record = verify_callback(headers, _raw(envelope), hmac_key=KEY, now=NOW)
    assert (record.task_id, record.state, record.finished) == ("t9", "unknown", False)


def test_a_body_over_the_limit_is_413() -> None:
    big = body("a") + b" " * 2048
    with pytest.raises(CallbackTooLargeError) as caught:
        verify_callback(signed_headers("a"), big, hmac_key=KEY, max_body_size=1024)
    assert caught.value.status == 413


def test_without_a_key_unsigned_callbacks_pass_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="kieframe"):
        for n in range(3):
            assert verify_callback({}, body(f"t{n}")).task_id == f"t{n}"
    # Once per process: an earlier test in this process may already have said it.
    assert sum("unsigned" in r.getMessage() for r in caplog.records) <= 1


ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


@given(task_id=ids, other=ids, skew=st.integers(-300, 300))
def test_a_signature_for_another_task_is_refused(task_id: str, other: str, skew: int) -> None:
    assume(other != task_id)
    headers = signed_headers(other, at=NOW + skew)
    with pytest.raises(CallbackSignatureError):
        verify_callback(headers, body(task_id), hmac_key=KEY, now=NOW)
    assert (
        verify_callback(
            signed_headers(task_id, at=NOW + skew), body(task_id), hmac_key=KEY, now=NOW
        ).task_id
        == task_id
    )


@given(task_id=ids, timestamp=st.from_regex(r"\A[0-9]{1,12}\Z"), skew=st.integers(-300, 300))
def test_a_changed_timestamp_is_refused(task_id: str, timestamp: str, skew: int) -> None:
    headers = signed_headers(task_id, at=NOW + skew)
    assume(timestamp != headers["x-webhook-timestamp"])
    headers["x-webhook-timestamp"] = timestamp
    with pytest.raises(CallbackSignatureError):
        verify_callback(headers, body(task_id), hmac_key=KEY, now=NOW)


@given(task_id=ids, signature=st.text(max_size=60) | st.binary(max_size=44).map(bytes.hex))
def test_any_other_signature_is_refused(task_id: str, signature: str) -> None:
    headers = signed_headers(task_id, at=NOW)
    assume(signature.strip() != headers["x-webhook-signature"])
    headers["x-webhook-signature"] = signature
    with pytest.raises(CallbackError) as caught:
        verify_callback(headers, body(task_id), hmac_key=KEY, now=NOW)
    assert caught.value.status == 401


@given(task_id=ids, flip=st.integers(0, 31))
def test_a_signature_with_one_bit_flipped_is_refused(task_id: str, flip: int) -> None:
    headers = signed_headers(task_id, at=NOW)
    raw = bytearray(base64.b64decode(headers["x-webhook-signature"]))
    raw[flip] ^= 1
    headers["x-webhook-signature"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(CallbackSignatureError):
        verify_callback(headers, body(task_id), hmac_key=KEY, now=NOW)


def test_the_clock_defaults_to_now() -> None:
    assert verify_callback(signed_headers("a"), body("a"), hmac_key=KEY).task_id == "a"
    with pytest.raises(CallbackStaleError):
        verify_callback(signed_headers("a", at=time.time() - 3600), body("a"), hmac_key=KEY)


@given(text=TOO_DEEP_JSON)
def test_a_body_nested_too_deeply_is_malformed(text: str) -> None:
    """A callback nested past Python's recursion is malformed (400), never a crash (500)."""
    raw = f'{{"code": 200, "msg": "ok", "data": {{"taskId": "a", "x": {text}}}}}'.encode()
    with pytest.raises(CallbackMalformedError, match="nested too deeply") as caught:
        verify_callback(signed_headers("a"), raw, hmac_key=KEY)
    assert caught.value.status == 400


def test_a_result_nested_too_deeply_gives_a_record_without_it() -> None:
    data = {"taskId": "a", "state": "success", "resultJson": nested_json(100_000)}
    raw = json.dumps({"code": 200, "msg": "success", "data": data}).encode()
    record = verify_callback(signed_headers("a"), raw, hmac_key=KEY)
    assert (record.task_id, record.result_urls) == ("a", ())
