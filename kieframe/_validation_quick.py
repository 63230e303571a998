"""Quick tests that a field's value certainly passes its limits, compiled once per field.

An explanation tests each field with one and walks only the fields that fail it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import msgspec.inspect as mi

from ._fields import STEP_KEY
from ._validation_describe import encodable
from ._validation_walk import on_step

__all__ = ["QuickTest", "quick_test"]

#: A quick test of one value: True only if msgspec accepts it and the walk finds nothing.
QuickTest = Callable[[Any], bool]

# The largest integers kie.ai (and msgspec) take, and the integers a float holds exactly.
_INT_LOW, _INT_HIGH, _EXACT = -(2**63), 2**63, 2**53


def quick_test(node: mi.Type) -> QuickTest | None:
    """A quick test that a value certainly passes ``node``; None where there is none.

    It may say no to a value that passes (the walk then looks), never yes to one that fails.
    """
    if isinstance(node, mi.Metadata):
        inner = quick_test(node.type)
        step = (node.extra or {}).get(STEP_KEY)
        if inner is None or step is None:
            return inner
        return lambda value: inner(value) and on_step(value, step)
    if isinstance(node, mi.UnionType):
        tests = [quick_test(member) for member in node.types]
        if any(test is None for test in tests):
            return None
        if len(tests) == 2 and isinstance(node.types[1], mi.NoneType):  # the usual optional
            first = tests[0]
            return lambda value: value is None or first(value)  # type: ignore[misc]
        return lambda value: any(test(value) for test in tests)  # type: ignore[misc]
    maker = _QUICK.get(type(node))
    return None if maker is None else maker(node)


def _quick_str(node: mi.StrType) -> QuickTest:
    low = node.min_length or 0
    high = node.max_length if node.max_length is not None else math.inf
    search = re.compile(node.pattern).search if node.pattern is not None else None

    def test(value: Any) -> bool:
        return (
            type(value) is str
            and low <= len(value) <= high
            and (value.isascii() or encodable(value))
            and (search is None or search(value) is not None)
        )

    return test


def _quick_literal(node: mi.LiteralType) -> QuickTest | None:
    kinds = {type(value) for value in node.values}
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    values = frozenset(node.values)
    return lambda value: type(value) is kind and value in values


def _quick_number(node: mi.IntType | mi.FloatType) -> QuickTest | None:
    if isinstance(node, mi.FloatType) and node.multiple_of is not None:
        return None  # msgspec's exact multiple of a float: left to the walk and msgspec
    integer = isinstance(node, mi.IntType)
    low = max(x for x in (node.ge, node.gt, -math.inf) if x is not None)
    high = min(x for x in (node.le, node.lt, math.inf) if x is not None)
    open_low, open_high = node.gt is not None, node.lt is not None
    step = node.multiple_of

    def test(value: Any) -> bool:
        kind = type(value)
        if kind is int:
            if not (_INT_LOW <= value < _INT_HIGH if integer else -_EXACT <= value <= _EXACT):
                return False
        elif integer or kind is not float or not math.isfinite(value):
            return False
        if not (low < value if open_low else low <= value):
            return False
        if not (value < high if open_high else value <= high):
            return False
        return step is None or value % step == 0

    return test


_QUICK: dict[type[mi.Type], Callable[[Any], QuickTest | None]] = {
    mi.StrType: _quick_str,
    mi.LiteralType: _quick_literal,
    mi.IntType: _quick_number,
    mi.FloatType: _quick_number,
    mi.BoolType: lambda node: lambda value: type(value) is bool,
    mi.NoneType: lambda node: lambda value: value is None,
}
