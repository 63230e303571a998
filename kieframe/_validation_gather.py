"""An explanation's pass over an input object, written out as one function per Struct.

What :meth:`Explainer._gather <kieframe._validation_explain.Explainer>` does one key at a time (a
dict lookup and a call per field, to test its value quickly), written out from the Struct's limits
when its first input is explained, as msgspec, attrs and dataclasses write out their ``__init__``:
each field's quick test is an expression in a chain of ``if key == ...`` (:func:`quick_expression`,
or a call of its :func:`quick_test` where there is none), a field that fails it is worded by its
compiled check, and the required fields are tested one by one. For the wan model::

    def gather(data):
        problems = []
        unsure = {}
        for key, value in data.items():
            if type(key) is not str:
                return None
            if key == 'prompt':
                if type(value) is str and 1 <= len(value) <= 800 and (...):
                    continue
                before = len(problems)
                f0_word(value, 'prompt', problems)
                if len(problems) == before:
                    unsure['prompt'] = value
            elif key == 'image_url':
                ...
            else:
                unknown(key, problems)
        if 'prompt' not in data:
            problems.append(Problem('prompt', 'is required', f0_required))
        ...
        return problems, unsure

It gives what ``_gather`` gives (a property test holds it to that), or None for an input with a
key that is not exactly a ``str``, which ``_gather`` then takes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec.inspect as mi

from ._errors import Problem
from ._validation_describe import described
from ._validation_quick import QuickTest, quick_expression, string_test

__all__ = ["Gathered", "gather_function"]

#: The problems the walk found in the fields that fail their quick tests, and the fields (with
#: their values) it found nothing wrong with, left to msgspec to name.
Gathered = tuple[list[Problem], dict[str, Any]]

#: A field's compiled check: adds the problems of a value at a path to a list.
Word = Callable[[Any, str, list[Problem]], None]


def gather_function(
    fields: Mapping[str, mi.Type],
    *,
    tests: Mapping[str, QuickTest | None],
    words: Mapping[str, Word],
    required: Mapping[str, str],
    unknown: Callable[[str, list[Problem]], None] | None,
) -> Callable[[dict[Any, Any]], Gathered | None]:
    """The pass of an explanation over the inputs of one Struct, written out (see above).

    ``fields`` are the Struct's field names and types, ``tests`` their quick tests, ``words``
    their compiled checks, ``required`` the limit worded for each required field, ``unknown``
    what adds the problem of a key that is not a field (None where such a key is let through).
    """
    namespace: dict[str, Any] = {"Problem": Problem, "unknown": unknown}
    lines = [
        "def gather(data):",
        "    problems = []",
        "    unsure = {}",
        "    for key, value in data.items():",
        "        if type(key) is not str:",
        "            return None",
    ]
    for index, (name, node) in enumerate(fields.items()):
        prefix = f"f{index}"
        lines.append(f"        {'elif' if index else 'if'} key == {name!r}:")
        split = string_test(node, namespace, prefix) if name else None
        if split is not None:  # a string over its limit is worded here, as its check words it
            longest, rest = split
            namespace[f"{prefix}_limit"] = described(node)
            lines += [
                "            if type(value) is str and (value.isascii() or encodable(value)):",
                f"                if len(value) > {longest}:",
                f"                    problems.append(Problem({name!r}, "
                f"f'is {{len(value)}} characters long', {prefix}_limit))",
                "                    continue",
                f"                if {rest}:",
                "                    continue",
            ]
        else:
            test = quick_expression(node, namespace, prefix)
            if test is None:
                namespace[f"{prefix}_test"] = tests[name] or _never
                test = f"{prefix}_test(value)"
            lines += [f"            if {test}:", "                continue"]
        namespace[f"{prefix}_word"] = words[name]
        lines += [
            "            before = len(problems)",
            f"            {prefix}_word(value, {name!r}, problems)",
            "            if len(problems) == before:",
            f"                unsure[{name!r}] = value",
        ]
    otherwise = "unknown(key, problems)" if unknown is not None else "pass"
    lines += [f"        {'else:' if fields else 'if True:'}", f"            {otherwise}"]
    for index, (name, limit) in enumerate(required.items()):
        namespace[f"r{index}_limit"] = limit
        lines += [
            f"    if {name!r} not in data:",
            f"        problems.append(Problem({name!r}, 'is required', r{index}_limit))",
        ]
    lines.append("    return problems, unsure")
    try:
        exec("\n".join(lines), namespace)  # noqa: S102 - the source is written above, from limits
    except (RecursionError, MemoryError, SyntaxError):  # too many fields for Python's compiler
        return _unwritten  # the key-by-key pass does it
    gather: Callable[[dict[Any, Any]], Gathered | None] = namespace["gather"]
    return gather


def _unwritten(data: dict[Any, Any]) -> Gathered | None:
    """No pass written out: the explanation goes key by key."""
    return None


def _never(value: Any) -> bool:
    return False
