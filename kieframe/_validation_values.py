"""An input as given: Structs taken apart into dicts, and tests of what its values are."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import msgspec

from ._validation_types import struct_attributes

__all__ = ["PLAIN_LEAVES", "all_json", "finite_or_none", "plain", "without_nulls"]


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


def finite_or_none(value: Any) -> bool:
    """Whether ``value`` is None or a finite number (all msgspec checks of a number)."""
    kind = type(value)
    return value is None or kind is int or (kind is float and math.isfinite(value))
