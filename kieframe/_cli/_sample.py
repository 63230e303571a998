"""A small valid input for a model that documents no example: what its page's quick start runs.

Each required field gets a plain value inside its limits: a short prompt, the first choice, the
lowest number allowed, one ``https://example.com`` file of the right kind. Fields that a
cross-field rule then asks for are added the same way, one at a time, until the model accepts it.
"""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi

from .._errors import InputValidationError
from .._fields import is_list_type, media_limits
from .._spec import ModelSpec
from .._validation_describe import ordered_choices

__all__ = ["sample_input"]

_TEXT = "a paper boat drifts down a rainy street"


def sample_input(spec: ModelSpec[Any]) -> dict[str, Any] | None:
    """A valid input of ``spec`` (required fields, and those its rules ask for), or None."""
    by_name = {field.name: field for field in spec.fields}
    data = {field.name: _plain(field.type) for field in spec.fields if field.required}
    for _ in range(len(spec.fields) + 1):
        try:
            spec.validate(data)
        except InputValidationError as error:
            wanted = [name for name in error.fields if name in by_name and name not in data]
            if not wanted:
                return None
            data[wanted[0]] = _plain(by_name[wanted[0]].type)
        else:
            return data
    return None


#: File extensions of media subtypes whose name is not their usual extension.
_EXTENSIONS = {"jpeg": "jpg", "mpeg": "mp3", "quicktime": "mov", "x-wav": "wav", "wave": "wav"}


def _url(media_type: str) -> str:
    kind, _, subtype = media_type.partition("/")
    return f"https://example.com/{kind}.{_EXTENSIONS.get(subtype, subtype)}"


def _plain(node: mi.Type) -> Any:
    limits = media_limits(node)
    if limits is not None and not is_list_type(node):
        return _url(limits.media_types[0])
    if isinstance(node, mi.Metadata):
        return _plain(node.type)
    if isinstance(node, mi.UnionType):
        members = [member for member in node.types if not isinstance(member, mi.NoneType)]
        return _plain(members[0]) if members else None
    if isinstance(node, mi.LiteralType):
        return ordered_choices(node.values)[0]
    if isinstance(node, mi.BoolType):
        return False
    if isinstance(node, mi.IntType | mi.FloatType):
        if node.ge is not None:
            return node.ge
        if node.gt is None:
            return 1
        above = node.gt + 1  # the next int; for a float, also inside unless the range is narrower
        high = node.le if node.le is not None else node.lt
        if isinstance(node, mi.IntType) or high is None or above < high:
            return above  # an int field takes whole numbers only: the least above gt
        return (node.gt + high) / 2
    if isinstance(node, mi.StrType):
        least, most = node.min_length or 0, node.max_length
        text = _TEXT.ljust(least, "!")
        return text[:most] if most is not None else text
    if isinstance(node, mi.ListType):
        return [_plain(node.item_type)] * max(node.min_length or 0, 1)
    if isinstance(node, mi.StructType):
        return {field.encode_name: _plain(field.type) for field in node.fields if field.required}
    return None
