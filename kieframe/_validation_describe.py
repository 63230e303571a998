"""Limits and values in words: how problems, ``kieframe describe`` and the docs say them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec.inspect as mi

from ._fields import STEP_KEY, by_node

__all__ = [
    "describe_type",
    "described",
    "encodable",
    "kind_of",
    "ordered_choices",
    "safe",
    "show",
]


def describe_type(node: mi.Type) -> str:
    """The documented limit of an inspected field type, in words (for errors, docs and the CLI)."""
    if isinstance(node, mi.Metadata):
        # A pattern says nothing to a person: a patterned string is described by its description.
        description = (node.extra_json_schema or {}).get("description")
        inner = node.type
        step = (node.extra or {}).get(STEP_KEY)
        if description and isinstance(inner, mi.StrType) and inner.pattern is not None:
            if inner.max_length is None:
                return str(description)
            return f"{description}, at most {inner.max_length} characters"
        text = describe_type(inner)
        return f"{text}, in steps of {step}" if step is not None else text
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
    if isinstance(node, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        return _describe_list(node)
    if isinstance(node, mi.StructType):
        return "an object with " + ", ".join(field.encode_name for field in node.fields)
    return type(node).__name__.removesuffix("Type").lower()


# describe_type of the nodes problems were found at.
described = by_node(describe_type)


def _describe_list(node: mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType) -> str:
    low, high = node.min_length, node.max_length
    if low and high is not None:
        count = f"{low} to {high}" if low != high else f"exactly {low}"
    elif high is not None:
        count = f"at most {high}"
    elif low:
        count = f"at least {low}"
    else:
        count = "any number of"
    return f"a list of {count} items, each {describe_type(node.item_type)}"


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
        left = "from" if node.ge is not None else "above"
        right = "to" if node.le is not None else "and below"
        text = f"{kind} {left} {low} {right} {high}"
    elif low is not None:
        text = f"{kind} {'>=' if node.ge is not None else '>'} {low}"
    elif high is not None:
        text = f"{kind} {'<=' if node.le is not None else '<'} {high}"
    else:
        text = kind
    return f"{text}, in steps of {node.multiple_of}" if node.multiple_of is not None else text


_DIGITS = re.compile(r"\d+")


def ordered_choices(values: Iterable[Any]) -> list[Any]:
    """Choices in the one order kieframe lists them everywhere (limits, options, JSON Schema).

    A natural order: numeric strings by number (``'5'`` before ``'10'``), then as text.
    """

    def key(value: Any) -> tuple[int, Any]:
        text = str(value)
        digits = _DIGITS.match(text)
        return (int(digits.group()) if digits else 0, text)

    return sorted(values, key=key)


def kind_of(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
    found = names.get(type(value))
    if found is not None:
        return found
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    return safe(type(value).__name__)


def show(value: Any) -> str:
    """A short, always printable rendering of any value (never raises, never recurses deeply)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > 128:
            return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
        return repr(value)
    if isinstance(value, float | str | bytes):
        text = repr(value[:60] if isinstance(value, str | bytes) else value)
    elif isinstance(value, list | tuple):
        text = f"[{len(value)} items]" if value else "[]"
    elif isinstance(value, dict):
        text = f"{{{len(value)} fields}}" if value else "{}"
    else:
        text = f"<{kind_of(value)}>"
    return text if len(text) <= 40 else text[:37] + "..."


def safe(text: str) -> str:
    """``text`` if it prints as UTF-8, else its escaped ``repr`` (a key may hold a surrogate)."""
    return text if encodable(text) else repr(text)[1:-1]


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
