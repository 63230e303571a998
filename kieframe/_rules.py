"""Cross-field rules: limits that tie one input field to another.

A rule is any callable that takes a model's validated input (its Struct) and yields a
:class:`~kieframe.Problem` for each breach, naming the field path and the limit. A plugin lists its
rules in ``ModelSpec(rules=...)``; they run after every field passed its own limits, and their
problems are reported in the same :class:`~kieframe.InputValidationError` as any other.

The helpers here build the common rules from field paths (``"mode"``, ``"camera.speed"``); a field
counts as *set* when it is present and not ``None``, ``""``, ``False`` or an empty list (kie.ai's
ways of saying "none" or "off").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import msgspec

from ._errors import Problem
from ._plural import counted
from ._validation_types import struct_attributes

__all__ = [
    "FieldRule",
    "Rule",
    "count_range",
    "is_set",
    "mutually_exclusive",
    "one_of_required",
    "only_with",
    "requires",
    "value_at",
]

#: A cross-field rule: the validated input in, a problem for each breach out.
Rule: TypeAlias = Callable[[Any], Iterable[Problem]]


@dataclass(frozen=True, slots=True, repr=False)
class FieldRule:
    """A rule built here: it names the field paths it reads, which :class:`~kieframe.ModelSpec`
    checks against the input (a typo would make the rule never fire)."""

    described: str  # how the plugin wrote it: "mutually_exclusive('prompt', 'shots')"
    paths: tuple[str, ...]
    check: Rule

    def __call__(self, value: Any) -> Iterable[Problem]:
        return self.check(value)

    def __repr__(self) -> str:
        return self.described


def _built(kind: str, paths: Iterable[str], rule: Rule, *shown: Any, **named: Any) -> FieldRule:
    arguments = [*map(repr, shown), *(f"{key}={value!r}" for key, value in named.items())]
    return FieldRule(f"{kind}({', '.join(arguments)})", tuple(paths), rule)


class _Missing:
    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Missing()


def value_at(value: Any, path: str) -> Any:
    """The value at a dotted field path (``"camera.speed"``) of a Struct or mapping.

    Field names are the names kie.ai uses (a Struct field renamed for kie.ai is found by that
    name). A path that leads nowhere gives None.
    """
    current = value
    for name in path.split("."):
        if isinstance(current, msgspec.Struct):
            current = _struct_item(current, name)
        elif isinstance(current, Mapping):
            current = current.get(name)
        else:
            return None
    return current


def _struct_item(struct: msgspec.Struct, name: str) -> Any:
    attribute = struct_attributes(type(struct)).get(name)
    return None if attribute is None else getattr(struct, attribute)


def is_set(value: Any) -> bool:
    """Whether a field value counts as given: not ``None``, ``""``, ``False`` or an empty list."""
    if value is None or value is False or value == "":
        return False
    return not (isinstance(value, list | tuple) and not value)


def _names(paths: Iterable[str]) -> str:
    quoted = [f"{path!r}" for path in paths]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def mutually_exclusive(*paths: str) -> Rule:
    """At most one of the fields may be set."""
    if len(paths) < 2:
        raise ValueError("mutually_exclusive needs at least two fields")

    def rule(value: Any) -> Iterator[Problem]:
        given = [path for path in paths if is_set(value_at(value, path))]
        for path in given[1:]:
            others = [other for other in given if other != path]
            yield Problem(
                path,
                f"cannot be set together with {_names(others)}",
                f"only one of {_names(paths)}",
            )

    return _built("mutually_exclusive", paths, rule, *paths)


def one_of_required(*paths: str) -> Rule:
    """At least one of the fields must be set (the problem names the first)."""
    if len(paths) < 2:
        raise ValueError("one_of_required needs at least two fields")

    def rule(value: Any) -> Iterator[Problem]:
        if not any(is_set(value_at(value, path)) for path in paths):
            yield Problem(paths[0], f"is required unless {_names(paths[1:])} is set")

    return _built("one_of_required", paths, rule, *paths)


def _condition(path: str, when: Any) -> tuple[Callable[[Any], bool], str]:
    if when is _UNSET:
        return is_set, f"{path!r} is set"
    if isinstance(when, frozenset | set | tuple | list):
        options = tuple(when)
        return (
            lambda found: found in options
        ), f"{path!r} is one of {', '.join(map(repr, options))}"
    return (lambda found: found == when), f"{path!r} is {when!r}"


def requires(path: str, *needed: str, when: Any = _UNSET) -> Rule:
    """When ``path`` is set (or, with ``when``, equals it or is in it), each needed field must be.

    ``requires("tail_image_url", "image_url")``: a last frame needs a first frame.
    """
    if not needed:
        raise ValueError("requires needs at least one needed field")
    matches, condition = _condition(path, when)

    def rule(value: Any) -> Iterator[Problem]:
        if matches(value_at(value, path)):
            for other in needed:
                if not is_set(value_at(value, other)):
                    yield Problem(other, f"is required when {condition}")

    named = {} if when is _UNSET else {"when": when}
    return _built("requires", (path, *needed), rule, path, *needed, **named)


def _listed(values: Iterable[Any]) -> str:
    return ", ".join(map(repr, values))


def only_with(
    path: str, values: Collection[Any], *, other: str, other_values: Collection[Any]
) -> Rule:
    """``path`` may take one of ``values`` only while ``other`` is one of ``other_values``.

    ``only_with("resolution", {"1080p"}, other="duration", other_values={"6"})``.
    """
    chosen, allowed = tuple(values), tuple(other_values)
    limit = f"{other!r} one of {_listed(allowed)}"

    def rule(value: Any) -> Iterator[Problem]:
        found = value_at(value, path)
        if found in chosen and value_at(value, other) not in allowed:
            yield Problem(
                path,
                f"{found!r} is allowed only when {other!r} is one of {_listed(allowed)}",
                limit,
            )

    return _built(
        "only_with", (path, other), rule, path, values, other=other, other_values=other_values
    )


def _count(low: int, high: int) -> str:
    if low == high:
        return f"exactly {counted(low, 'item')}"
    return f"{low} to {high} items"


def count_range(path: str, *, by: str, ranges: Mapping[Any, tuple[int, int]]) -> Rule:
    """The number of items in list ``path`` must lie in ``ranges[<value of by>]`` (inclusive).

    ``count_range("image_urls", by="mode", ranges={"single": (1, 1), "blend": (2, 4)})``; a
    value of ``by`` missing from ``ranges`` leaves the count unchecked.
    """

    for low, high in ranges.values():
        if low > high:
            raise ValueError(f"count_range({path!r}): a range ({low}, {high}) is empty")

    def rule(value: Any) -> Iterator[Problem]:
        key = value_at(value, by)
        if key not in ranges:
            return
        low, high = ranges[key]
        items = value_at(value, path)
        count = len(items) if isinstance(items, list | tuple) else 0
        if not low <= count <= high:
            yield Problem(
                path,
                f"has {counted(count, 'item')}",
                f"{_count(low, high)} when {by!r} is {key!r}",
            )

    return _built("count_range", (path, by), rule, path, by=by, ranges=ranges)
