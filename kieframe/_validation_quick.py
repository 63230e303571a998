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

__all__ = ["Failing", "QuickTest", "failing_keys", "quick_test"]

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


# -- the quick tests of every field of a Struct, written out as one function per Struct


#: The keys of an input object whose values do not certainly pass their field's quick test
#: (keys that are not fields among them), in the input's order.
Failing = Callable[[dict[Any, Any]], list[Any]]


def failing_keys(fields: dict[str, mi.Type]) -> Failing:
    """The quick tests of ``fields`` (name → type) as one function, compiled once per Struct.

    It gives what ``[key for key, value in data.items() if not quick_test(fields[key])(value)]``
    gives (a key that is not a field, or whose type has no quick test, fails), without a call
    per field: an explanation runs it over every field of the input, and a call costs more than
    most tests. Each field's test is written out as an expression (:func:`_quick_expression`)
    in a chain of ``if key == ...``; a type it does not write out calls its :func:`quick_test`,
    and so does a key that is not exactly a ``str`` (looked up as a dict would).
    """
    tests = {name: quick_test(node) or _never for name, node in fields.items()}
    namespace: dict[str, Any] = {"encodable": encodable, "isfinite": math.isfinite, "tests": tests}
    lines = [
        "def failing(data):",
        "    failed = []",
        "    for key, value in data.items():",
        "        if type(key) is not str:",
        "            test = tests.get(key)",
        "            if test is None or not test(value):",
        "                failed.append(key)",
        "            continue",
    ]
    for index, (name, node) in enumerate(fields.items()):
        prefix = f"f{index}"
        test = _quick_expression(node, namespace, prefix)
        if test is None:
            namespace[prefix] = tests[name]
            test = f"{prefix}(value)"
        lines += [
            f"        {'elif' if index else 'if'} key == {name!r}:",
            f"            if {test}:",
            "                continue",
        ]
    lines += ["        failed.append(key)", "    return failed"]
    exec("\n".join(lines), namespace)  # noqa: S102 - the source is written above, from limits
    failing: Failing = namespace["failing"]
    return failing


def _never(value: Any) -> bool:
    return False


def _quick_expression(node: mi.Type, namespace: dict[str, Any], prefix: str) -> str | None:
    """The quick test of ``node`` as an expression of ``value``; None to call its closure.

    The same test as :func:`quick_test`'s (a property test holds them to it). The constants it
    needs (limits, choices, a pattern's search) go in ``namespace`` under names that start with
    ``prefix``.
    """
    if isinstance(node, mi.Metadata):
        if (node.extra or {}).get(STEP_KEY) is not None:
            return None
        return _quick_expression(node.type, namespace, prefix)
    if isinstance(node, mi.UnionType):
        if len(node.types) != 2 or not isinstance(node.types[1], mi.NoneType):
            return None
        inner = _quick_expression(node.types[0], namespace, prefix)
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
