"""A field's choices are listed in one order everywhere: limits, options, schema, errors."""

from __future__ import annotations

import re
from typing import Any

import msgspec.inspect as mi
import pytest

import kieframe
from kieframe._cli._inputs import FIELD_PREFIX, field_options
from kieframe._validation_describe import describe_type
from kieframe.authoring import ModelSpec


def _choices(node: mi.Type) -> tuple[str, ...] | None:
    if isinstance(node, mi.Metadata):
        return _choices(node.type)
    if isinstance(node, mi.UnionType):
        found = [_choices(member) for member in node.types]
        return next((choices for choices in found if choices), None)
    if isinstance(node, mi.LiteralType):
        return tuple(str(value) for value in node.values)
    return None


def _literal_fields(spec: ModelSpec[Any]) -> list[str]:
    return [field.name for field in spec.fields if _choices(field.type)]


@pytest.mark.parametrize("spec", kieframe.models(), ids=lambda spec: spec.id)
def test_every_listing_of_a_fields_choices_has_one_order(spec: ModelSpec[Any]) -> None:
    schema = spec.json_schema()
    options = {option.name: option for option in field_options(spec, taken=())}
    for field in spec.fields:
        if not _choices(field.type):
            continue
        limit = _listed(describe_type(field.type))
        metavar = (options[FIELD_PREFIX + field.name].metavar or "").strip("[]").split("|")
        enum = [str(value) for value in _enum(schema["properties"][field.name], schema)]
        example = spec.examples[0]["input"] if spec.examples else {}  # some list no example
        with pytest.raises(kieframe.InputValidationError) as caught:
            spec.validate({**example, field.name: "not-a-choice"})
        (problem,) = [p for p in caught.value.problems if p.field == field.name]
        message = _listed(str(problem).split("expected", 1)[1].rstrip(")"))
        assert limit == metavar == enum == message, field.name


def _listed(text: str) -> list[str]:
    """The choices a limit lists: quoted strings, or bare numbers after "one of"."""
    quoted = re.findall(r"'([^']*)'", text)
    return quoted or re.findall(r"-?\d+(?:\.\d+)?", text.split("one of ", 1)[1])


def _enum(node: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    if "enum" in node:
        return list(node["enum"])
    if "$ref" in node:
        return _enum(schema["$defs"][node["$ref"].rsplit("/", 1)[1]], schema)
    for member in node.get("anyOf", ()):
        if found := _enum(member, schema):
            return found
    return []


def test_numeric_choices_go_by_number() -> None:
    wan = kieframe.get_model("wan/2-5-image-to-video")
    assert _literal_fields(wan)
    assert wan.json_schema()["properties"]["duration"]["enum"] == ["5", "10"]
