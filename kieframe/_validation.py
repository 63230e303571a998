"""Validate a model input against its msgspec Struct, reporting every problem at once.

The happy path is one ``msgspec.convert`` of the whole input (plus a JSON encode, which proves the
request body can be sent). Only when that fails is the input walked field by field, against the
limits read back with ``msgspec.inspect``, to word every problem with its field path
(``multi_prompt[2].duration``) and its limit. The walk never raises: whatever the input holds
(objects, bytes, lone surrogates, 1000-deep nesting, enormous integers, NaN), it ends in
:class:`~kieframe.InputValidationError`.
"""

from __future__ import annotations

import difflib
import functools
import math
import operator
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

from ._errors import InputValidationError, Problem
from ._fields import STEP_KEY, by_node

__all__ = [
    "FieldInfo",
    "Validator",
    "check_value",
    "describe_type",
    "input_fields",
    "ordered_choices",
    "struct_attributes",
    "validator_for",
    "without_nulls",
]


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


S = TypeVar("S", bound=msgspec.Struct)

_ENCODE = msgspec.json.Encoder().encode
_asdict = msgspec.structs.asdict
_astuple = msgspec.structs.astuple
_convert = msgspec.convert


class Validator:
    """The validation of one input Struct type: one msgspec pass, explained only on failure.

    The explanation tests each field with a quick check compiled from its limits (a string's
    length and pattern, a number's range, a choice...) and walks only the fields that fail it,
    to word each problem with its limit. A field the walk finds nothing wrong with is left to
    msgspec (a *lenient* twin of the Struct, every field optional) to name what it refused.
    """

    __slots__ = (
        "_checks_after",
        "_envelope",
        "_fields",
        "_flat",
        "_lenient",
        "_node",
        "_nullable",
        "_order",
        "_quick",
        "_required",
        "_stepped",
        "_unset",
        "input_type",
        "plain_json",
    )

    def __init__(self, input_type: type[msgspec.Struct]) -> None:
        self.input_type = input_type
        node = mi.type_info(input_type)
        assert isinstance(node, mi.StructType)
        self._node = node
        # msgspec lets NaN or infinity through a float open on a side, and has no decimal steps:
        # the fields that hold such a number are walked after msgspec passed them.
        self._checks_after = tuple(
            field.encode_name for field in node.fields if _has(field.type, _needs_own_check)
        )
        self._stepped = frozenset(
            field.encode_name for field in node.fields if _has(field.type, _has_step)
        )
        self._fields = {field.encode_name: field for field in node.fields}
        self._order = {name: index for index, name in enumerate(self._fields)}
        self._required = tuple(field.encode_name for field in node.fields if field.required)
        self._lenient = _lenient_twin(input_type, node)
        # A quick test per field that a value certainly passes (None where there is none): the
        # explanation walks only the fields that fail it.
        self._quick = {field.encode_name: _quick_test(field.type) for field in node.fields}
        #: Whether a converted input holds JSON values only (no Any, bytes, dates...), so that
        #: its body encodes the same with msgspec as with the json module.
        self.plain_json = not _has(node, _not_plain_json, skip_root=True)
        # Without objects inside it, an input is sent inside a Struct of the whole request: one
        # encode, no dict on the way. As it is if no optional field is unset, else as its
        # lenient twin (which leaves None out).
        config = input_type.__struct_config__  # encoded otherwise than as a plain object
        self._envelope = (
            None
            if self._lenient is None
            or config.omit_defaults
            or config.array_like
            or config.tag is not None
            or _has(node, _holds_object, skip_root=True)
            else (_request_envelope(input_type), _request_envelope(self._lenient))
        )
        # A Struct of plain values dumps with a shallow asdict; only nullable fields may be None.
        self._flat = not _has(node, _is_nested, skip_root=True) and all(
            field.name == field.encode_name for field in node.fields
        )
        self._nullable = tuple(
            field.name
            for field in node.fields
            if _has(field.type, lambda n: isinstance(n, mi.NoneType | mi.AnyType))
        )
        self._unset = _any_none(self._nullable)

    def __call__(self, data: Any, *, model_id: str) -> Any:
        """Return ``data`` as the input Struct, or raise one error listing every problem."""
        try:
            plain = data if type(data) is dict else _plain(data)
            value = _convert(plain, self.input_type)
            _ENCODE(value)  # lone surrogates pass convert but cannot be sent
        except Exception:  # a ValidationError, or msgspec choking (a lone surrogate...)
            raise InputValidationError(model_id, self.explain(data)) from None
        if self._checks_after:
            self.check_after(plain, model_id=model_id)
        return value

    def check_after(self, plain: Mapping[str, Any], *, model_id: str) -> None:
        """Raise for what msgspec let through: NaN or infinity, a number off its decimal step.

        ``plain`` is the input object msgspec just converted.
        """
        if not self._checks_after:
            return
        for name in self._checks_after:
            value = plain.get(name)
            if value is not None and (name in self._stepped or not _finite_or_none(value)):
                break
        else:
            return  # nothing but finite numbers where no step applies: msgspec checked them
        problems = self._walk_fields(plain, self._checks_after)
        if problems:
            raise InputValidationError(model_id, problems)

    def dump(self, value: msgspec.Struct) -> dict[str, Any]:
        """A validated input as the JSON object kie.ai expects, unset (None) fields left out.

        In nested objects too; a Struct of plain values is taken apart shallowly (the fast path).
        """
        if not self._flat:
            raw: dict[str, Any] = without_nulls(msgspec.to_builtins(value))
            return raw
        body: dict[str, Any] = _asdict(value)
        for name in self._nullable:
            if body[name] is None:
                del body[name]
        return body

    def quick(
        self,
        data: Any,
        *,
        model_id: str,
        callback_url: str | None,
        rules: tuple[Callable[[Any], Iterable[Problem]], ...],
    ) -> tuple[Mapping[str, Any] | msgspec.Struct, bytes] | None:
        """An input of JSON values validated, and its createTask body encoded, in one pass each.

        Returns the ``input`` of the body (a Struct that :func:`msgspec.to_builtins` turns into
        the input object, or that object itself) and the whole body's bytes. Raises
        :class:`~kieframe.InputValidationError` (every problem, the ``rules``' too) if ``data``
        is refused. None when ``data`` is not a dict of JSON values (it may hold local files or
        unchecked fields), the Struct may hold more than JSON values, or the body cannot be
        encoded: the full way then takes it, and says why.
        """
        if type(data) is not dict or not self.plain_json:
            return None
        try:
            value = _convert(data, self.input_type)
        except Exception:
            problems = self._explain(data, json_only=True)
            if problems is None:
                return None
            raise InputValidationError(model_id, problems) from None
        if self._checks_after:
            self.check_after(data, model_id=model_id)
        given: Mapping[str, Any] | msgspec.Struct = value
        envelope = self._envelope
        try:
            if envelope is None or self._lenient is None:
                body: dict[str, Any] = {"model": model_id, "input": self.dump(value)}
                if callback_url is not None:
                    body["callBackUrl"] = callback_url
                given, content = body["input"], _ENCODE(body)
            else:
                request = envelope[0]
                if self._unset(value):  # an optional field left unset: sent without it
                    given, request = self._lenient(*_astuple(value)), envelope[1]
                content = _ENCODE(request(model_id, given, callback_url))
        except Exception:
            return None
        if rules:
            problems = [problem for rule in rules for problem in rule(value)]
            if problems:
                raise InputValidationError(model_id, problems)
        return given, content

    def explain(self, data: Any) -> list[Problem]:
        """Every problem of ``data`` msgspec refused, each with its field path and limit."""
        problems = self._explain(data, json_only=False)
        assert problems is not None  # only a JSON-only explanation gives up
        return problems

    def _explain(self, data: Any, *, json_only: bool) -> list[Problem] | None:
        """:meth:`explain`; with ``json_only``, None if a value at fault is not a JSON value.

        (A local file where a URL goes, an :class:`~kieframe.Unchecked` field: the full way
        stages those first, and explains what is left.)
        """
        try:
            plain = data if type(data) is dict else _plain(data)
        except RecursionError:
            return [Problem("input", "is nested too deeply to check")]
        try:
            problems = self._by_field(plain, json_only=json_only) if type(plain) is dict else None
        except RecursionError:
            problems = [Problem("input", "is nested too deeply to check")]
        except _NotJson:
            return None
        if problems is None:
            if json_only and not _json_only(plain):
                return None
            problems = self._walk(plain)
        if not problems:  # msgspec saw something the walk did not: fall back to its words
            problems.append(_from_msgspec(self.input_type, plain))
        return problems

    def _by_field(self, data: dict[Any, Any], *, json_only: bool) -> list[Problem] | None:
        """The problems of an input object, field by field; None to walk everything.

        A field whose value passes its quick test is not looked at again; the others are walked
        for their limits, and those the walk finds nothing wrong with are handed to msgspec (the
        lenient twin) to find what it refused. With ``json_only``, raises ``_NotJson`` if a
        value at fault is not a JSON value.
        """
        get = self._quick.get
        failing = []
        for key, value in data.items():
            test = get(key, _UNKNOWN_KEY)
            if test is None or test is _UNKNOWN_KEY or not test(value):
                if json_only and type(value) not in _PLAIN_LEAVES and not _json_only([value]):
                    raise _NotJson
                failing.append(key)
        problems: list[Problem] = []
        unsure: dict[str, Any] = {}
        fields = self._fields
        for key in failing:
            value = data[key]
            if key not in fields:
                if not isinstance(key, str):
                    return None  # the walk words a key that is not a string
                if self._node.forbid_unknown_fields:
                    problems.append(_unknown_field(_safe(key), key, fields))
                continue
            found: list[Problem] = []
            check_value(fields[key].type, value, key, found)
            if found:
                problems += found
            else:
                unsure[key] = value
        for name in self._required:
            if name not in data:
                problems.append(Problem(name, "is required", _described(fields[name].type)))
        if unsure:
            refused = self._by_msgspec(unsure)
            if refused is None:
                return None
            problems += refused
        if len(problems) > 1:
            problems.sort(key=lambda p: self._order.get(p.field.split(".")[0].split("[")[0], -1))
        return problems

    def _by_msgspec(self, data: dict[str, Any]) -> list[Problem] | None:
        """The problems msgspec finds in fields the walk passed; None to walk everything.

        Each field the lenient twin (every field optional) names is worded by msgspec and set
        aside, until the rest converts.
        """
        if self._lenient is None:
            return None
        problems: list[Problem] = []
        rest = dict(data)
        while rest:
            try:
                msgspec.convert(rest, self._lenient)
                _ENCODE(rest)
                break
            except msgspec.ValidationError as refused:
                message = str(refused)
            except Exception:
                return None  # msgspec itself choked (a lone surrogate...): walk everything
            name = _culprit(message, rest)
            if name is None:
                return None
            problems.append(_worded(message, name))
            del rest[name]
        return problems

    def _walk_fields(self, data: Mapping[str, Any], names: Iterable[str]) -> list[Problem]:
        """The problems of the fields ``names`` of ``data`` (which msgspec converted) alone."""
        problems: list[Problem] = []
        try:
            for name in names:
                if name not in data:
                    continue
                value = data[name]
                if name not in self._stepped and _finite_or_none(value):
                    continue  # msgspec checked it, and a finite number is all the walk would add
                check_value(self._fields[name].type, value, name, problems)
        except RecursionError:
            problems.append(Problem("input", "is nested too deeply to check"))
        return problems

    def _walk(self, data: Any) -> list[Problem]:
        problems: list[Problem] = []
        try:
            check_value(self._node, _plain(data), "", problems)
        except RecursionError:
            problems.append(Problem("input", "is nested too deeply to check"))
        return problems


def _lenient_twin(
    input_type: type[msgspec.Struct], node: mi.StructType
) -> type[msgspec.Struct] | None:
    """The Struct with every field optional (its default, never checked, is None).

    It encodes leaving None out: with the input's values in it, it is the input as sent.
    """
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


def _any_none(names: tuple[str, ...]) -> Callable[[Any], bool]:
    """A test of whether any of the attributes ``names`` of a Struct may be None.

    With more than two, it says yes at once: rebuilding the Struct costs less than looking.
    """
    if not names:
        return lambda value: False
    if len(names) > 2:
        return lambda value: True
    several = operator.attrgetter(*names)
    if len(names) == 1:
        return lambda value: several(value) is None
    return lambda value: None in several(value)


def _request_envelope(input_type: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """A createTask body as a Struct: model, input (an ``input_type``), callBackUrl if given."""
    return msgspec.defstruct(
        f"Request{input_type.__name__}",
        [("model", str), ("input", input_type), ("callBackUrl", str | None, None)],
        omit_defaults=True,
    )


def _holds_object(node: mi.Type) -> bool:
    return isinstance(node, mi.StructType | mi.DictType | mi.AnyType)


#: What ``Validator._quick`` gives for a key that is not a field.
_UNKNOWN_KEY: Any = object()


class _NotJson(Exception):
    """A value at fault is not a JSON value (a local file...): the full way explains it."""


#: A quick test of one value: True only if msgspec accepts it and the walk finds nothing.
QuickTest = Callable[[Any], bool]

# The largest integers kie.ai (and msgspec) take, and the integers a float holds exactly.
_INT_LOW, _INT_HIGH, _EXACT = -(2**63), 2**64, 2**53


def _quick_test(node: mi.Type) -> QuickTest | None:
    """A quick test that a value certainly passes ``node``; None where there is none.

    It may say no to a value that passes (the walk then looks), never yes to one that fails.
    """
    if isinstance(node, mi.Metadata):
        inner = _quick_test(node.type)
        step = (node.extra or {}).get(STEP_KEY)
        if inner is None or step is None:
            return inner
        return lambda value: inner(value) and on_step(value, step)
    if isinstance(node, mi.UnionType):
        tests = [_quick_test(member) for member in node.types]
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
            and (value.isascii() or _encodable(value))
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


def _not_plain_json(node: mi.Type) -> bool:
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


_UNKNOWN = re.compile(r"^Object contains unknown field `(.*)`$", re.DOTALL)


def _culprit(message: str, data: Mapping[str, Any]) -> str | None:
    """The top-level field a msgspec error is about, if it names one that ``data`` holds."""
    if message.startswith("Object contains unknown field `"):
        unknown = _UNKNOWN.match(message)
        if unknown is not None:
            return unknown.group(1) if unknown.group(1) in data else None
    _, at, where = message.rpartition(" - at `$.")  # msgspec puts the path last
    if not at or not where.endswith("`"):
        return None
    path = where[:-1]
    if path in data:  # the usual case: a top-level field
        return path
    for name in data:  # the longest name the path starts with (names may hold dots)
        if path == name or path.startswith((f"{name}.", f"{name}[")):
            return name
    return None


def _worded(message: str, name: str) -> Problem:
    return Problem(name, message.rpartition(" - at `")[0] or message)


@functools.cache
def validator_for(input_type: type[msgspec.Struct]) -> Validator:
    """The (cached) :class:`Validator` of an input Struct type."""
    return Validator(input_type)


def without_nulls(raw: Any) -> Any:
    """``raw`` with unset (``None``) fields left out, in nested objects too."""
    if isinstance(raw, dict):
        return {key: without_nulls(item) for key, item in raw.items() if item is not None}
    if isinstance(raw, list):
        return [without_nulls(item) for item in raw]
    return raw


def _plain(data: Any) -> Any:
    """``data`` with Structs taken apart into dicts (constructing a Struct checks nothing)."""
    if isinstance(data, msgspec.Struct):
        return {
            name: _plain(getattr(data, attribute))
            for name, attribute in struct_attributes(type(data)).items()
        }
    if isinstance(data, list | tuple) and any(isinstance(item, msgspec.Struct) for item in data):
        return [_plain(item) for item in data]
    if isinstance(data, Mapping) and not isinstance(data, dict):
        return dict(data)
    return data


_PLAIN_LEAVES = frozenset({str, int, float, bool, type(None)})


def _json_only(data: Any) -> bool:
    """Whether ``data`` holds nothing but JSON values (so no local file, nothing unchecked)."""
    try:
        return _plain_tree(data)
    except RecursionError:
        return False


def _plain_tree(data: Any) -> bool:
    for item in data.values() if type(data) is dict else data:
        kind = type(item)
        if kind in _PLAIN_LEAVES:
            continue
        if (kind is not dict and kind is not list) or not _plain_tree(item):
            return False
    return True


def _from_msgspec(input_type: type[msgspec.Struct], data: Any) -> Problem:
    try:
        msgspec.convert(_plain(data), input_type)
        _ENCODE(msgspec.convert(_plain(data), input_type))
    except msgspec.ValidationError as error:
        message, _, where = str(error).rpartition(" - at `")
        path = where.rstrip("`").removeprefix("$").lstrip(".") or "input"
        return Problem(_safe(path), message or str(error))
    except Exception as error:
        return Problem("input", f"cannot be sent ({type(error).__name__})")
    return Problem("input", "is not valid")  # pragma: no cover - only reached on a failure


def _needs_own_check(node: mi.Type) -> bool:
    """A float msgspec may pass NaN or infinity through, or a number with a decimal step.

    A float bounded on both sides is not one: msgspec refuses NaN and infinity for it.
    """
    if isinstance(node, mi.FloatType):
        return (node.ge is None and node.gt is None) or (node.le is None and node.lt is None)
    return _has_step(node)


def _has_step(node: mi.Type) -> bool:
    return isinstance(node, mi.Metadata) and bool(node.extra) and STEP_KEY in (node.extra or {})


def _finite_or_none(value: Any) -> bool:
    kind = type(value)
    return value is None or kind is int or (kind is float and math.isfinite(value))


def _is_nested(node: mi.Type) -> bool:
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


def _has(
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
        return any(_has(field.type, test, seen) for field in node.fields)
    return any(_has(child, test, seen) for child in _children(node))


def _children(node: mi.Type) -> Iterable[mi.Type]:
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


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def check_value(node: mi.Type, value: Any, path: str, problems: list[Problem]) -> None:
    """Append the problems of ``value`` for inspected type ``node`` at ``path``."""
    before = len(problems)
    _check_node(node, value, path, problems)
    if len(problems) > before:
        last = problems[-1]
        if not last.limit and last.field == (path or "input"):
            # Made by this walk a moment ago and seen by nothing else yet: filled in, not copied.
            object.__setattr__(last, "limit", _described(node))


def _check_node(node: mi.Type, value: Any, path: str, problems: list[Problem]) -> None:
    check = _CHECKS.get(type(node))
    if check is not None:
        check(node, value, path, problems)
    elif not isinstance(node, mi.AnyType):
        _check_other(node, value, path or "input", problems)


def _check_metadata(node: mi.Metadata, value: Any, path: str, problems: list[Problem]) -> None:
    before = len(problems)
    _check_node(node.type, value, path, problems)
    step = node.extra.get(STEP_KEY) if node.extra else None
    if len(problems) == before and step is not None and not on_step(value, step):
        problems.append(Problem(path or "input", f"{_show(value)} is not a multiple of {step}"))


def _check_list(
    node: mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType,
    value: Any,
    path: str,
    problems: list[Problem],
) -> None:
    where = path or "input"
    if not isinstance(value, list | tuple):
        problems.append(Problem(where, f"must be a list, got {_kind(value)} {_show(value)}"))
        return
    low, high = node.min_length, node.max_length
    if (low is not None and len(value) < low) or (high is not None and len(value) > high):
        count = len(value)
        problems.append(Problem(where, f"has {count} item{'s' if count != 1 else ''}"))
    for index, item in enumerate(value):
        check_value(node.item_type, item, f"{path}[{index}]", problems)


def _check_literal(node: mi.LiteralType, value: Any, path: str, problems: list[Problem]) -> None:
    if not any(type(value) is type(allowed) and value == allowed for allowed in node.values):
        problems.append(Problem(path or "input", f"got {_kind(value)} {_show(value)}"))


def _check_bool(node: mi.BoolType, value: Any, path: str, problems: list[Problem]) -> None:
    if not isinstance(value, bool):
        problems.append(Problem(path or "input", f"got {_kind(value)} {_show(value)}"))


def _check_none(node: mi.NoneType, value: Any, path: str, problems: list[Problem]) -> None:
    if value is not None:
        problems.append(
            Problem(path or "input", f"must be null, got {_kind(value)} {_show(value)}")
        )


def _check_dict(node: mi.DictType, value: Any, path: str, problems: list[Problem]) -> None:
    where = path or "input"
    if not isinstance(value, dict):
        problems.append(Problem(where, f"must be an object, got {_kind(value)} {_show(value)}"))
        return
    for key, item in value.items():
        check_value(node.key_type, key, where, problems)
        check_value(node.value_type, item, f"{path}[{_show(key)}]", problems)


def _check_other(node: mi.Type, value: Any, where: str, problems: list[Problem]) -> None:
    """Types the walk does not know itself (enums, dates...): ask msgspec about the value alone."""
    python_type = getattr(node, "cls", None)
    if python_type is None:
        return
    try:
        msgspec.convert(value, python_type)
    except Exception:
        problems.append(Problem(where, f"got {_kind(value)} {_show(value)}"))


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
        problems.append(Problem(path or "input", f"got {_kind(value)} {_show(value)}"))


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
            Problem(where, f"must be an object of fields, got {_kind(value)} {_show(value)}")
        )
        return
    by_name = {field.encode_name: field for field in node.fields}
    for key in value:
        if not isinstance(key, str):
            problems.append(Problem(where, f"has a field name that is not a string: {_show(key)}"))
        elif key not in by_name and node.forbid_unknown_fields:
            problems.append(_unknown_field(_join(path, _safe(key)), key, by_name))
    for field in node.fields:
        name = _join(path, field.encode_name)
        if field.encode_name not in value:
            if field.required:
                problems.append(Problem(name, "is required", describe_type(field.type)))
            continue
        check_value(field.type, value[field.encode_name], name, problems)


def _unknown_field(where: str, key: str, by_name: Mapping[str, Any]) -> Problem:
    close = difflib.get_close_matches(key, list(by_name), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "known fields: " + ", ".join(by_name)
    return Problem(where, f"is not a field of this model; {hint}")


def _check_str(node: mi.StrType, value: Any, path: str, problems: list[Problem]) -> None:
    where = path or "input"
    if not isinstance(value, str):
        problems.append(Problem(where, f"must be a string, got {_kind(value)} {_show(value)}"))
    elif not (value.isascii() or _encodable(value)):
        problems.append(Problem(where, "holds a lone surrogate, which cannot be sent as UTF-8"))
    elif node.max_length is not None and len(value) > node.max_length:
        problems.append(Problem(where, f"is {len(value)} characters long"))
    elif node.min_length is not None and len(value) < node.min_length:
        problems.append(
            Problem(
                where,
                "must not be empty" if node.min_length == 1 else f"is {len(value)} characters long",
            )
        )
    elif node.pattern is not None and not re.search(node.pattern, value):
        problems.append(Problem(where, f"{_show(value)} does not match the pattern {node.pattern}"))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_number(
    node: mi.IntType | mi.FloatType, value: Any, path: str, problems: list[Problem]
) -> None:
    where = path or "input"
    integer = isinstance(node, mi.IntType)
    accepted = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, accepted):
        kind = "an integer" if integer else "a number"
        problems.append(Problem(where, f"must be {kind}, got {_kind(value)} {_show(value)}"))
        return
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(Problem(where, f"{value} cannot be sent as JSON"))
        return
    if integer and not -(2**63) <= value < 2**64:
        problems.append(Problem(where, f"{_show(value)} is too large for kie.ai"))
        return
    low_ok = (node.ge is None or value >= node.ge) and (node.gt is None or value > node.gt)
    high_ok = (node.le is None or value <= node.le) and (node.lt is None or value < node.lt)
    if not (low_ok and high_ok):
        problems.append(Problem(where, f"{_show(value)} is out of range"))
    elif node.multiple_of is not None and not on_step(value, node.multiple_of):
        problems.append(Problem(where, f"{_show(value)} is not a multiple of {node.multiple_of}"))


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
_described = by_node(describe_type)


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


def _kind(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
    found = names.get(type(value))
    if found is not None:
        return found
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    return _safe(type(value).__name__)


def _show(value: Any) -> str:
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
        text = f"<{_kind(value)}>"
    return text if len(text) <= 40 else text[:37] + "..."


def _safe(text: str) -> str:
    """``text`` if it prints as UTF-8, else its escaped ``repr`` (a key may hold a surrogate)."""
    return text if _encodable(text) else repr(text)[1:-1]
