"""ModelSpec refuses plugin typos at construction: rules naming no field, limits no value meets."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kieframe_catalogue._prose_rules import RULES

from kieframe import ModelSpec, get_model
from kieframe._schema import spec_from_schema
from kieframe._spec_checks import check_input
from kieframe.authoring import (
    Rule,
    count_range,
    mutually_exclusive,
    one_of_required,
    only_with,
    requires,
)


class Camera(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    speed: int = 1


class Shot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    prompt: str = ""


class Input(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    prompt: str = ""
    shots: list[Shot] = []
    mode: str = "single"
    camera: Camera | None = None
    options: dict[str, Any] | None = None


def _spec(input_type: type[msgspec.Struct], *rules: Rule) -> ModelSpec[Any]:
    return ModelSpec(
        id="acme/model", input_type=input_type, title="t", docs_url="https://x", rules=rules
    )


@pytest.mark.parametrize(
    ("rule", "written", "unknown", "close"),
    [
        (mutually_exclusive("prompt", "shotz"), "mutually_exclusive('prompt', 'shotz')", "shotz",
         "shots"),
        (one_of_required("promt", "shots"), "one_of_required('promt', 'shots')", "promt",
         "prompt"),
        (requires("prompt", "mdoe"), "requires('prompt', 'mdoe')", "mdoe", "mode"),
        (requires("shots", "prompt", when=True), "requires('shots', 'prompt', when=True)", None,
         None),
        (only_with("mode", {"x"}, other="camra", other_values={1}),
         "only_with('mode', {'x'}, other='camra', other_values={1})", "camra", "camera"),
        (count_range("shots", by="modes", ranges={"x": (1, 2)}),
         "count_range('shots', by='modes', ranges={'x': (1, 2)})", "modes", "mode"),
        (requires("camera.sped", "prompt"), "requires('camera.sped', 'prompt')", "sped",
         "camera.speed"),
    ],
)  # fmt: skip
def test_a_rule_naming_no_field_is_refused_with_the_closest_field(
    rule: Rule, written: str, unknown: str | None, close: str | None
) -> None:
    if unknown is None:  # every path real: accepted
        assert _spec(Input, rule).rules == (rule,)
        return
    with pytest.raises(ValueError, match="acme/model") as caught:
        _spec(Input, rule)
    message = str(caught.value)
    assert written in message
    assert repr(unknown) in message
    assert f"did you mean {close!r}" in message


def test_a_rule_path_through_a_field_without_fields_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'prompt\.text'.*'prompt' has no fields"):
        _spec(Input, requires("prompt.text", "mode"))


def test_rule_paths_into_nested_structs_and_mappings_are_accepted() -> None:
    rules = (requires("camera.speed", "prompt"), requires("options.anything", "prompt"))
    assert len(_spec(Input, *rules).rules) == 2


def test_a_lazily_compiled_spec_checks_its_rules_when_compiled() -> None:
    schema = {"type": "object", "properties": {"prompt": {"type": "string"}}}
    options: dict[str, Any] = {"id": "acme/lazy", "title": "t", "docs_url": "https://x"}
    good = spec_from_schema(schema, lazy=True, rules=(requires("prompt", "prompt"),), **options)
    assert msgspec.to_builtins(good.validate({"prompt": "x"})) == {"prompt": "x"}
    bad = spec_from_schema(schema, lazy=True, rules=(requires("prompt", "promt"),), **options)
    with pytest.raises(ValueError, match="did you mean 'prompt'"):
        bad.validate({"prompt": "x"})


def test_an_empty_count_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\(3, 1\)"):
        count_range("shots", by="mode", ranges={"blend": (3, 1)})


def _bounded(kind: Any, **limits: Any) -> type[msgspec.Struct]:
    """A Struct whose ``items[].n`` is a ``kind`` with ``limits``."""
    field: Any = Annotated[kind, msgspec.Meta(**limits)]
    nested: Any = msgspec.defstruct("Inner", [("n", field)], forbid_unknown_fields=True)
    items: Any = list[nested]
    return msgspec.defstruct(
        "Bounded", [("items", items, msgspec.field(default_factory=list))],
        forbid_unknown_fields=True,
    )  # fmt: skip


@given(
    low=st.integers(-100, 100),
    high=st.integers(-100, 100),
    low_name=st.sampled_from(["ge", "gt"]),
    high_name=st.sampled_from(["le", "lt"]),
    kind=st.sampled_from([int, float]),
)
def test_number_limits_no_value_meets_are_refused_naming_field_and_limits(
    low: int, high: int, low_name: str, high_name: str, kind: type
) -> None:
    strict = (low_name == "gt") + (high_name == "lt")
    if kind is int:
        empty = low + (low_name == "gt") > high - (high_name == "lt")
    else:
        empty = low > high or (low == high and strict > 0)
    input_type = _bounded(kind, **{low_name: kind(low), high_name: kind(high)})
    if not empty:
        _spec(input_type)
        return
    with pytest.raises(ValueError, match="no value meets") as caught:
        _spec(input_type)
    message = str(caught.value)
    assert "'items[].n'" in message
    assert f"{low_name}={kind(low)!r}" in message
    assert f"{high_name}={kind(high)!r}" in message


@given(low=st.integers(0, 20), high=st.integers(0, 20), kind=st.sampled_from([str, list[int]]))
def test_length_limits_no_value_meets_are_refused(low: int, high: int, kind: type) -> None:
    input_type = _bounded(kind, min_length=low, max_length=high)
    if low <= high:
        _spec(input_type)
        return
    with pytest.raises(
        ValueError, match=rf"'items\[\]\.n'.*min_length={low} and max_length={high}"
    ):
        _spec(input_type)


def test_limits_no_value_meets_in_a_tuple_item_are_refused() -> None:
    field: Any = tuple[str, Annotated[int, msgspec.Meta(ge=5, le=1)]]
    input_type = msgspec.defstruct("Pair", [("pair", field)], forbid_unknown_fields=True)
    with pytest.raises(ValueError, match=r"'pair\[\]'.*ge=5 and le=1"):
        _spec(input_type)


def test_every_catalogue_rule_names_fields_of_its_model() -> None:
    """The catalogue wraps its rules (to fill in kie's defaults), so check them here."""
    for model_id, rules in RULES.items():
        check_input(model_id, get_model(model_id).input_type, rules)
