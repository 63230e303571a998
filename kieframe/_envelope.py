"""Read kie.ai's answer envelope, where errors hide in the HTTP status or inside an HTTP 200.

Every answer is ``{"code": int, "msg": str, "data": ...}`` (some say ``message``; some stand-ins
send the code as a digit string). An answer is a success only when both the HTTP status is 2xx and
the body's ``code`` is 200.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Mapping
from typing import Any

import httpx
import msgspec

from ._errors import (
    TASK_FAILURE_CODES,
    APIError,
    AuthenticationError,
    ServerError,
    error_for_code,
)
from ._records import is_failed_record

__all__ = [
    "MAX_RETRY_AFTER",
    "NOT_VISIBLE_MESSAGE",
    "is_not_visible",
    "parse_retry_after",
    "read_envelope",
]

#: What recordInfo says for a task it does not show (yet).
NOT_VISIBLE_MESSAGE = "recordInfo is null"
#: The longest ``Retry-After`` honoured, in seconds: a server asking for a day gets a minute.
MAX_RETRY_AFTER = 60.0


def _code(value: Any) -> int | None:
    """An envelope's ``code`` as an int: kie.ai sends a number, some stand-ins a digit string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():  # 200.0
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    return None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date).

    At most :data:`MAX_RETRY_AFTER`: a server asking for longer would stall a submit for as long.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        current = dt.datetime.now(dt.UTC).timestamp() if now is None else now
        seconds = when.timestamp() - current
    if seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def read_envelope(response: httpx.Response, *, task_id: str | None = None) -> Any:
    """Return the envelope's ``data``, or raise the typed :class:`~kieframe.APIError` it carries."""
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    body = _decode(response.content)
    code = _code(body.get("code", response.status_code)) if body is not None else None
    if body is None or code is None:
        if response.is_success:
            raise ServerError(
                f"kie.ai answered HTTP {response.status_code} without a JSON envelope",
                http_status=response.status_code,
                task_id=task_id,
            )
        status = response.status_code
        cls: type[APIError] | None = None
        if status == 403:  # Cloudflare's page: kie.ai never saw the request
            cls = AuthenticationError
        elif status in TASK_FAILURE_CODES:  # a proxy's bare status, not kie.ai's verdict
            cls = ServerError
        raise _error(status, _status_text(response), response, task_id, retry_after, cls=cls)
    message = str(body.get("msg") or body.get("message") or "")
    if response.is_success and code == 200:
        if body.get("success") is False:  # the upload API's own flag: kie.ai's msg says why
            # No code says what kind of failure it is, so nothing says that it would pass if
            # sent again: an APIError with kie.ai's code, not a retried (invented) ServerError.
            raise APIError(
                f"kie.ai answered success: false ({message or 'no reason given'})",
                code=code,
                http_status=response.status_code,
                task_id=task_id,
            )
        return body.get("data")
    if is_failed_record(body.get("data")):  # a failed task's record, as its callback sends it
        return body.get("data")
    if code == 200:  # an HTTP error with an "ok" body: trust the HTTP status
        code = response.status_code
    raise _error(code, message or _status_text(response), response, task_id, retry_after)


def is_not_visible(error: APIError) -> bool:
    """Whether an error is kie.ai's "recordInfo is null": a task not visible (yet)."""
    return error.code == 422 and NOT_VISIBLE_MESSAGE.lower() in error.message.lower()


def _decode(content: bytes) -> Mapping[str, Any] | None:
    try:
        body = msgspec.json.decode(content.removeprefix(b"\xef\xbb\xbf"))  # a UTF-8 BOM
    except (msgspec.DecodeError, RecursionError):  # not JSON, or nested too deeply
        return None
    return body if isinstance(body, Mapping) else None


def _status_text(response: httpx.Response) -> str:
    text = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    if response.status_code == 403:
        text += (
            " (Cloudflare, the proxy in front of kie.ai, refused it before kie.ai saw it; "
            "a missing or unusual User-Agent header is the usual cause)"
        )
    return text


def _error(
    code: int,
    message: str,
    response: httpx.Response,
    task_id: str | None,
    retry_after: float | None,
    *,
    cls: type[APIError] | None = None,
) -> APIError:
    cls = cls or error_for_code(code)
    return cls(
        message,
        code=code,
        task_id=task_id,
        http_status=response.status_code,
        retry_after=retry_after,
    )
