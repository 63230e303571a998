"""What :class:`~kieframe.ModelSpec` refuses at construction beyond its own options.

A cross-field rule naming a field the input does not have (it would never fire), and a field
whose limits no value meets (``Meta(ge=10, le=1)``): both are plugin typos, reported with the
field and, for a rule, the closest real field.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec
import msgspec.inspect as mi

from ._fields import leaf_types
from ._rules import FieldRule
from ._validation_types import children

__all__ = ["check_input"]


def check_input(
    model_id: str, input_type: type[msgspec.Struct], rules: Iterable[Callable[..., Any]]
) -> None:
    """Raise ``ValueError`` for limits no value meets or a rule naming a field there is not."""
    root = mi.type_info(input_type)
    _check_limits(model_id, root)
    _check_rule_fields(model_id, root, rules)


def _check_rule_fields(model_id: str, root: mi.Type, rules: Iterable[Callable[..., Any]]) -> None:
    """Raise ``ValueError`` for a rule (built by :mod:`kieframe.authoring`) naming no field."""
    for rule in rules:
        if not isinstance(rule, FieldRule):
            continue  # a hand-written rule: what it reads is its own business
        for path in rule.paths:
            problem = _path_problem(root, path)
            if problem:
                raise ValueError(f"{model_id}: the rule {rule.described} names {problem}")


def _path_problem(node: mi.Type, path: str) -> str | None:
    """Why ``path`` leads to no field of ``node`` (None when it does, or may: a dict, Any)."""
    walked: list[str] = []
    for name in path.split("."):
        structs = [member for member in leaf_types(node) if isinstance(member, mi.StructType)]
        if not structs:
            if any(isinstance(member, mi.DictType | mi.AnyType) for member in leaf_types(node)):
                return None  # a mapping's keys are not declared
            return f"{path!r}, but {'.'.join(walked)!r} has no fields"
        fields = {field.encode_name: field for struct in structs for field in struct.fields}
        if name not in fields:
            where = f"{'.'.join(walked)!r}" if walked else "the input"
            close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.6)
            hint = f"; did you mean {'.'.join([*walked, close[0]])!r}?" if close else ""
            return f"{path!r}, but {where} has no field {name!r}{hint}"
        walked.append(name)
        node = fields[name].type
    return None


def _check_limits(model_id: str, root: mi.Type) -> None:
    """Raise ``ValueError`` for a field (nested ones and list items too) no value can meet."""
    for path, node in _typed_nodes(root, "", set()):
        problem = _contradiction(node)
        if problem:
            raise ValueError(f"{model_id}: field {path!r} has limits no value meets: {problem}")


def _typed_nodes(node: mi.Type, path: str, seen: set[type]) -> Iterator[tuple[str, mi.Type]]:
    """Every inspected type in ``node``, with its field path (``"shots[].duration"``)."""
    yield path, node
    if isinstance(node, mi.StructType):
        if node.cls in seen:
            return
        seen.add(node.cls)
        for field in node.fields:
            name = f"{path}.{field.encode_name}" if path else field.encode_name
            yield from _typed_nodes(field.type, name, seen)
    else:  # an annotation or a union is the same field; items (of a tuple too) are under []
        inner = path if isinstance(node, mi.Metadata | mi.UnionType) else f"{path}[]"
        for child in children(node):
            yield from _typed_nodes(child, inner, seen)


def _contradiction(node: mi.Type) -> str | None:
    if isinstance(node, mi.IntType | mi.FloatType):
        lows = [(node.ge, False), (node.gt, True)]
        highs = [(node.le, False), (node.lt, True)]
        for low, low_strict in lows:
            for high, high_strict in highs:
                if low is None or high is None:
                    continue
                empty = low > high or (low == high and (low_strict or high_strict))
                if isinstance(node, mi.IntType):  # no integer lies strictly between 1 and 2
                    empty = (low + low_strict) > (high - high_strict)
                if empty:
                    low_name = "gt" if low_strict else "ge"
                    high_name = "lt" if high_strict else "le"
                    return f"{low_name}={low!r} and {high_name}={high!r}"
    lengths = (getattr(node, "min_length", None), getattr(node, "max_length", None))
    if lengths[0] is not None and lengths[1] is not None and lengths[0] > lengths[1]:
        return f"min_length={lengths[0]} and max_length={lengths[1]}"
    return None
