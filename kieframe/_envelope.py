"""Read kie.ai's answer envelope, where errors hide in the HTTP status or inside an HTTP 200.

Every answer is ``{"code": int, "msg": str, "data": ...}`` (some say ``message``). An answer is a
success only when both the HTTP status is 2xx and the body's ``code`` is 200.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Mapping
from typing import Any

import httpx
import msgspec

from ._errors import APIError, ServerError, error_for_code

__all__ = ["NOT_VISIBLE_MESSAGE", "is_not_visible", "parse_retry_after", "read_envelope"]

#: What recordInfo says for a task it does not show (yet).
NOT_VISIBLE_MESSAGE = "recordInfo is null"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = dt.datetime.now(dt.UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


def read_envelope(response: httpx.Response, *, task_id: str | None = None) -> Any:
    """Return the envelope's ``data``, or raise the typed :class:`~kieframe.APIError` it carries."""
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    body = _decode(response.content)
    if body is None or not isinstance(body.get("code", response.status_code), int):
        if response.is_success:
            raise ServerError(
                f"kie.ai answered HTTP {response.status_code} without a JSON envelope",
                http_status=response.status_code,
                task_id=task_id,
            )
        raise _error(response.status_code, _status_text(response), response, task_id, retry_after)
    code = body.get("code", response.status_code)
    message = str(body.get("msg") or body.get("message") or "")
    if response.is_success and code == 200:
        return body.get("data")
    if code == 200:  # an HTTP error with an "ok" body: trust the HTTP status
        code = response.status_code
    raise _error(code, message or _status_text(response), response, task_id, retry_after)


def is_not_visible(error: APIError) -> bool:
    """Whether an error is kie.ai's "recordInfo is null": a task not visible (yet)."""
    return error.code == 422 and NOT_VISIBLE_MESSAGE.lower() in error.message.lower()


def _decode(content: bytes) -> Mapping[str, Any] | None:
    try:
        body = msgspec.json.decode(content)
    except msgspec.DecodeError:
        return None
    return body if isinstance(body, Mapping) else None


def _status_text(response: httpx.Response) -> str:
    text = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    if response.status_code == 403:
        text += " (a proxy in front of kie.ai refused the request)"
    return text


def _error(
    code: int,
    message: str,
    response: httpx.Response,
    task_id: str | None,
    retry_after: float | None,
) -> APIError:
    cls = error_for_code(code)
    return cls(
        message,
        code=code,
        task_id=task_id,
        http_status=response.status_code,
        retry_after=retry_after,
    )
