"""Hypothesis strategies derived from a model's msgspec limits.

``hypothesis.strategies.from_type`` ignores ``msgspec.Meta`` constraints, and constructing a Struct
does not validate it, so both strategies here read the limits back with ``msgspec.inspect``:
:func:`valid_inputs` draws input objects inside every limit (leaning on the boundaries), and
:func:`invalid_inputs` draws objects that are valid but for one field, pushed just past one limit.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec.inspect as mi
from hypothesis import strategies as st

from .._spec import ModelSpec
from .._validation import FieldInfo

__all__ = ["InvalidInput", "invalid_inputs", "valid_inputs", "valid_value"]

_INT64 = (-(2**63), 2**63 - 1)
Overrides = Mapping[str, st.SearchStrategy[Any]]


@dataclass(frozen=True, slots=True)
class InvalidInput:
    """An input that breaks one limit: ``field`` is the field at fault, ``why`` the limit."""

    data: dict[str, Any]
    field: str
    why: str


def valid_value(node: mi.Type) -> st.SearchStrategy[Any]:
    """Values inside every limit of one inspected field type."""
    if isinstance(node, mi.Metadata):
        return valid_value(node.type)
    if isinstance(node, mi.UnionType):
        return st.one_of([valid_value(member) for member in node.types])
    if isinstance(node, mi.NoneType):
        return st.none()
    if isinstance(node, mi.BoolType):
        return st.booleans()
    if isinstance(node, mi.LiteralType):
        return st.sampled_from(node.values)
    if isinstance(node, mi.IntType):
        low, high = _int_bounds(node)
        return st.one_of(st.sampled_from(sorted({low, high})), st.integers(low, high))
    if isinstance(node, mi.FloatType):
        return st.floats(
            min_value=node.ge if node.ge is not None else node.gt,
            max_value=node.le if node.le is not None else node.lt,
            exclude_min=node.ge is None and node.gt is not None,
            exclude_max=node.le is None and node.lt is not None,
            allow_nan=False,
            allow_infinity=False,
        )
    if isinstance(node, mi.StrType):
        return _valid_text(node)
    raise NotImplementedError(
        f"no strategy for {type(node).__name__}; pass one in overrides={{field: strategy}}"
    )


def _int_bounds(node: mi.IntType) -> tuple[int, int]:
    low = node.ge if node.ge is not None else (node.gt + 1 if node.gt is not None else _INT64[0])
    high = node.le if node.le is not None else (node.lt - 1 if node.lt is not None else _INT64[1])
    return low, high


def _valid_text(node: mi.StrType) -> st.SearchStrategy[str]:
    low = node.min_length or 0
    high = node.max_length
    if node.pattern is not None:
        pattern = node.pattern
        return st.from_regex(pattern, fullmatch=True).filter(
            lambda text: low <= len(text) <= (high if high is not None else len(text))
        )
    choices = [st.text(min_size=low, max_size=high)]
    if high is not None:  # the boundary itself is where off-by-one bugs live
        choices.append(st.text(min_size=high, max_size=high))
    return st.one_of(choices)


def _invalid_values(node: mi.Type) -> list[tuple[str, st.SearchStrategy[Any]]]:
    """Values just past each limit of one field type, each with the limit it breaks."""
    wrong = _wrong_type(node)
    return _past_limits(node) + ([("wrong type", wrong)] if wrong is not None else [])


def _members(node: mi.Type) -> list[mi.Type]:
    if isinstance(node, mi.Metadata):
        return _members(node.type)
    if isinstance(node, mi.UnionType):
        return [leaf for member in node.types for leaf in _members(member)]
    return [node]


def _past_limits(node: mi.Type) -> list[tuple[str, st.SearchStrategy[Any]]]:
    found: list[tuple[str, st.SearchStrategy[Any]]] = []
    for member in _members(node):
        if isinstance(member, mi.LiteralType):
            allowed = frozenset(member.values)
            numeric = all(isinstance(v, int) for v in allowed)
            pool = st.integers() if numeric else st.text(max_size=8)
            found.append(("not an allowed value", pool.filter(_outside(allowed))))
        elif isinstance(member, mi.IntType):
            low, high = _int_bounds(member)
            if low > _INT64[0]:
                found.append((f"below {low}", st.integers(low - 1000, low - 1)))
            if high < _INT64[1]:
                found.append((f"above {high}", st.integers(high + 1, high + 1000)))
        elif isinstance(member, mi.StrType):
            found += _invalid_text(member)
    return found


def _outside(allowed: frozenset[Any]) -> Callable[[Any], bool]:
    return lambda value: value not in allowed


# One strategy per JSON kind, and the inspected types that accept that kind.
_KINDS: dict[str, tuple[st.SearchStrategy[Any], tuple[type[mi.Type], ...]]] = {
    "string": (st.text(max_size=5), (mi.StrType,)),
    "integer": (st.integers(), (mi.IntType, mi.FloatType)),
    "number": (st.just(1.5), (mi.FloatType,)),
    "boolean": (st.booleans(), (mi.BoolType,)),
    "list": (st.lists(st.integers(), max_size=2), (mi.ListType,)),
}


def _accepts(member: mi.Type, kind: str) -> bool:
    if isinstance(member, mi.LiteralType):
        python_type = {"string": str, "integer": int}.get(kind)
        return python_type is not None and any(type(v) is python_type for v in member.values)
    return isinstance(member, _KINDS[kind][1])


def _wrong_type(node: mi.Type) -> st.SearchStrategy[Any] | None:
    members = _members(node)
    choices = [
        strategy
        for kind, (strategy, _) in _KINDS.items()
        if not any(_accepts(member, kind) for member in members)
    ]
    return st.one_of(choices) if choices else None


def _invalid_text(node: mi.StrType) -> list[tuple[str, st.SearchStrategy[Any]]]:
    found: list[tuple[str, st.SearchStrategy[Any]]] = []
    if node.max_length is not None:
        past = node.max_length + 1
        found.append((f"longer than {node.max_length}", st.text(min_size=past, max_size=past + 50)))
    if node.min_length:
        found.append((f"shorter than {node.min_length}", st.text(max_size=node.min_length - 1)))
    if node.pattern is not None:
        matches = re.compile(node.pattern).search
        limit = node.max_length if node.max_length is not None else 10_000
        text = st.text(alphabet=string.printable, max_size=min(limit, 60))
        found.append((f"not matching {node.pattern}", text.filter(lambda t: not matches(t))))
    return found


def _field_strategies(spec: ModelSpec[Any], overrides: Overrides) -> dict[str, Any]:
    return {f.name: overrides.get(f.name) or valid_value(f.type) for f in spec.fields}


def valid_inputs(
    spec: ModelSpec[Any], *, overrides: Overrides | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Input objects for ``spec`` inside every documented limit.

    Required fields are always present, optional ones sometimes. ``overrides`` maps a field name
    to a strategy, for field types these strategies cannot derive.
    """
    values = _field_strategies(spec, overrides or {})
    required = {f.name: values[f.name] for f in spec.fields if f.required}
    optional = {f.name: values[f.name] for f in spec.fields if not f.required}
    return st.fixed_dictionaries(required, optional=optional)


def invalid_inputs(
    spec: ModelSpec[Any],
    *,
    overrides: Overrides | None = None,
    fields: Collection[str] | None = None,
) -> st.SearchStrategy[InvalidInput]:
    """Input objects that are valid except for one field, which breaks one limit.

    The cases, each drawn from a valid base: a value just past a limit (too long, too short, out of
    range, not an allowed value, not of the pattern, of the wrong type); a required field left out;
    an unknown field added. ``fields`` restricts the faults to those fields (and leaves out the
    unknown-field case).
    """
    base = valid_inputs(spec, overrides=overrides)
    cases: list[st.SearchStrategy[InvalidInput]] = []
    for field in spec.fields:
        if fields is not None and field.name not in fields:
            continue
        for why, bad in _invalid_values(field.type):
            cases.append(base.flatmap(_with_value(field, why, bad)))
        if field.required:
            cases.append(base.map(_without(field)))
    if fields is not None:
        return st.one_of(cases)
    known = {f.name for f in spec.fields}
    unknown = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12).filter(
        lambda name: name not in known
    )
    cases.append(
        st.tuples(base, unknown, st.integers()).map(
            lambda t: InvalidInput({**t[0], t[1]: t[2]}, t[1], "unknown field")
        )
    )
    return st.one_of(cases)


def _with_value(
    field: FieldInfo, why: str, bad: st.SearchStrategy[Any]
) -> Callable[[dict[str, Any]], st.SearchStrategy[InvalidInput]]:
    def build(data: dict[str, Any]) -> st.SearchStrategy[InvalidInput]:
        return bad.map(lambda value: InvalidInput({**data, field.name: value}, field.name, why))

    return build


def _without(field: FieldInfo) -> Callable[[dict[str, Any]], InvalidInput]:
    def build(data: dict[str, Any]) -> InvalidInput:
        rest = {key: value for key, value in data.items() if key != field.name}
        return InvalidInput(rest, field.name, "required field missing")

    return build
