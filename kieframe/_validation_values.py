"""An input as given: Structs taken apart into dicts, and tests of what its values are."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import msgspec

from ._validation_types import struct_attributes

__all__ = [
    "PLAIN_LEAVES",
    "all_json",
    "builtin_values",
    "finite_or_none",
    "ints_fit",
    "plain",
    "without_nulls",
]


def without_nulls(raw: Any) -> Any:
    """``raw`` with unset (``None``) fields left out, in nested objects too."""
    if isinstance(raw, dict):
        return {key: without_nulls(item) for key, item in raw.items() if item is not None}
    if isinstance(raw, list):
        return [without_nulls(item) for item in raw]
    return raw


def plain(data: Any) -> Any:
    """``data`` with Structs taken apart into dicts (constructing a Struct checks nothing)."""
    if isinstance(data, msgspec.Struct):
        return {
            name: plain(getattr(data, attribute))
            for name, attribute in struct_attributes(type(data)).items()
        }
    if isinstance(data, list | tuple) and any(isinstance(item, msgspec.Struct) for item in data):
        return [plain(item) for item in data]
    if isinstance(data, Mapping) and not isinstance(data, dict):
        return dict(data)
    return data


PLAIN_LEAVES = frozenset({str, int, float, bool, type(None)})


def all_json(data: Any) -> bool:
    """Whether ``data`` holds nothing but JSON values (so no local file, nothing unchecked)."""
    if type(data) is dict and PLAIN_LEAVES.issuperset(map(type, data.values())):
        return True  # the usual flat input, looked at without a Python loop
    try:
        return _plain_tree(data)
    except RecursionError:
        return False


def _plain_tree(data: Any) -> bool:
    for item in data.values() if type(data) is dict else data:
        kind = type(item)
        if kind in PLAIN_LEAVES:
            continue
        if (kind is not dict and kind is not list) or not _plain_tree(item):
            return False
    return True


def builtin_values(data: Any) -> Any:
    """``data`` with its values of a ``str``, ``int`` or ``float`` subclass as the plain value.

    Such values come from numpy (``numpy.str_``, ``numpy.float64``), pandas, templating
    (markupsafe's ``Markup``) or enums (a ``StrEnum`` or ``IntEnum`` member is its value; a plain
    ``Enum`` member is no number or string, and stays). In nested objects and lists too; a
    mapping becomes a dict and a tuple a list where something in it changed. Whatever is
    unchanged is the same object: ``data`` itself when it holds nothing to change.
    """
    try:
        return _builtin(data)
    except Exception:  # nested too deeply, a mapping that cannot be read: left to be refused
        return data


def _builtin(value: Any) -> Any:
    kind = type(value)
    if kind in PLAIN_LEAVES:
        return value
    if isinstance(value, Mapping):
        changed = kind is not dict
        built = {}
        for key, item in value.items():
            plain_key, plain_item = _builtin(key), _builtin(item)
            changed = changed or plain_key is not key or plain_item is not item
            built[plain_key] = plain_item
        return built if changed else value
    if kind is list or kind is tuple:
        items = [_builtin(item) for item in value]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return items if changed else value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):  # bool is exact (a leaf above), and cannot be subclassed
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    return value  # a Struct, a local file, anything else: as it is


def finite_or_none(value: Any) -> bool:
    """Whether ``value`` is None or a finite number (all msgspec checks of a number)."""
    kind = type(value)
    return value is None or kind is int or (kind is float and math.isfinite(value))


def ints_fit(value: Any) -> bool:
    """Whether every integer in ``value`` (a converted input's) is one kie.ai takes (64-bit)."""
    kind = type(value)
    if kind is int:
        return bool(-(2**63) <= value < 2**63)
    if kind is list or kind is tuple:
        return all(map(ints_fit, value))
    if isinstance(value, Mapping):
        return all(map(ints_fit, value.values()))
    return not isinstance(value, int) or bool(-(2**63) <= value < 2**63)  # an int subclass
