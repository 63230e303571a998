"""The walk: every problem of a value against its inspected type, with field path and limit.

It never raises on what the value holds (objects, bytes, lone surrogates, enormous integers, NaN);
only a value nested deeper than Python recurses raises ``RecursionError``, which its callers word.
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import msgspec.inspect as mi
import msgspec.structs

from ._errors import Problem
from ._fields import STEP_KEY, media_limits
from ._plural import counted
from ._validation_describe import describe_type, described, encodable, kind_of, safe, show

__all__ = ["check_value", "field_check", "on_step", "str_message", "unknown_field"]

#: Sets a field of a frozen Struct (a Problem made a moment ago, seen by nothing else yet).
_force_setattr = msgspec.structs.force_setattr


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def check_value(node: mi.Type, value: Any, path: str, problems: list[Problem]) -> None:
    """Append the problems of ``value`` for inspected type ``node`` at ``path``."""
    before = len(problems)
    check = _CHECKS.get(type(node))  # _check_node, one call less (the walk's hot spot)
    if check is not None:
        check(node, value, path, problems)
    else:
        _check_node(node, value, path, problems)
    if len(problems) > before:
        last = problems[-1]
        if not last.limit and last.field == (path or "input"):
            # Made by this walk a moment ago and seen by nothing else yet: filled in, not copied.
            _force_setattr(last, "limit", described(node))


def _check_node(node: mi.Type, value: Any, path: str, problems: list[Problem]) -> None:
    check = _CHECKS.get(type(node))
    if check is not None:
        check(node, value, path, problems)
    elif not isinstance(node, mi.AnyType):
        _check_other(node, value, path or "input", problems)


def _check_metadata(node: mi.Metadata, value: Any, path: str, problems: list[Problem]) -> None:
    before = len(problems)
    inner = node.type
    check = _CHECKS.get(type(inner))
    if check is not None:
        check(inner, value, path, problems)
    else:
        _check_node(inner, value, path, problems)
    if len(problems) > before and isinstance(inner, mi.StrType) and media_limits(node) is not None:
        last = problems[-1]
        problems[-1] = Problem(last.field, as_local_file(inner, value, last.message), last.limit)
    step = node.extra.get(STEP_KEY) if node.extra else None
    if len(problems) == before and step is not None and not on_step(value, step):
        problems.append(Problem(path or "input", f"{show(value)} is not a multiple of {step}"))


def _check_list(
    node: mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType,
    value: Any,
    path: str,
    problems: list[Problem],
) -> None:
    where = path or "input"
    if not isinstance(value, list | tuple):
        problems.append(Problem(where, f"must be a list, got {kind_of(value)} {show(value)}"))
        return
    low, high = node.min_length, node.max_length
    if (low is not None and len(value) < low) or (high is not None and len(value) > high):
        problems.append(Problem(where, f"has {counted(len(value), 'item')}"))
    for index, item in enumerate(value):
        check_value(node.item_type, item, f"{path}[{index}]", problems)


def _check_literal(node: mi.LiteralType, value: Any, path: str, problems: list[Problem]) -> None:
    if not any(type(value) is type(allowed) and value == allowed for allowed in node.values):
        problems.append(Problem(path or "input", f"got {kind_of(value)} {show(value)}"))


def _check_bool(node: mi.BoolType, value: Any, path: str, problems: list[Problem]) -> None:
    if not isinstance(value, bool):
        problems.append(Problem(path or "input", f"got {kind_of(value)} {show(value)}"))


def _check_none(node: mi.NoneType, value: Any, path: str, problems: list[Problem]) -> None:
    if value is not None:
        problems.append(
            Problem(path or "input", f"must be null, got {kind_of(value)} {show(value)}")
        )


def _check_dict(node: mi.DictType, value: Any, path: str, problems: list[Problem]) -> None:
    where = path or "input"
    if not isinstance(value, dict):
        problems.append(Problem(where, f"must be an object, got {kind_of(value)} {show(value)}"))
        return
    for key, item in value.items():
        check_value(node.key_type, key, where, problems)
        check_value(node.value_type, item, f"{path}[{show(key)}]", problems)


def _check_other(node: mi.Type, value: Any, where: str, problems: list[Problem]) -> None:
    """Types the walk does not know itself (enums, dates...): ask msgspec about the value alone."""
    python_type = getattr(node, "cls", None)
    if python_type is None:
        return
    try:
        msgspec.convert(value, python_type)
    except Exception:
        problems.append(Problem(where, f"got {kind_of(value)} {show(value)}"))


def _check_union(node: mi.UnionType, value: Any, path: str, problems: list[Problem]) -> None:
    members = [member for member in node.types if member != mi.NoneType()]
    if value is None and len(members) < len(node.types):
        return
    attempts: list[list[Problem]] = []
    for member in members:
        found: list[Problem] = []
        check_value(member, value, path, found)
        if not found:
            return
        attempts.append(found)
    fitting = [
        found for member, found in zip(members, attempts, strict=True) if _same_kind(member, value)
    ]
    if len(members) == 1 or len(fitting) == 1:
        problems.extend(fitting[0] if fitting else attempts[0])
    else:
        problems.append(Problem(path or "input", f"got {kind_of(value)} {show(value)}"))


def _same_kind(node: mi.Type, value: Any) -> bool:
    while isinstance(node, mi.Metadata):
        node = node.type
    kinds: dict[type[mi.Type], Callable[[Any], bool]] = {
        mi.StrType: lambda v: isinstance(v, str),
        mi.StructType: lambda v: isinstance(v, dict),
        mi.ListType: lambda v: isinstance(v, list | tuple),
        mi.BoolType: lambda v: isinstance(v, bool),
        mi.IntType: lambda v: isinstance(v, int) and not isinstance(v, bool),
        mi.FloatType: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    }
    if isinstance(node, mi.LiteralType):
        return any(type(v) is type(value) for v in node.values)
    test = kinds.get(type(node))
    return test is not None and test(value)


def _check_struct(node: mi.StructType, value: Any, path: str, problems: list[Problem]) -> None:
    where = path or "input"
    if not isinstance(value, dict):
        problems.append(
            Problem(where, f"must be an object of fields, got {kind_of(value)} {show(value)}")
        )
        return
    by_name = {field.encode_name: field for field in node.fields}
    for key in value:
        if not isinstance(key, str):
            problems.append(Problem(where, f"has a field name that is not a string: {show(key)}"))
        elif key not in by_name and node.forbid_unknown_fields:
            problems.append(unknown_field(_join(path, safe(key)), key, by_name))
    for field in node.fields:
        name = _join(path, field.encode_name)
        if field.encode_name not in value:
            if field.required:
                problems.append(Problem(name, "is required", describe_type(field.type)))
            continue
        check_value(field.type, value[field.encode_name], name, problems)


def unknown_field(where: str, key: str, by_name: Mapping[str, Any]) -> Problem:
    close = difflib.get_close_matches(key, list(by_name), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "known fields: " + ", ".join(by_name)
    return Problem(where, f"is not a field of this model; {hint}")


def _check_str(node: mi.StrType, value: Any, path: str, problems: list[Problem]) -> None:
    message = str_message(node, value)
    if message is not None:
        problems.append(Problem(path or "input", message))


def str_message(node: mi.StrType, value: Any) -> str | None:
    """What is wrong with ``value`` for a string type, or None if nothing is."""
    if not isinstance(value, str):
        return f"must be a string, got {kind_of(value)} {show(value)}"
    if not (value.isascii() or encodable(value)):
        return "holds a lone surrogate, which cannot be sent as UTF-8"
    if node.max_length is not None and len(value) > node.max_length:
        return f"is {len(value)} characters long"
    if node.min_length is not None and len(value) < node.min_length:
        return "must not be empty" if node.min_length == 1 else f"is {len(value)} characters long"
    if node.pattern is not None and not re.search(node.pattern, value):
        return f"{show(value)} does not match the pattern {node.pattern}"
    return None


def as_local_file(node: mi.StrType, value: Any, message: str) -> str:
    """A media field's ``message`` for a str without a scheme: it is sent as a URL, not read."""
    if not isinstance(value, str) or "://" in value or node.pattern is None:
        return message
    if message != f"{show(value)} does not match the pattern {node.pattern}":
        return message
    if value[:5].lower() == "data:":
        return (
            "a data URL is not a URL kie.ai fetches: save it to a file and pass "
            "pathlib.Path(...) to upload it"
        )
    if not _LOCAL.match(value) and not os.path.exists(value):  # a host without a scheme
        return f"{show(value)} is not a URL: it needs its scheme (https://...)"
    return (
        f"{show(value)} is not a URL: a str is a URL; pass pathlib.Path({show(value)}) to upload "
        "a local file"
    )


#: What reads as a local path: ./ ../ / ~ or a drive, else a first part with no dot before a
#: slash (``images/cat.png``), or one name with a file's extension (``cat.png``).
_LOCAL = re.compile(r"(?:\.{0,2}[/\\]|~|[A-Za-z]:[/\\]|[^./\\:]+[/\\]|[^/\\:]+\.[A-Za-z0-9]{1,5}$)")


def field_check(node: mi.Type) -> Callable[[Any, str, list[Problem]], None]:
    """:func:`check_value` for one field's type, compiled once.

    A string (the field that is most often wrong: a prompt too long) is checked without the
    walk's dispatch, its limit worded in advance; any other type is walked.
    """
    inner = node.type if isinstance(node, mi.Metadata) and not _step(node) else node
    if not isinstance(inner, mi.StrType):
        return functools.partial(check_value, node)
    limit = described(node)  # what check_value fills in for a problem found at the field
    media = inner is not node and media_limits(node) is not None

    def check(value: Any, path: str, problems: list[Problem]) -> None:
        message = str_message(inner, value)
        if message is not None:
            if media:
                message = as_local_file(inner, value, message)
            problems.append(Problem(path or "input", message, limit))

    return check


def _step(node: mi.Metadata) -> bool:
    return bool(node.extra) and STEP_KEY in (node.extra or {})


def _check_number(
    node: mi.IntType | mi.FloatType, value: Any, path: str, problems: list[Problem]
) -> None:
    where = path or "input"
    integer = isinstance(node, mi.IntType)
    accepted = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, accepted):
        kind = "an integer" if integer else "a number"
        problems.append(Problem(where, f"must be {kind}, got {kind_of(value)} {show(value)}"))
        return
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(Problem(where, f"{value} cannot be sent as JSON"))
        return
    if integer and not -(2**63) <= value < 2**63:
        problems.append(Problem(where, f"{show(value)} is too large for kie.ai"))
        return
    low_ok = (node.ge is None or value >= node.ge) and (node.gt is None or value > node.gt)
    high_ok = (node.le is None or value <= node.le) and (node.lt is None or value < node.lt)
    if not (low_ok and high_ok):
        problems.append(Problem(where, f"{show(value)} is out of range"))
    elif node.multiple_of is not None and not on_step(value, node.multiple_of):
        problems.append(Problem(where, f"{show(value)} is not a multiple of {node.multiple_of}"))


# The walk's check of each inspected type (by exact type: a lookup, not a chain of isinstance).
_CHECKS: dict[type[mi.Type], Callable[[Any, Any, str, list[Problem]], None]] = {
    mi.Metadata: _check_metadata,
    mi.UnionType: _check_union,
    mi.StructType: _check_struct,
    mi.ListType: _check_list,
    mi.SetType: _check_list,
    mi.FrozenSetType: _check_list,
    mi.VarTupleType: _check_list,
    mi.StrType: _check_str,
    mi.LiteralType: _check_literal,
    mi.BoolType: _check_bool,
    mi.NoneType: _check_none,
    mi.IntType: _check_number,
    mi.FloatType: _check_number,
    mi.DictType: _check_dict,
}


def on_step(value: Any, step: float) -> bool:
    """Whether a number is a multiple of ``step``, within float rounding (0.3 is 3 times 0.1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or step <= 0:
        return True
    if isinstance(value, int) and isinstance(step, int):
        return value % step == 0
    quotient = value / step
    return abs(quotient - round(quotient)) <= 1e-9 * max(1.0, abs(quotient))
