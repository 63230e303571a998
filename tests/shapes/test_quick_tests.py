"""The quick tests written out as one function per Struct agree with the closures they stand for."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

import msgspec.inspect as mi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kieframe
from kieframe._validation_quick import failing_keys, quick_test
from kieframe.authoring import ModelSpec
from kieframe.testing import invalid_inputs, valid_inputs

from .shape_models import SPECS

_SPECS: dict[str, ModelSpec[Any]] = {spec.id: spec for spec in SPECS}
_SPECS.update((spec.id, spec) for spec in kieframe.models())
_MODELS = sorted(_SPECS)


class _Key(StrEnum):
    PROMPT = "prompt"


# Values near every kind of limit, and values no limit takes.
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**64), 2**64),
    st.floats(),
    st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1]),
    st.sampled_from([0, 1, 0.5, 1.0, -1, 100, 0.1, math.nan, math.inf, -math.inf]),
    st.text(max_size=12),
    st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=2),
    st.sampled_from(["https://example.com/a.png", "http://x", "https://a b", "asset://abc", ""]),
    st.sampled_from(["5", "10", "720p", "1080p", "16:9", "auto", "https://example.com/a.png\n"]),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
)


def _fields(spec: ModelSpec[Any]) -> dict[str, mi.Type]:
    node = mi.type_info(spec.input_type)
    assert isinstance(node, mi.StructType)
    return {field.encode_name: field.type for field in node.fields}


_COMPILED = {model: failing_keys(_fields(spec)) for model, spec in _SPECS.items()}


def _reference(fields: dict[str, mi.Type], data: dict[Any, Any]) -> list[Any]:
    """The failing keys as the closures find them, one call per field (the explanation's way)."""
    tests = {name: quick_test(node) for name, node in fields.items()}
    failed = []
    for key, value in data.items():
        test = tests.get(key)
        if test is None or not test(value):
            failed.append(key)
    return failed


@st.composite
def _inputs(draw: st.DrawFn, model: str) -> dict[Any, Any]:
    """An input object of the model: valid, or with one fault, then with some values replaced."""
    spec = _SPECS[model]
    fields = list(_fields(spec))
    data: dict[Any, Any]
    if draw(st.booleans(), label="valid"):
        data = dict(draw(valid_inputs(spec), label="base"))
    else:
        data = dict(draw(invalid_inputs(spec), label="base").data)
    keys = st.sampled_from(fields) | st.sampled_from(["nope", 3, _Key.PROMPT]) | st.text(max_size=3)
    replaced = draw(st.dictionaries(keys, _leaves, max_size=4), label="replaced")
    data.update(replaced)
    return data


# The shape models (every kind of limit) and the registry's models, one drawn per example.
_a_model = st.sampled_from([spec.id for spec in SPECS]) | st.sampled_from(_MODELS)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), model=_a_model)
def test_the_written_out_quick_tests_fail_exactly_the_keys_the_closures_fail(
    model: str, data: st.DataObject
) -> None:
    given_input = data.draw(_inputs(model), label="input")
    assert _COMPILED[model](given_input) == _reference(_fields(_SPECS[model]), given_input)


def test_a_value_within_every_limit_passes_and_one_past_a_limit_fails() -> None:
    fields = _fields(kieframe.get_model("wan/2-5-image-to-video"))
    failing = failing_keys(fields)
    good: dict[Any, Any] = {
        "prompt": "a fox",
        "image_url": "https://example.com/fox.png",
        "duration": "10",
        "seed": 2**63 - 1,
        "nsfw_checker": None,
    }
    assert failing(good) == []
    bad = {**good, "prompt": "x" * 801, "duration": 10, "seed": 2**63, "other": 1, 5: "x"}
    assert failing(bad) == ["prompt", "duration", "seed", "other", 5]
