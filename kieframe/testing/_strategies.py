"""Hypothesis strategies derived from a model's msgspec limits and rules.

``hypothesis.strategies.from_type`` ignores ``msgspec.Meta`` constraints, and constructing a Struct
does not validate it, so the strategies here read the limits back with ``msgspec.inspect``:
:func:`valid_inputs` draws input objects inside every limit (leaning on the boundaries) that also
keep the model's cross-field rules, and :func:`invalid_inputs` draws objects that are valid but for
one fault: one value (at any depth: ``shots[2].duration``) pushed just past one limit, a required
field left out, an unknown field added, or a cross-field rule broken.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, cast

import msgspec
import msgspec.inspect as mi
from hypothesis import strategies as st

from .._errors import InputValidationError, Problem
from .._fields import STEP_KEY, URL_SCHEMES
from .._spec import ModelSpec
from .._validation import Validator, validator_for
from .._validation_walk import check_value, on_step

__all__ = ["InvalidInput", "invalid_inputs", "valid_inputs", "valid_value"]

_INT64 = (-(2**63), 2**63 - 1)
#: Strings longer than this are built by repetition, so that 20000-character limits stay cheap.
_SHORT = 64
Overrides = Mapping[str, st.SearchStrategy[Any]]
# A value with the path of the field at fault, relative to where the value goes.
Fault = st.SearchStrategy[tuple[Any, str]]


@dataclass(frozen=True, slots=True)
class InvalidInput:
    """An input with one fault: ``field`` is the field path at fault, ``why`` the limit broken.

    ``also`` names further fields a broken cross-field rule reports (most rules name one).
    """

    data: dict[str, Any]
    field: str
    why: str
    also: tuple[str, ...] = ()


def valid_value(node: mi.Type) -> st.SearchStrategy[Any]:
    """Values inside every limit of one inspected field type (nested objects and lists too)."""
    if isinstance(node, mi.Metadata):
        step = (node.extra or {}).get(STEP_KEY)
        if step is not None and isinstance(node.type, mi.IntType | mi.FloatType):
            return _on_step(node.type, step)
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
        if node.multiple_of is not None:
            return _on_step(node, node.multiple_of)
        low, high = _int_bounds(node)
        return st.one_of(st.sampled_from(sorted({low, high})), st.integers(low, high))
    if isinstance(node, mi.FloatType):
        if node.multiple_of is not None:
            return _on_step(node, node.multiple_of)
        return _valid_float(node)
    if isinstance(node, mi.StrType):
        return _valid_text(node)
    if isinstance(node, mi.ListType):
        least, most = node.min_length or 0, node.max_length
        items = valid_value(node.item_type)
        capped = min(most, least + 4) if most is not None else least + 4
        choices = [st.lists(items, min_size=least, max_size=capped)]
        if most is not None and most > capped:  # the limit itself, where off-by-one bugs live
            choices.append(st.lists(items, min_size=most, max_size=most))
        return st.one_of(choices)
    if isinstance(node, mi.StructType):
        return _valid_struct(node, {})
    if isinstance(node, mi.DictType):
        return st.dictionaries(valid_value(node.key_type), valid_value(node.value_type), max_size=3)
    if isinstance(node, mi.AnyType):
        return st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5))
    raise NotImplementedError(
        f"no strategy for {type(node).__name__}; pass one in overrides={{field: strategy}}"
    )


def _int_bounds(node: mi.IntType) -> tuple[int, int]:
    low = node.ge if node.ge is not None else (node.gt + 1 if node.gt is not None else _INT64[0])
    high = node.le if node.le is not None else (node.lt - 1 if node.lt is not None else _INT64[1])
    return low, high


def _float_bounds(node: mi.IntType | mi.FloatType) -> tuple[float | None, float | None]:
    low = node.ge if node.ge is not None else node.gt
    high = node.le if node.le is not None else node.lt
    return low, high


def _valid_float(node: mi.FloatType) -> st.SearchStrategy[float]:
    low, high = _float_bounds(node)
    exclude_min = node.ge is None and node.gt is not None
    exclude_max = node.le is None and node.lt is not None
    inner = st.floats(
        min_value=low,
        max_value=high,
        exclude_min=exclude_min,
        exclude_max=exclude_max,
        allow_nan=False,
        allow_infinity=False,
    )
    edges = [
        float(b)
        for b, out in ((low, exclude_min), (high, exclude_max))
        if b is not None and not out
    ]
    return st.one_of(st.sampled_from(edges), inner) if edges else inner


def _on_step(node: mi.IntType | mi.FloatType, step: float) -> st.SearchStrategy[Any]:
    """Multiples of ``step`` inside the bounds, in the field's own type."""
    low, high = _float_bounds(node)
    first = math.ceil(low / step) if low is not None else -1000
    last = math.floor(high / step) if high is not None else first + 1000
    integer = isinstance(node, mi.IntType)

    def build(k: int) -> Any:
        return int(k * step) if integer else _round_step(k, step)

    def inside(value: Any) -> bool:
        ok_low = (node.ge is None or value >= node.ge) and (node.gt is None or value > node.gt)
        ok_high = (node.le is None or value <= node.le) and (node.lt is None or value < node.lt)
        return ok_low and ok_high

    return st.integers(first, max(first, last)).map(build).filter(inside)


def _round_step(k: int, step: float) -> float:
    """``k * step`` as the decimal a person would write (``0.3``, not ``0.30000000000000004``)."""
    decimals = max(0, -math.floor(math.log10(step))) + 6 if step > 0 else 6
    return float(round(k * step, decimals))


def _repeat(pieces: st.SearchStrategy[str], low: int, high: int) -> st.SearchStrategy[str]:
    """Strings of ``low``..``high`` characters made by repeating a short drawn piece."""

    def build(args: tuple[str, int]) -> str:
        piece, size = args
        return (piece * (size // len(piece) + 1))[:size]

    return st.tuples(pieces, st.integers(low, high)).map(build)


def _text(low: int, high: int | None) -> st.SearchStrategy[str]:
    """Text of ``low``..``high`` characters; long sizes by repetition (no health-check trouble)."""
    choices: list[st.SearchStrategy[str]] = []
    if low <= _SHORT:
        choices.append(
            st.text(min_size=low, max_size=min(high, _SHORT) if high is not None else _SHORT)
        )
    top = high if high is not None else max(low, _SHORT) * 2
    if top > _SHORT:
        choices.append(_repeat(st.text(min_size=1, max_size=8), max(low, 1), top))
        choices.append(_repeat(st.text(min_size=1, max_size=8), top, top))
    return st.one_of(choices)


def _valid_text(node: mi.StrType) -> st.SearchStrategy[str]:
    low = node.min_length or 0
    high = node.max_length
    if node.pattern in URL_SCHEMES:
        matches = re.compile(node.pattern).search
        urls = _urls(URL_SCHEMES[node.pattern])
        if matches(""):  # an optional media field: "" is kie.ai's "none"
            urls = st.one_of(st.just(""), urls)
        return urls.filter(
            lambda text: (
                low <= len(text) <= (high if high is not None else len(text))
                and matches(text) is not None
            )
        )
    if node.pattern is not None:
        return st.from_regex(node.pattern, fullmatch=True).filter(
            lambda text: (
                low <= len(text) <= (high if high is not None else len(text)) and _printable(text)
            )
        )
    return _text(low, high)


def _urls(schemes: tuple[str, ...]) -> st.SearchStrategy[str]:
    """URLs of one of ``schemes``, drawn part by part (from a URL pattern, slow to find)."""
    label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
    name = st.builds(
        "{}.{}".format,
        st.lists(label, min_size=1, max_size=3).map(".".join),
        st.sampled_from(["com", "ai", "io", "example", "co.uk"]),
    )
    octet = st.integers(0, 255).map(str)
    ipv4 = st.lists(octet, min_size=4, max_size=4).map(".".join)
    host = st.one_of(name, ipv4, st.sampled_from(["[::1]", "[2001:db8::7]", "localhost"]))
    port = st.one_of(st.just(""), st.integers(1, 65535).map(":{}".format))
    # What a path may hold: any character but whitespace, a control character, a lone surrogate.
    char = st.characters(exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp"])
    rest = st.one_of(
        st.just(""),
        st.builds("/{}".format, st.text(char, max_size=24)),
        st.builds("/{}?{}".format, st.text(char, max_size=12), st.text(char, max_size=12)),
    )
    return st.builds("{}://{}{}{}".format, st.sampled_from(schemes), host, port, rest)


def _printable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _valid_struct(node: mi.StructType, overrides: Overrides) -> st.SearchStrategy[dict[str, Any]]:
    values = {
        field.encode_name: overrides[field.encode_name]
        if field.encode_name in overrides
        else valid_value(field.type)
        for field in node.fields
    }
    required = {f.encode_name: values[f.encode_name] for f in node.fields if f.required}
    optional = {f.encode_name: values[f.encode_name] for f in node.fields if not f.required}
    return st.fixed_dictionaries(required, optional=optional)


# ---------------------------------------------------------------------------------------------
# Faults: values just past one limit, each with the path (relative) of the field at fault.


def _at(path: str, strategy: st.SearchStrategy[Any]) -> Fault:
    return strategy.map(lambda value: (value, path))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _faults(node: mi.Type, path: str) -> list[tuple[str, Fault]]:
    """Each way to break ``node`` by one value, as (limit broken, strategy of (value, path))."""
    found: list[tuple[str, Fault]] = []
    for member in _members(node):
        if isinstance(member, mi.Metadata):  # only kept for a step
            step = float((member.extra or {})[STEP_KEY])
            found.append((f"not a multiple of {step}", _at(path, _off_step(member.type, step))))
        elif isinstance(member, mi.LiteralType):
            allowed = frozenset(member.values)
            numeric = all(isinstance(v, int) for v in allowed)
            pool = st.integers() if numeric else st.text(max_size=8)
            found.append(("not an allowed value", _at(path, pool.filter(_outside(allowed)))))
        elif isinstance(member, mi.IntType):
            low, high = _int_bounds(member)
            if low > _INT64[0]:
                found.append((f"below {low}", _at(path, st.integers(low - 1000, low - 1))))
            if high < _INT64[1]:
                found.append((f"above {high}", _at(path, st.integers(high + 1, high + 1000))))
            if member.multiple_of is not None and member.multiple_of > 1:
                found.append(("off step", _at(path, _off_step(member, member.multiple_of))))
        elif isinstance(member, mi.FloatType):
            found += [(why, _at(path, bad)) for why, bad in _float_faults(member)]
        elif isinstance(member, mi.StrType):
            found += [(why, _at(path, bad)) for why, bad in _invalid_text(member)]
        elif isinstance(member, mi.ListType):
            found += _list_faults(member, path)
        elif isinstance(member, mi.StructType):
            found += _struct_faults(member, path, {})
    wrong = _wrong_type(node)
    if wrong is not None:
        found.append(("wrong type", _at(path, wrong)))
    return found


def _members(node: mi.Type) -> list[mi.Type]:
    """The leaf types of a field type; a stepped number stays wrapped in its Metadata."""
    if isinstance(node, mi.Metadata):
        inner = _members(node.type)
        if (node.extra or {}).get(STEP_KEY) is not None:
            return [*inner, node]
        return inner
    if isinstance(node, mi.UnionType):
        return [leaf for member in node.types for leaf in _members(member)]
    return [node]


def _outside(allowed: frozenset[Any]) -> Callable[[Any], bool]:
    return lambda value: not any(type(value) is type(a) and value == a for a in allowed)


def _off_step(node: mi.Type, step: float) -> st.SearchStrategy[Any]:
    """Values inside the bounds but between two steps."""
    valid = valid_value(node) if isinstance(node, mi.IntType | mi.FloatType) else st.just(0)
    if isinstance(node, mi.IntType):
        nudge: Any = st.integers(1, max(1, int(step) - 1))
    else:
        nudge = st.sampled_from([step / 2, step / 3])

    def moved(args: tuple[Any, Any]) -> Any:
        base, by = args
        return base + by if not isinstance(node, mi.IntType) else base - by

    def inside(value: Any) -> bool:
        if not isinstance(node, mi.IntType | mi.FloatType):
            return True
        ok_low = (node.ge is None or value >= node.ge) and (node.gt is None or value > node.gt)
        ok_high = (node.le is None or value <= node.le) and (node.lt is None or value < node.lt)
        return ok_low and ok_high and not on_step(value, step)

    shifted = st.tuples(valid, nudge).map(moved)
    flipped = st.tuples(valid, nudge).map(
        lambda a: a[0] - a[1] if not isinstance(node, mi.IntType) else a[0] + a[1]
    )
    return st.one_of(shifted, flipped).filter(inside)


def _float_faults(node: mi.FloatType) -> list[tuple[str, st.SearchStrategy[Any]]]:
    found: list[tuple[str, st.SearchStrategy[Any]]] = []
    if node.ge is not None:
        below = st.one_of(
            st.just(math.nextafter(node.ge, -math.inf)),
            st.floats(
                max_value=node.ge,
                exclude_max=True,
                allow_nan=False,
                allow_infinity=False,
                min_value=node.ge - 1000,
            ),
        )
        found.append((f"below {node.ge}", below))
    if node.gt is not None:
        found.append((f"not above {node.gt}", st.just(float(node.gt))))
    if node.le is not None:
        above = st.one_of(
            st.just(math.nextafter(node.le, math.inf)),
            st.floats(
                min_value=node.le,
                exclude_min=True,
                allow_nan=False,
                allow_infinity=False,
                max_value=node.le + 1000,
            ),
        )
        found.append((f"above {node.le}", above))
    if node.lt is not None:
        found.append((f"not below {node.lt}", st.just(float(node.lt))))
    found.append(("not finite", st.sampled_from([math.nan, math.inf, -math.inf])))
    return found


def _list_faults(node: mi.ListType, path: str) -> list[tuple[str, Fault]]:
    found: list[tuple[str, Fault]] = []
    items = valid_value(node.item_type)
    low, high = node.min_length or 0, node.max_length
    if high is not None:
        found.append(
            (
                f"more than {high} items",
                _at(path, st.lists(items, min_size=high + 1, max_size=high + 2)),
            )
        )
    if low > 0:
        found.append((f"fewer than {low} items", _at(path, st.lists(items, max_size=low - 1))))
    if high is None or high >= 1:
        size_low, size_high = (
            max(low, 1),
            max(low, 1) + 2 if high is None else min(high, max(low, 1) + 2),
        )
        for why, bad in _faults(node.item_type, ""):

            def place(
                args: tuple[list[Any], int, tuple[Any, str]], why: str = why
            ) -> tuple[Any, str]:
                values, index, (value, inner) = args
                index %= len(values)
                values = [*values[:index], value, *values[index + 1 :]]
                where = f"{path}[{index}]" + (
                    inner if inner.startswith("[") else (f".{inner}" if inner else "")
                )
                return values, where

            found.append(
                (
                    f"an item {why}",
                    st.tuples(
                        st.lists(items, min_size=size_low, max_size=size_high),
                        st.integers(0, 100),
                        bad,
                    ).map(place),
                )
            )
    return found


def _struct_faults(node: mi.StructType, path: str, overrides: Overrides) -> list[tuple[str, Fault]]:
    """Faults inside an object: one field past a limit, a required one missing, an unknown one."""
    return [(why, fault) for _, why, fault in _named_faults(node, path, overrides)]


def _named_faults(
    node: mi.StructType, path: str, overrides: Overrides
) -> list[tuple[str | None, str, Fault]]:
    """:func:`_struct_faults`, each with the name of the field at fault (None: unknown field)."""
    base = _valid_struct(node, overrides)
    found: list[tuple[str | None, str, Fault]] = []
    for field in node.fields:
        name = field.encode_name
        if name in overrides:
            continue
        try:
            faults = _faults(field.type, _join(path, name))
        except NotImplementedError:
            continue
        for why, bad in faults:
            rejected = bad.filter(_rejected_by(field.type))
            found.append(
                (name, f"{_join(path, name)} {why}", st.tuples(base, rejected).map(_replace(name)))
            )
        if field.required:
            found.append(
                (name, f"{_join(path, name)} missing", base.map(_drop(name, _join(path, name))))
            )
    known = {field.encode_name for field in node.fields}
    if node.forbid_unknown_fields:
        unknown = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12).filter(
            lambda key: key not in known
        )
        found.append(
            (
                None,
                "unknown field",
                st.tuples(base, unknown, st.integers()).map(
                    lambda t: ({**t[0], t[1]: t[2]}, _join(path, t[1]))
                ),
            )
        )
    return found


def _rejected_by(node: mi.Type) -> Callable[[tuple[Any, str]], bool]:
    """Keep a fault only if the field's type really refuses it (a union may take it otherwise)."""

    def test(found: tuple[Any, str]) -> bool:
        problems: list[Problem] = []
        check_value(node, found[0], "", problems)
        return bool(problems)

    return test


def _replace(name: str) -> Callable[[tuple[dict[str, Any], tuple[Any, str]]], tuple[Any, str]]:
    def build(args: tuple[dict[str, Any], tuple[Any, str]]) -> tuple[Any, str]:
        data, (value, where) = args
        return {**data, name: value}, where

    return build


def _drop(name: str, where: str) -> Callable[[dict[str, Any]], tuple[Any, str]]:
    def build(data: dict[str, Any]) -> tuple[Any, str]:
        return {key: value for key, value in data.items() if key != name}, where

    return build


# One strategy per JSON kind, and the inspected types that accept that kind.
_KINDS: dict[str, tuple[st.SearchStrategy[Any], tuple[type[mi.Type], ...]]] = {
    "string": (st.text(max_size=5), (mi.StrType,)),
    "integer": (st.integers(), (mi.IntType, mi.FloatType)),
    "number": (st.just(1.5), (mi.FloatType,)),
    "boolean": (st.booleans(), (mi.BoolType,)),
    "list": (st.lists(st.integers(), max_size=2), (mi.ListType,)),
    "object": (st.just({"x": 1}), (mi.StructType, mi.DictType)),
}


def _accepts(member: mi.Type, kind: str) -> bool:
    if isinstance(member, mi.LiteralType):
        python_type = {"string": str, "integer": int}.get(kind)
        return python_type is not None and any(type(v) is python_type for v in member.values)
    if isinstance(member, mi.AnyType):
        return True
    return isinstance(member, _KINDS[kind][1])


def _wrong_type(node: mi.Type) -> st.SearchStrategy[Any] | None:
    members = [m for m in _members(node) if not isinstance(m, mi.Metadata)]
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
        found.append((f"longer than {node.max_length}", _text(past, past + 50)))
    if node.min_length:
        found.append((f"shorter than {node.min_length}", _text(0, node.min_length - 1)))
    if node.pattern is not None:
        matches = re.compile(node.pattern).search
        limit = node.max_length if node.max_length is not None else 10_000
        text = st.text(alphabet=string.printable, max_size=min(limit, 60))
        found.append((f"not matching {node.pattern}", text.filter(lambda t: not matches(t))))
    return found


# ---------------------------------------------------------------------------------------------
# Whole inputs.


def _rule_problems(spec: ModelSpec[Any], data: dict[str, Any]) -> list[Problem] | None:
    """The problems the spec's rules find in ``data``; None if a field is already invalid."""
    try:
        value = spec_validator(spec)(data, model_id=spec.id)
    except InputValidationError:
        return None
    return [problem for rule in spec.rules for problem in rule(value)]


def valid_inputs(
    spec: ModelSpec[Any], *, overrides: Overrides | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Input objects for ``spec`` inside every documented limit, keeping its cross-field rules.

    Required fields are always present, optional ones sometimes. ``overrides`` maps a field name
    to a strategy, for field types these strategies cannot derive.
    """
    node = mi.type_info(spec.input_type)
    assert isinstance(node, mi.StructType)
    base = _valid_struct(node, overrides or {})
    if not spec.rules:
        return base
    return base.filter(lambda data: _rule_problems(spec, data) == [])


def invalid_inputs(
    spec: ModelSpec[Any],
    *,
    overrides: Overrides | None = None,
    fields: Collection[str] | None = None,
) -> st.SearchStrategy[InvalidInput]:
    """Input objects that are valid except for one fault.

    The cases, each drawn from a valid base: a value just past a limit, at any depth (too long,
    too short, out of range, off step, not finite, not an allowed value, not of the pattern, of
    the wrong type, too many or too few items); a required field left out; an unknown field
    added; a cross-field rule broken. ``fields`` restricts the faults to those top-level fields
    (and leaves out the unknown-field and rule cases).
    """
    node = mi.type_info(spec.input_type)
    assert isinstance(node, mi.StructType)
    cases: list[st.SearchStrategy[InvalidInput]] = []
    for name, why, fault in _named_faults(node, "", overrides or {}):
        if fields is not None and (name is None or name not in fields):
            continue
        cases.append(fault.map(_invalid_case(why)))
    if spec.rules and fields is None:
        base = _valid_struct(node, overrides or {})
        cases.append(
            base.map(lambda data: (data, _rule_problems(spec, data)))
            .filter(lambda pair: bool(pair[1]))
            .map(_rule_case)
        )
    if not cases:
        raise ValueError(f"{spec.id}: no field to break among {sorted(fields or ())}")
    return st.one_of(cases)


def _invalid_case(why: str) -> Callable[[tuple[Any, str]], InvalidInput]:
    return lambda found: InvalidInput(found[0], found[1], why)


def spec_validator(spec: ModelSpec[Any]) -> Validator:
    """The field validation of a spec's input type (its own ``validate`` may be overridden)."""
    return validator_for(cast("type[msgspec.Struct]", spec.input_type))


def _rule_case(pair: tuple[dict[str, Any], list[Problem] | None]) -> InvalidInput:
    data, problems = pair
    assert problems
    first, *rest = problems
    return InvalidInput(data, first.field, f"breaks a rule: {first}", tuple(p.field for p in rest))
