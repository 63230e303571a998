"""What an input Struct's inspected type holds: its fields and limits, and tests over its nodes.

Read once per input type with ``msgspec.inspect`` (and cached): the validator compiles its checks
from these, the CLI and the docs describe fields with them.
"""

from __future__ import annotations

import functools
import itertools
import math
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
import msgspec.inspect as mi

from ._fields import STEP_KEY

__all__ = [
    "EXACT",
    "WHOLE_NUMBERS",
    "FieldInfo",
    "children",
    "has",
    "has_step",
    "holds_object",
    "input_fields",
    "is_nested",
    "kie_ints",
    "lenient_twin",
    "needs_own_check",
    "not_plain_json",
    "sending_twin",
    "struct_attributes",
    "unbounded_int",
    "whole",
    "whole_numbers",
]

#: The whole numbers a float holds exactly.
EXACT = 2**53

#: The attribute marking a Struct's ``__post_init__`` that does nothing but keep whole numbers
#: ints in its number fields (a compiled catalogue Struct's): the names of those fields and of
#: its lists of numbers, ``(numbers, lists)``.
WHOLE_NUMBERS = "kieframe_whole_numbers"


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
            default=_default(field),
        )
        for field in info.fields
    )


@functools.cache
def struct_attributes(cls: type[msgspec.Struct]) -> dict[str, str]:
    """A Struct type's attribute names by the names kie.ai uses (its encode names).

    Cached: ``msgspec.structs.fields`` evaluates every annotation on each call.
    """
    return dict(zip(cls.__struct_encode_fields__, cls.__struct_fields__, strict=True))


def _default(field: mi.Field) -> Any:
    if field.default is not msgspec.NODEFAULT:
        return field.default
    if field.default_factory is not msgspec.NODEFAULT:
        return field.default_factory()
    return None


def lenient_twin(
    input_type: type[msgspec.Struct], node: mi.StructType
) -> type[msgspec.Struct] | None:
    """The Struct with every field optional (its default, never checked, is None).

    It encodes leaving None out: with the input's values in it, it is the input as sent. None
    if a field that may not be None defaults to None (that None is sent).
    """
    if any(f.default is None and not has(f.type, _is_none) for f in node.fields):
        return None
    hints = typing.get_type_hints(input_type, include_extras=True)
    try:
        return msgspec.defstruct(
            f"Lenient{input_type.__name__}",
            [(field.name, hints[field.name], None) for field in node.fields],
            rename={f.name: f.encode_name for f in node.fields},
            forbid_unknown_fields=node.forbid_unknown_fields,
            omit_defaults=True,
        )
    except Exception:
        return None


def whole(value: Any) -> Any:
    """``value`` as an int if it is a float holding a whole number (exactly), else as it is."""
    if type(value) is float and value.is_integer() and -EXACT <= value <= EXACT:
        return int(value)
    return value


def whole_numbers(input_type: type[msgspec.Struct]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The number fields, and the lists of numbers, whose whole values ``input_type`` makes ints.

    Empty unless its ``__post_init__`` is marked as doing that and nothing else.
    """
    marked = getattr(getattr(input_type, "__post_init__", None), WHOLE_NUMBERS, None)
    return marked if marked is not None else ((), ())


#: The defaults a sending twin gives as they are (immutable: one object serves every input).
_IMMUTABLE = (str, int, float, bool)


def sending_twin(
    input_type: type[msgspec.Struct], node: mi.StructType
) -> type[msgspec.Struct] | None:
    """The Struct that converts an input straight into what is sent: unset (None) fields left out.

    The same fields, limits and names as ``input_type``; it encodes leaving out a field that is
    None, and sends every other default (a default made by a factory is never left out). None
    (the input is converted to ``input_type`` then) if a field's default is neither None nor an
    immutable value, if a field that may be None is required or has another default (a None
    given there would be sent), if a field that may not be None defaults to None (that None is
    sent), or if the Struct checks more than its fields (``__post_init__``). A number field
    whose whole values the ``__post_init__`` makes ints (:func:`whole_numbers`, and nothing
    else) takes an int as an int instead (``int | float``); a whole float given there is
    still a float (the caller converts that input to ``input_type``).
    """
    numbers = frozenset(itertools.chain(*whole_numbers(input_type)))
    if hasattr(input_type, "__post_init__") and not numbers:
        return None
    hints = {
        name: kie_ints(hint)  # an int without a bound: up to what kie.ai takes
        for name, hint in typing.get_type_hints(input_type, include_extras=True).items()
    }
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    try:
        for field in node.fields:
            hint, default = hints[field.name], field.default
            if field.name in numbers:
                hint, default = _int_or_float(hint), whole(default)
            nullable = has(field.type, _is_none)
            if field.required and not nullable:
                fields.append((field.name, hint))
            elif default is None and nullable and not field.required:
                fields.append((field.name, hint, None))
            elif type(default) in _IMMUTABLE and not has(field.type, _is_none):
                made = msgspec.field(default_factory=itertools.repeat(default).__next__)
                fields.append((field.name, hint, made))
            else:
                return None
        return msgspec.defstruct(
            f"Sent{input_type.__name__}",
            fields,
            kw_only=True,
            rename={f.name: f.encode_name for f in node.fields},
            forbid_unknown_fields=node.forbid_unknown_fields,
            omit_defaults=True,
        )
    except Exception:
        return None


class _NoTwin(Exception):
    """A number no int-or-float annotation can take as its Struct does."""


def _int_or_float(annotation: Any) -> Any:
    """``annotation`` with each float in it an int or a float, with the same limits.

    msgspec converts ``8`` to ``8.0`` for a float, but keeps it an int for ``int | float``: the
    int takes the same whole numbers as the float (bounds made whole: ``ge=0.5`` is ``ge=1``).
    Raises if it cannot: an int may take only whole numbers a float holds exactly (beyond them
    msgspec rounds an int to a float), and an exact step (``multiple_of``) is not made whole
    (a compiled number has none: its step is kieframe's, checked on the input given).
    """
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is float:
        return _bounded_int_or_float(float, ())
    if origin is Annotated:
        if args[0] is float:
            return _bounded_int_or_float(annotation, args[1:])
        return Annotated[(_int_or_float(args[0]), *args[1:])]
    if origin is typing.Union or origin is types.UnionType:
        return typing.Union[tuple(_int_or_float(arg) for arg in args)]  # noqa: UP007
    if origin is list:
        return list[_int_or_float(args[0])]  # type: ignore[misc]
    return annotation


def _bounded_int_or_float(annotation: Any, metadata: tuple[Any, ...]) -> Any:
    """A float's ``annotation`` (with its ``metadata``) or an int with the same whole numbers."""
    low, high = -math.inf, math.inf
    for meta in metadata:
        if not isinstance(meta, msgspec.Meta):
            continue
        if meta.multiple_of is not None:
            raise _NoTwin(annotation)
        if meta.ge is not None:
            low = max(low, math.ceil(meta.ge))
        if meta.gt is not None:
            low = max(low, math.floor(meta.gt) + 1)
        if meta.le is not None:
            high = min(high, math.floor(meta.le))
        if meta.lt is not None:
            high = min(high, math.ceil(meta.lt) - 1)
    if low <= -EXACT or high >= EXACT:
        raise _NoTwin(annotation)
    if low > high:  # no whole number fits: an int is refused as a float is
        return annotation
    return Annotated[int, msgspec.Meta(ge=low, le=high)] | annotation


#: The integers kie.ai takes (64-bit): the bounds of an int field given none (and msgspec's most).
_KIE_LOW, _KIE_HIGH = -(2**63), 2**63 - 1


def unbounded_int(node: mi.Type) -> bool:
    """An int with a side that has no bound (msgspec would take any integer there)."""
    return isinstance(node, mi.IntType) and (
        (node.ge is None and node.gt is None) or (node.le is None and node.lt is None)
    )


def kie_ints(annotation: Any) -> Any:
    """``annotation`` with each int in it (in unions and lists too) bounded to what kie.ai takes.

    A side already bounded keeps its bound; nested Structs are not looked into.
    """
    if annotation is int:
        return Annotated[int, msgspec.Meta(ge=_KIE_LOW, le=_KIE_HIGH)]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        if args[0] is not int:
            inner = kie_ints(args[0])
            return annotation if inner is args[0] else Annotated[(inner, *args[1:])]
        node = mi.type_info(annotation)
        while isinstance(node, mi.Metadata):  # a description, a default for the schema...
            node = node.type
        assert isinstance(node, mi.IntType)
        low = _KIE_LOW if node.ge is None and node.gt is None else None
        high = _KIE_HIGH if node.le is None and node.lt is None else None
        if low is None and high is None:
            return annotation
        return Annotated[annotation, msgspec.Meta(ge=low, le=high)]
    if origin is list and args:
        inner = kie_ints(args[0])
        return annotation if inner is args[0] else list[inner]  # type: ignore[valid-type]
    if origin is typing.Union or origin is types.UnionType:
        members = tuple(kie_ints(arg) for arg in args)
        if all(new is old for new, old in zip(members, args, strict=True)):
            return annotation
        return typing.Union[members]  # noqa: UP007 - a union of types made at run time
    return annotation


def _is_none(node: mi.Type) -> bool:
    return isinstance(node, mi.NoneType)


def holds_object(node: mi.Type) -> bool:
    return isinstance(node, mi.StructType | mi.DictType | mi.AnyType)


def not_plain_json(node: mi.Type) -> bool:
    """Whether a converted value of ``node`` may hold more than JSON's values (Any, bytes...)."""
    if isinstance(node, mi.DictType):
        return not isinstance(node.key_type, mi.StrType | mi.Metadata)
    return not isinstance(node, _PLAIN_JSON)


_PLAIN_JSON = (
    mi.Metadata,
    mi.UnionType,
    mi.StrType,
    mi.IntType,
    mi.FloatType,
    mi.BoolType,
    mi.NoneType,
    mi.LiteralType,
    mi.ListType,
    mi.StructType,
)


def needs_own_check(node: mi.Type) -> bool:
    """A float msgspec may pass NaN or infinity through, or a number with a decimal step.

    A float bounded on both sides is not one: msgspec refuses NaN and infinity for it.
    """
    if isinstance(node, mi.FloatType):
        return (node.ge is None and node.gt is None) or (node.le is None and node.lt is None)
    return has_step(node)


def has_step(node: mi.Type) -> bool:
    return isinstance(node, mi.Metadata) and bool(node.extra) and STEP_KEY in (node.extra or {})


def is_nested(node: mi.Type) -> bool:
    return not isinstance(
        node,
        mi.Metadata
        | mi.UnionType
        | mi.StrType
        | mi.IntType
        | mi.FloatType
        | mi.BoolType
        | mi.NoneType
        | mi.LiteralType,
    )


def has(
    node: mi.Type,
    test: Callable[[mi.Type], bool],
    seen: set[int] | None = None,
    *,
    skip_root: bool = False,
) -> bool:
    seen = set() if seen is None else seen
    if not skip_root and test(node):
        return True
    if isinstance(node, mi.StructType):
        if id(node.cls) in seen:
            return False
        seen.add(id(node.cls))
        return any(has(field.type, test, seen) for field in node.fields)
    return any(has(child, test, seen) for child in children(node))


def children(node: mi.Type) -> Iterable[mi.Type]:
    if isinstance(node, mi.Metadata):
        return (node.type,)
    if isinstance(node, mi.UnionType):
        return node.types
    if isinstance(node, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        return (node.item_type,)
    if isinstance(node, mi.TupleType):
        return node.item_types
    if isinstance(node, mi.DictType):
        return (node.key_type, node.value_type)
    return ()
