"""Text read as a model field's value, by the field's declared type (``--set``, CSV cells).

Text is parsed against the field's declared type, read with ``msgspec.inspect``: ``true``/``false``
for booleans, numbers for number fields, ``null`` where the field allows it; strings stay strings
(``duration=5`` stays ``"5"`` for a field that takes the string ``"5"``). A value that fits no
reading is passed on as text, so that validation reports it against the field's documented limit.
For a media field (alone or in a list), anything but a URL the field takes (http(s), or the
``asset://`` or ``oss://`` references some fields accept) is a local file path, given as a
:class:`pathlib.Path` so that the client uploads it; a list field's text is a JSON list or one item.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec.inspect as mi

from ._fields import is_list_type, media_limits, media_pattern
from ._validation_types import FieldInfo

__all__ = ["is_url", "media_value", "parse_value"]

_URL = re.compile(r"^https?://", re.IGNORECASE)


def is_url(text: str) -> bool:
    """Whether ``text`` is an http(s) URL (anything else in a media field is a local path)."""
    return bool(_URL.match(text))


def parse_value(field: FieldInfo | None, text: str) -> Any:
    """The value ``text`` stands for in ``field`` (an unknown field keeps the text)."""
    if field is None:
        return text
    if media_limits(field.type) is not None:
        if is_list_type(field.type):
            parsed = _parse(field.type, text)
            items = parsed if isinstance(parsed, list) else [text]
            return [media_value(field.type, item) for item in items]
        return media_value(field.type, text)
    return _parse(field.type, text)


def media_value(node: mi.Type, value: Any) -> Any:
    """A media field's value: a URL the field takes stays text, other text is a local path."""
    if not isinstance(value, str) or not value or _takes_url(node, value):
        return value
    return _local_path(value)


def _takes_url(node: mi.Type, text: str) -> bool:
    pattern = media_pattern(node)
    try:
        matched = pattern is not None and re.search(pattern, text) is not None
    except re.error:
        matched = False
    return matched or is_url(text)


def _local_path(text: str) -> Path:
    path = Path(text)
    try:
        return path.expanduser()
    except RuntimeError:  # "~someone" for an unknown user: the upload reports the missing file
        return path


def _parse(node: mi.Type, text: str) -> Any:
    if isinstance(node, mi.Metadata):
        return _parse(node.type, text)
    if isinstance(node, mi.UnionType):
        if text == "null" and mi.NoneType() in node.types:
            return None
        for member in node.types:
            value = _parse(member, text)
            if value is not text:
                return value
        return text
    if isinstance(node, mi.BoolType):
        return {"true": True, "false": False}.get(text.lower(), text)
    if isinstance(node, mi.IntType):
        return _number(int, text)
    if isinstance(node, mi.FloatType):
        return _number(float, text)
    if isinstance(node, mi.LiteralType):
        return next((value for value in node.values if str(value) == text), text)
    if isinstance(node, mi.ListType | mi.DictType | mi.StructType | mi.TupleType):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply: left to validation
            return text
    return text


#: A JSON number (ASCII digits only): Python's int() and float() also read ``1_000``, ``١٢``
#: (Arabic-Indic digits), `` 5 ``, ``nan`` and ``inf``, which a cell or an option must not mean.
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def _number(kind: type[int] | type[float], text: str) -> Any:
    if (_INT if kind is int else _FLOAT).fullmatch(text) is None:
        return text
    try:
        return kind(text)
    except ValueError:  # an int past Python's 4,300 digits
        return text
