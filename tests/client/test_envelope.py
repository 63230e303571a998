"""The envelope: success needs both a 2xx status and code 200; errors hide in either."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nesting import TOO_DEEP_JSON

import kieframe
from kieframe._envelope import parse_retry_after, read_envelope
from kieframe.errors import ServerError

STATUSES = st.sampled_from([200, 201, 400, 401, 402, 403, 404, 422, 429, 455, 500, 502, 503])
CODES = st.sampled_from([200, 400, 401, 402, 404, 408, 422, 429, 433, 455, 500, 501, 505])


def _response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers or {})


@given(status=STATUSES, code=CODES, key=st.sampled_from(["msg", "message"]))
def test_success_needs_both_status_and_code(status: int, code: int, key: str) -> None:
    response = _response(status, {"code": code, key: "words", "data": {"x": 1}})
    if 200 <= status < 300 and code == 200:
        assert read_envelope(response) == {"x": 1}
        return
    with pytest.raises(kieframe.APIError) as caught:
        read_envelope(response)
    expected = code if code != 200 else status
    assert caught.value.code == expected
    assert caught.value.http_status == status
    assert caught.value.message == "words"


def test_non_json_error_page_uses_the_http_status() -> None:
    with pytest.raises(kieframe.APIError) as caught:
        read_envelope(_response(403, b"<html>Attention Required! | Cloudflare</html>"))
    assert caught.value.code == 403
    assert "proxy" in caught.value.message


def test_non_json_success_is_a_server_error() -> None:
    with pytest.raises(ServerError):
        read_envelope(_response(200, b"<html>oops</html>"))


@given(code=CODES, message=st.sampled_from(["", "storage quota exceeded"]))
def test_success_false_is_an_error_with_kies_code_and_message(code: int, message: str) -> None:
    """The upload API's ``success: false``: an error typed by kie.ai's code, never invented."""
    response = _response(200, {"success": False, "code": code, "msg": message, "data": None})
    with pytest.raises(kieframe.APIError) as caught:
        read_envelope(response)
    assert caught.value.code == code
    assert message in caught.value.message
    if code == 200:  # no kind of its own: a refusal, not an outage to retry
        assert type(caught.value) is kieframe.APIError
        assert not caught.value.retryable


def test_retry_after_is_read() -> None:
    response = _response(200, {"code": 429, "msg": "slow down"}, {"Retry-After": "7"})
    with pytest.raises(kieframe.RateLimitError) as caught:
        read_envelope(response)
    assert caught.value.retry_after == 7.0


def test_retry_after_as_http_date() -> None:
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=40.0) == 60.0
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("-3") == 0.0


@given(status=STATUSES, text=TOO_DEEP_JSON)
def test_a_body_nested_deeper_than_python_recurses_is_no_envelope(status: int, text: str) -> None:
    """Too deep to decode: read as a body that is not JSON (a ServerError for a 2xx)."""
    response = _response(status, f'{{"code": 200, "msg": "ok", "data": {text}}}'.encode())
    with pytest.raises(kieframe.APIError) as caught:
        read_envelope(response)
    assert caught.value.http_status == status
    if 200 <= status < 300:
        assert isinstance(caught.value, ServerError)
