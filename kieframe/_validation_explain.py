"""The explanation of an input msgspec refused: every problem, with its field path and limit.

Each field is tested with a quick check compiled from its limits (a string's length and pattern, a
number's range, a choice...), and only the fields that fail it are walked, to word each problem
with its limit. A field the walk finds nothing wrong with is left to msgspec (a *lenient* twin of
the Struct, every field optional) to name what it refused. That pass over the fields is written
out as one function per Struct (``_validation_gather``). Built for an input type the first time
one of its inputs is refused; it never raises, whatever the input holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
import msgspec.inspect as mi

from ._errors import Problem
from ._validation_describe import described, safe
from ._validation_gather import Gathered, gather_function
from ._validation_quick import quick_test
from ._validation_values import finite_or_none, plain
from ._validation_walk import check_value, field_check, unknown_field

__all__ = ["Explainer"]

_ENCODE = msgspec.json.Encoder().encode


class Explainer:
    """Words every problem of the inputs of one Struct type (see the module docstring)."""

    __slots__ = (
        "_fields",
        "_gathering",
        "_lenient",
        "_node",
        "_order",
        "_quick",
        "_required",
        "_stepped",
        "_word",
        "input_type",
    )

    def __init__(
        self,
        input_type: type[msgspec.Struct],
        node: mi.StructType,
        *,
        lenient: type[msgspec.Struct] | None,
        stepped: frozenset[str],
    ) -> None:
        self.input_type = input_type
        self._node = node
        self._fields = {field.encode_name: field for field in node.fields}
        self._order = {name: index for index, name in enumerate(self._fields)}
        self._required = tuple(field.encode_name for field in node.fields if field.required)
        self._lenient = lenient  # the Struct with every field optional
        self._stepped = stepped  # the fields with a decimal step, which msgspec does not check
        # A quick test per field that a value certainly passes (None where there is none).
        self._quick = {field.encode_name: quick_test(field.type) for field in node.fields}
        # And the walk of each field, compiled: what words the problems of those that fail it.
        self._word = {field.encode_name: field_check(field.type) for field in node.fields}
        # _gather, written out as one function (see _validation_gather).
        self._gathering = gather_function(
            {field.encode_name: field.type for field in node.fields},
            tests=self._quick,
            words=self._word,
            required={name: described(self._fields[name].type) for name in self._required},
            unknown=self._unknown if node.forbid_unknown_fields else None,
        )

    def explain(self, data: Any) -> list[Problem]:
        """Every problem of ``data`` msgspec refused, each with its field path and limit.

        An input object is gone through field by field: a field whose value passes its quick
        test is not looked at again; the others are walked for their limits, and those the walk
        finds nothing wrong with are handed to msgspec (the lenient twin) to find what it
        refused. Anything else (or such an object msgspec chokes on) is walked whole.
        """
        if type(data) is dict:
            given = data
        else:
            try:
                given = plain(data)
            except RecursionError:
                return [Problem("input", "is nested too deeply to check")]
        problems: list[Problem] | None = None
        if type(given) is dict:
            try:
                gathered = self._gathering(given) or self._gather(given)
                if gathered is not None:
                    problems, unsure = gathered
                    if unsure:
                        refused = self._by_msgspec(unsure)
                        problems = None if refused is None else problems + refused
            except RecursionError:
                problems = [Problem("input", "is nested too deeply to check")]
            if problems is not None and len(problems) > 1:
                order = self._order
                problems.sort(key=lambda p: order.get(p.field.split(".")[0].split("[")[0], -1))
        if problems is None:
            problems = self._walk(given)
        if not problems:  # msgspec saw something the walk did not: fall back to its words
            problems.append(_from_msgspec(self.input_type, given))
        return problems

    def walk_fields(self, data: Mapping[str, Any], names: Iterable[str]) -> list[Problem]:
        """The problems of the fields ``names`` of ``data`` (which msgspec converted) alone."""
        problems: list[Problem] = []
        try:
            for name in names:
                if name not in data:
                    continue
                value = data[name]
                if name not in self._stepped and finite_or_none(value):
                    continue  # msgspec checked it, and a finite number is all the walk would add
                check_value(self._fields[name].type, value, name, problems)
        except RecursionError:
            problems.append(Problem("input", "is nested too deeply to check"))
        return problems

    def _gather(self, data: dict[Any, Any]) -> Gathered | None:
        """The problems the walk finds in the fields that fail their quick tests, and the fields
        it finds nothing wrong with; None to walk everything (a key that is not a string).

        One key at a time: ``_gathering`` does the same written out, for keys that are strings.
        """
        get = self._quick.get
        problems: list[Problem] = []
        unsure: dict[str, Any] = {}
        fields, word = self._fields, self._word
        for key, value in data.items():
            test = get(key, _UNKNOWN_KEY)
            if test is not None and test is not _UNKNOWN_KEY and test(value):
                continue
            if key not in fields:
                if not isinstance(key, str):
                    return None  # the walk words a key that is not a string
                if self._node.forbid_unknown_fields:
                    self._unknown(key, problems)
                continue
            before = len(problems)
            word[key](value, key, problems)  # (adds only: touches no problem found before)
            if len(problems) == before:
                unsure[key] = value
        for name in self._required:
            if name not in data:
                problems.append(Problem(name, "is required", described(fields[name].type)))
        return problems, unsure

    def _unknown(self, key: str, problems: list[Problem]) -> None:
        """Add the problem of a key that is not a field (with a did-you-mean)."""
        problems.append(unknown_field(safe(key), key, self._fields))

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

    def _walk(self, data: Any) -> list[Problem]:
        problems: list[Problem] = []
        try:
            check_value(self._node, plain(data), "", problems)
        except RecursionError:
            problems.append(Problem("input", "is nested too deeply to check"))
        return problems


#: What ``Explainer._quick`` gives for a key that is not a field.
_UNKNOWN_KEY: Any = object()


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


def _from_msgspec(input_type: type[msgspec.Struct], data: Any) -> Problem:
    try:
        msgspec.convert(plain(data), input_type)
        _ENCODE(msgspec.convert(plain(data), input_type))
    except msgspec.ValidationError as error:
        message, _, where = str(error).rpartition(" - at `")
        path = where.rstrip("`").removeprefix("$").lstrip(".") or "input"
        return Problem(safe(path), message or str(error))
    except Exception as error:
        return Problem("input", f"cannot be sent ({type(error).__name__})")
    return Problem("input", "is not valid")  # pragma: no cover - only reached on a failure
