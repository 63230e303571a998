"""Checking one kie.ai callback: size, shape, HMAC signature and freshness, for any web framework.

kie.ai signs a callback (when the account has a webhook HMAC key) with two headers:
``X-Webhook-Timestamp`` (Unix seconds; 13 digits are read as milliseconds) and
``X-Webhook-Signature`` =
base64(HMAC-SHA256(key, taskId + "." + timestamp)). The body itself is not signed, which is why the
receiver re-reads the record from kie.ai before trusting a result.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .._errors import (
    CallbackMalformedError,
    CallbackSignatureError,
    CallbackStaleError,
    CallbackTooLargeError,
)
from .._records import TaskRecord, parse_record

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_TOLERANCE",
    "Headers",
    "HmacKeys",
    "Verifier",
    "key_list",
    "signature",
    "verify_callback",
]

logger = logging.getLogger("kieframe")

#: Seconds a callback's timestamp may be off from this machine's clock, either way.
DEFAULT_TOLERANCE = 300.0
#: The largest callback body accepted, in bytes (a record with its input is a few KiB).
DEFAULT_MAX_BODY_SIZE = 1 << 20

TIMESTAMP_HEADER = "x-webhook-timestamp"
SIGNATURE_HEADER = "x-webhook-signature"

#: Request headers as any framework holds them: a mapping, or (name, value) pairs (ASGI's bytes).
Headers = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]
#: One webhook HMAC key, or several while a key is being rotated (any of them verifies).
HmacKeys = str | bytes | Sequence[str | bytes] | None


def signature(key: str | bytes, task_id: str, timestamp: str) -> str:
    """kie.ai's callback signature: base64(HMAC-SHA256(key, taskId + "." + timestamp))."""
    secret = key.encode() if isinstance(key, str) else key
    digest = hmac.new(secret, f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def key_list(keys: HmacKeys) -> tuple[bytes, ...]:
    """The configured keys as bytes; refuses an empty key."""
    if keys is None:
        return ()
    items = [keys] if isinstance(keys, str | bytes) else list(keys)
    encoded = tuple(k.encode() if isinstance(k, str) else bytes(k) for k in items)
    if any(not k for k in encoded):
        raise ValueError("an HMAC key must not be empty")
    return encoded


def _lowercase(headers: Headers) -> dict[str, str]:
    pairs: Iterable[tuple[Any, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, str] = {}
    for name, value in pairs:
        text_name = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        text_value = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        found.setdefault(text_name.lower(), text_value.strip())
    return found


def _task_id(body: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    for source in (data, body):
        for name in ("taskId", "task_id"):
            value = source.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)
    raise CallbackMalformedError("the callback names no task (no taskId in it or its data)")


def _stated(
    body: Mapping[str, Any], data: dict[str, Any], task_id: str, *, trusted: bool
) -> dict[str, Any]:
    """``data`` with the state the callback's top-level code says, when ``data.state`` is missing.

    kie.ai calls back with code 501 when the task failed (its failCode and failMsg, if the body
    lacks them, are that code and the body's msg), and with code 200 when it succeeded: a success
    only if the body carries its result. Anything else tells no state. A body that is re-read is
    then taken as it is (state unknown): the re-read tells the state. A ``trusted`` body (no
    re-read) is refused (400); kie.ai documents no redelivery after an error answer, so the
    task's waits learn its end by reading its record themselves.
    """
    code = body.get("code")
    number = int(code) if isinstance(code, str) and code.strip().isdigit() else code
    message = body.get("msg") or body.get("message")
    if number == 501:
        return {
            **data,
            "state": "fail",
            "failCode": data.get("failCode") or "501",
            "failMsg": data.get("failMsg") or message,
        }
    if number == 200:
        stated = {**data, "state": "success"}
        shown = parse_record({**stated, "taskId": task_id})
        if shown.result_urls or shown.result_object is not None:
            return stated
    if not trusted:
        return data
    raise CallbackMalformedError(
        f"the callback says no state for task {task_id} (no data.state), and its code {code!r}"
        f"{' without a result' if number == 200 else ''} does not tell one",
        task_id=task_id,
    )


@dataclass(slots=True)
class _Once:
    """True the first time it is called, False after (thread-safe)."""

    _done: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> bool:
        with self._lock:
            first, self._done = not self._done, True
            return first


@dataclass(slots=True)
class Verifier:
    """The checks of :func:`verify_callback` with their settings, warning once when unsigned.

    ``trusted``: the body is taken as the task's record without a re-read, so a body that tells
    no state (see ``_stated``) is refused rather than accepted with state unknown.
    """

    keys: tuple[bytes, ...]
    tolerance: float = DEFAULT_TOLERANCE
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    trusted: bool = False
    warn_unsigned: _Once = field(default_factory=_Once)

    def __post_init__(self) -> None:
        if self.tolerance < 0 or self.max_body_size <= 0:
            raise ValueError("need tolerance >= 0 and max_body_size > 0")

    def verify(self, headers: Headers, body: bytes, *, now: float | None = None) -> TaskRecord:
        """Check one callback; return its record or raise a :class:`~kieframe.CallbackError`."""
        if len(body) > self.max_body_size:
            raise CallbackTooLargeError(
                f"callback body of {len(body)} bytes is over the limit of {self.max_body_size}"
            )
        try:
            decoded = msgspec.json.decode(body.removeprefix(b"\xef\xbb\xbf"))  # a UTF-8 BOM
        except msgspec.DecodeError:
            raise CallbackMalformedError("the callback body is not JSON") from None
        except RecursionError:
            raise CallbackMalformedError("the callback body is nested too deeply") from None
        if not isinstance(decoded, dict):
            raise CallbackMalformedError("the callback body is not a JSON object")
        data = decoded.get("data")
        if not isinstance(data, dict):  # a flat record, or data: null beside a top-level taskId
            data = {k: v for k, v in decoded.items() if k not in ("code", "msg", "data")}
        task_id = _task_id(decoded, data)
        if self.keys:
            self._check_signature(_lowercase(headers), task_id, now)
        elif self.warn_unsigned():
            logger.warning(
                "accepting unsigned kie.ai callbacks: no webhook HMAC key is configured, so "
                "anyone who can reach the receiver can post one (pass hmac_key=...)"
            )
        if data.get("state") in (None, ""):
            data = _stated(decoded, data, task_id, trusted=self.trusted)
        return parse_record({**data, "taskId": task_id})

    def _check_signature(self, headers: Mapping[str, str], task_id: str, now: float | None) -> None:
        timestamp = headers.get(TIMESTAMP_HEADER)
        provided = headers.get(SIGNATURE_HEADER)
        if not timestamp or not provided:
            raise CallbackSignatureError(
                "the callback is not signed (X-Webhook-Timestamp or X-Webhook-Signature missing)",
                task_id=task_id,
            )
        given = provided.encode("utf-8", "surrogateescape")
        matched = False
        for key in self.keys:  # every key is tried, so timing does not tell which one matched
            expected = signature(key, task_id, timestamp).encode("ascii")
            matched |= hmac.compare_digest(expected, given)
        if not matched:
            raise CallbackSignatureError(
                "the callback's signature matches none of the HMAC keys", task_id=task_id
            )
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 13):
            raise CallbackMalformedError(
                f"X-Webhook-Timestamp {timestamp!r} is not Unix seconds (or milliseconds)",
                task_id=task_id,
            )
        sent = int(timestamp) / 1000 if len(timestamp) == 13 else int(timestamp)
        skew = (time.time() if now is None else now) - sent
        if abs(skew) > self.tolerance:
            when = "old" if skew > 0 else "in the future"
            raise CallbackStaleError(
                f"the callback's timestamp is {abs(skew):.0f} s {when} "
                f"(tolerance {self.tolerance:g} s): a replay, or a clock off",
                task_id=task_id,
            )


_PROCESS_WARNING = _Once()


def verify_callback(
    headers: Headers,
    body: bytes,
    *,
    hmac_key: HmacKeys = None,
    tolerance: float = DEFAULT_TOLERANCE,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    now: float | None = None,
) -> TaskRecord:
    """Verify a kie.ai callback from any web framework; return the record it carries.

    ``headers`` are the request's headers (a mapping such as Starlette's, Flask's or Django's
    ``request.headers``, or ASGI's ``(name, value)`` byte pairs) and ``body`` the raw request body.
    ``hmac_key`` is the account's webhook key, or several keys while one is rotated. The checks:
    the body is at most ``max_body_size`` bytes (:class:`~kieframe.CallbackTooLargeError`), a JSON
    object whose ``data`` (or, without a ``data`` object, the body itself) names the task as
    ``taskId`` or ``task_id`` (:class:`~kieframe.CallbackMalformedError`); with a key,
    ``X-Webhook-Signature`` matches one key, compared in constant time
    (:class:`~kieframe.CallbackSignatureError`), and ``X-Webhook-Timestamp`` (seconds, or
    milliseconds) is within ``tolerance`` seconds of ``now`` either way
    (:class:`~kieframe.CallbackStaleError`). Every error's ``status`` is the HTTP status to
    answer. With no key, unsigned callbacks are accepted and a warning is logged once per process.
    A body without ``data.state`` takes it from its top-level ``code`` (501 a failure, 200 with a
    result a success); one whose code tells none gives a record in state unknown.

    The body is not signed by kie.ai: re-read the task (``client.get(record.task_id)``) before
    trusting its result, as :class:`~kieframe.CallbackReceiver` does.
    """
    verifier = Verifier(
        key_list(hmac_key),
        tolerance=tolerance,
        max_body_size=max_body_size,
        warn_unsigned=_PROCESS_WARNING,
    )
    return verifier.verify(headers, body, now=now)
