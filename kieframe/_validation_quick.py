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

__all__ = ["QuickTest", "quick_expression", "quick_test", "string_test"]

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


# -- a quick test as an expression, for a function written out per Struct (_validation_gather)


def quick_expression(node: mi.Type, namespace: dict[str, Any], prefix: str) -> str | None:
    """The quick test of ``node`` as an expression of ``value``; None to call its closure.

    The same test as :func:`quick_test`'s (a property test holds them to it). The constants it
    needs (limits, choices, a pattern's search) go in ``namespace`` under names that start with
    ``prefix``, beside the functions it calls (``encodable``, ``isfinite``).
    """
    if isinstance(node, mi.Metadata):
        if (node.extra or {}).get(STEP_KEY) is not None:
            return None
        return quick_expression(node.type, namespace, prefix)
    if isinstance(node, mi.UnionType):
        if len(node.types) != 2 or not isinstance(node.types[1], mi.NoneType):
            return None
        inner = quick_expression(node.types[0], namespace, prefix)
        return None if inner is None else f"(value is None or ({inner}))"
    if isinstance(node, mi.BoolType):
        return "type(value) is bool"
    if isinstance(node, mi.NoneType):
        return "value is None"
    if isinstance(node, mi.StrType):
        return _str_expression(node, namespace, prefix)
    if isinstance(node, mi.LiteralType):
        kinds = {type(value) for value in node.values}
        if len(kinds) != 1:
            return None
        namespace[f"{prefix}_kind"] = kinds.pop()
        namespace[f"{prefix}_values"] = frozenset(node.values)
        return f"type(value) is {prefix}_kind and value in {prefix}_values"
    if isinstance(node, mi.IntType | mi.FloatType):
        return _number_expression(node, namespace, prefix)
    return None


def _str_expression(node: mi.StrType, namespace: dict[str, Any], prefix: str) -> str:
    parts = ["type(value) is str"]
    low = node.min_length or 0
    if node.max_length is not None:
        parts.append(f"{low} <= len(value) <= {node.max_length}")
    elif low:
        parts.append(f"{low} <= len(value)")
    namespace["encodable"] = encodable
    parts.append("(value.isascii() or encodable(value))")
    if node.pattern is not None:
        namespace[f"{prefix}_search"] = re.compile(node.pattern).search
        parts.append(f"{prefix}_search(value) is not None")
    return " and ".join(parts)


def _number_expression(
    node: mi.IntType | mi.FloatType, namespace: dict[str, Any], prefix: str
) -> str | None:
    if isinstance(node, mi.IntType):
        parts = [f"type(value) is int and {_INT_LOW} <= value < {_INT_HIGH}"]
    elif node.multiple_of is None:
        namespace["isfinite"] = math.isfinite
        whole = f"type(value) is int and {-_EXACT} <= value <= {_EXACT}"
        parts = [f"(({whole}) or (type(value) is float and isfinite(value)))"]
    else:
        return None  # as quick_test: an exact multiple of a float is left to the walk
    # The bounds as _quick_number takes them: the larger low one, the smaller high one.
    lows = [bound for bound in (node.ge, node.gt) if bound is not None]
    highs = [bound for bound in (node.le, node.lt) if bound is not None]
    if lows:
        namespace[f"{prefix}_low"] = max(lows)
        parts.append(f"{prefix}_low {'<' if node.gt is not None else '<='} value")
    if highs:
        namespace[f"{prefix}_high"] = min(highs)
        parts.append(f"value {'<' if node.lt is not None else '<='} {prefix}_high")
    if node.multiple_of is not None:
        namespace[f"{prefix}_step"] = node.multiple_of
        parts.append(f"value % {prefix}_step == 0")
    return " and ".join(parts)


def string_test(node: mi.Type, namespace: dict[str, Any], prefix: str) -> tuple[int, str] | None:
    """A string field's quick test split where a string of UTF-8 text over its limit fails it.

    For a string with a longest length (in metadata without a decimal step: a media field's
    too), that length and the rest of the test (its shortest length, its pattern) as an
    expression of such a ``value`` no longer than that: with ``type(value) is str and
    (value.isascii() or encodable(value))`` before it, the test of :func:`quick_expression`.
    Its field's check words such a string over its limit by its length alone. None otherwise.
    """
    if isinstance(node, mi.Metadata) and not (node.extra or {}).get(STEP_KEY):
        node = node.type
    if not isinstance(node, mi.StrType) or node.max_length is None:
        return None
    namespace["encodable"] = encodable
    rest = [f"{node.min_length} <= len(value)"] if node.min_length else []
    if node.pattern is not None:
        namespace[f"{prefix}_search"] = re.compile(node.pattern).search
        rest.append(f"{prefix}_search(value) is not None")
    return node.max_length, " and ".join(rest) or "True"
