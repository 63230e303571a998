"""The body of a create (``POST /api/v1/jobs/createTask``): model, input, callBackUrl.

Built here only: as a dict (:func:`request_body`), or as the bytes sent (:func:`body_encoder`),
put together around an ``input`` object already encoded (with its validation), which is not
encoded again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

__all__ = ["BodyEncoder", "body_encoder", "body_head", "request_body"]

_ENCODE = msgspec.json.Encoder().encode

#: The body's UTF-8 JSON from the ``input`` object's JSON and the callback URL (or None).
BodyEncoder = Callable[[bytes, "str | None"], bytes]


def request_body(model: str, input: Mapping[str, Any], callback_url: str | None) -> dict[str, Any]:
    """The createTask body: ``model``, ``input``, and ``callBackUrl`` if there is one."""
    body: dict[str, Any] = {"model": model, "input": input}
    if callback_url is not None:
        body["callBackUrl"] = callback_url
    return body


@functools.cache  # per model id of a registered model: a bounded number
def body_head(model: str) -> bytes:
    """The bytes a createTask body for ``model`` starts with: up to its ``input`` object.

    Without a callback URL, the body is these, the input's JSON, and ``}``.
    """
    return b'{"model":' + _ENCODE(model) + b',"input":'


@functools.cache  # per model id of a registered model: a bounded number
def body_encoder(model: str) -> BodyEncoder:
    """:func:`request_body` for ``model`` as its UTF-8 JSON, around the input's JSON."""
    head = body_head(model)
    join = b"".join

    def encode(input_json: bytes, callback_url: str | None) -> bytes:
        if callback_url is None:
            return join((head, input_json, b"}"))
        return join((head, input_json, b',"callBackUrl":', _ENCODE(callback_url), b"}"))

    return encode
