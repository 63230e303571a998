"""Validate a model input against its msgspec Struct, reporting every problem at once.

``msgspec.convert`` stops at the first error and words it for machines (``Expected `str` of length
<= 800 - at `$.prompt```). Here each field is checked on its own, so one error lists every problem,
and each problem is worded from the field's limits as read back with ``msgspec.inspect``.
"""

from __future__ import annotations

import difflib
import functools
import re
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

from ._errors import InputValidationError, Problem

__all__ = ["FieldInfo", "describe_type", "input_fields", "ordered_choices", "validate_input"]


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One field of a model input: its name, inspected type, annotation and default."""

    name: str
    type: mi.Type
    annotation: Any
    required: bool
    default: Any


@functools.cache
def input_fields(input_type: type[msgspec.Struct]) -> tuple[FieldInfo, ...]:
    """The fields of an input Struct, in declaration order, with their limits."""
    info = mi.type_info(input_type)
    if not isinstance(info, mi.StructType):  # pragma: no cover - ModelSpec checks this first
        raise TypeError(f"{input_type!r} is not a msgspec Struct")
    hints = typing.get_type_hints(input_type, include_extras=True)
    return tuple(
        FieldInfo(
            name=field.encode_name,
            type=field.type,
            annotation=hints[field.name],
            required=field.required,
            default=None if field.default is msgspec.NODEFAULT else field.default,
        )
        for field in info.fields
    )


S = TypeVar("S", bound=msgspec.Struct)


def validate_input(
    input_type: type[S], data: Mapping[str, Any] | msgspec.Struct, *, model_id: str
) -> S:
    """Return ``data`` as a validated ``input_type``, or raise one error listing every problem."""
    if isinstance(data, msgspec.Struct):
        # Constructing a Struct does not validate it: take it apart and check it like a dict.
        data = msgspec.to_builtins(data)
    if not isinstance(data, Mapping):
        problem = Problem("input", f"must be an object of fields, got {_kind(data)}")
        raise InputValidationError(model_id, [problem])

    fields = input_fields(input_type)
    by_name = {field.name: field for field in fields}
    problems: list[Problem] = []
    for key in data:
        if key not in by_name:
            problems.append(_unknown_field(str(key), by_name))
    for field in fields:
        if field.name not in data:
            if field.required:
                problems.append(Problem(field.name, "is required", describe_type(field.type)))
            continue
        mistake = _check_field(field, data[field.name])
        if mistake is not None:
            problems.append(mistake)
    if problems:
        raise InputValidationError(model_id, problems)
    return msgspec.convert(dict(data), input_type)


def _unknown_field(key: str, by_name: Mapping[str, FieldInfo]) -> Problem:
    close = difflib.get_close_matches(key, list(by_name), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "known fields: " + ", ".join(by_name)
    return Problem(key, f"is not a field of this model; {hint}")


def _check_field(field: FieldInfo, value: Any) -> Problem | None:
    try:
        msgspec.convert(value, field.annotation)
    except msgspec.ValidationError as error:
        return Problem(
            field.name, _explain(field.type, value, str(error)), describe_type(field.type)
        )
    return None


def _explain(node: mi.Type, value: Any, fallback: str) -> str:
    """Say what is wrong with ``value`` for a field of inspected type ``node``."""
    if isinstance(node, mi.Metadata):
        return _explain(node.type, value, fallback)
    if isinstance(node, mi.UnionType):
        members = [member for member in node.types if member != mi.NoneType()]
        if len(members) == 1 and value is not None:
            return _explain(members[0], value, fallback)
        return f"got {_kind(value)} {_show(value)}"
    if isinstance(node, mi.StrType):
        if not isinstance(value, str):
            return f"must be a string, got {_kind(value)} {_show(value)}"
        if node.max_length is not None and len(value) > node.max_length:
            return f"is {len(value)} characters long"
        if node.min_length is not None and len(value) < node.min_length:
            return (
                "must not be empty" if node.min_length == 1 else f"is {len(value)} characters long"
            )
        if node.pattern is not None and not re.search(node.pattern, value):
            return f"{_show(value)} is not of the expected form"
        return fallback
    if isinstance(node, mi.LiteralType | mi.BoolType):
        return f"got {_kind(value)} {_show(value)}"
    if isinstance(node, mi.IntType | mi.FloatType):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number, got {_kind(value)} {_show(value)}"
        return f"{value} is out of range"
    return fallback.replace(" - at `$`", "")


def describe_type(node: mi.Type) -> str:
    """The documented limit of an inspected field type, in words (for errors, docs and the CLI)."""
    if isinstance(node, mi.Metadata):
        # A pattern says nothing to a person: a patterned string is described by its description.
        description = (node.extra_json_schema or {}).get("description")
        inner = node.type
        if description and isinstance(inner, mi.StrType) and inner.pattern is not None:
            return f"{description}, at most {inner.max_length} characters"
        return describe_type(inner)
    if isinstance(node, mi.UnionType):
        members = [describe_type(member) for member in node.types if member != mi.NoneType()]
        text = " or ".join(members)
        return f"{text}, or null" if len(members) < len(node.types) else text
    if isinstance(node, mi.StrType):
        return _describe_str(node)
    if isinstance(node, mi.LiteralType):
        return "one of " + ", ".join(repr(v) for v in ordered_choices(node.values))
    if isinstance(node, mi.BoolType):
        return "true or false"
    if isinstance(node, mi.IntType | mi.FloatType):
        return _describe_number(node)
    return type(node).__name__.removesuffix("Type").lower()


def _describe_str(node: mi.StrType) -> str:
    low, high = node.min_length, node.max_length
    if low and high:
        return f"a string of {low} to {high} characters"
    if high is not None:
        return f"a string of at most {high} characters"
    if low:
        return f"a string of at least {low} characters"
    return "a string"


def _describe_number(node: mi.IntType | mi.FloatType) -> str:
    kind = "an integer" if isinstance(node, mi.IntType) else "a number"
    low = node.ge if node.ge is not None else node.gt
    high = node.le if node.le is not None else node.lt
    if low is not None and high is not None:
        return f"{kind} from {low} to {high}"
    if low is not None:
        return f"{kind} {'>=' if node.ge is not None else '>'} {low}"
    if high is not None:
        return f"{kind} {'<=' if node.le is not None else '<'} {high}"
    return kind


def ordered_choices(values: Iterable[Any]) -> list[Any]:
    """Choices in the one order kieframe lists them everywhere (limits, options, JSON Schema).

    A natural order: numeric strings by number (``'5'`` before ``'10'``), then as text.
    """

    def key(value: Any) -> tuple[int, Any]:
        text = str(value)
        digits = re.match(r"\d+", text)
        return (int(digits.group()) if digits else 0, text)

    return sorted(values, key=key)


def _kind(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
    return names.get(type(value), "list" if isinstance(value, list) else type(value).__name__)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
