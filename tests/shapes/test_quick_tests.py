"""The explanation's pass written out per Struct agrees with the one it stands for, key by key."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

import msgspec.inspect as mi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kieframe
from kieframe._validation_explain import Explainer
from kieframe._validation_quick import quick_expression, quick_test
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


def _explainer(model: str) -> Explainer:
    return _SPECS[model]._validator._explaining()


def _written_out(node: mi.Type) -> Any:
    """The quick test of ``node`` as the function its expression makes (None where none)."""
    namespace: dict[str, Any] = {}
    expression = quick_expression(node, namespace, "t")
    if expression is None:
        return None
    exec(f"def test(value):\n    return bool({expression})", namespace)  # noqa: S102
    return namespace["test"]


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


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), model=_a_model)
def test_the_written_out_pass_and_quick_tests_find_what_the_originals_find(
    model: str, data: st.DataObject
) -> None:
    given_input = data.draw(_inputs(model), label="input")
    explainer = _explainer(model)
    written_out = explainer._gathering(given_input)
    if all(type(key) is str for key in given_input):
        assert written_out == explainer._gather(given_input)
    else:  # left to the pass key by key
        assert written_out is None
    # Each field's quick test, written out, says what its closure says.
    fields = _fields(_SPECS[model])
    for key, value in given_input.items():
        if key in fields:
            closure, test = quick_test(fields[key]), _written_out(fields[key])
            if test is not None:
                assert closure is not None
                assert test(value) == closure(value), key


def test_a_value_within_every_limit_passes_and_one_past_a_limit_is_worded() -> None:
    explainer = _explainer("wan/2-5-image-to-video")
    good: dict[Any, Any] = {
        "prompt": "a fox",
        "image_url": "https://example.com/fox.png",
        "duration": "10",
        "seed": 2**63 - 1,
        "nsfw_checker": None,
    }
    assert explainer._gathering(good) == ([], {})
    bad = {**good, "prompt": "x" * 801, "duration": 10, "seed": 2**63, "other": 1}
    gathered = explainer._gathering(bad)
    assert gathered is not None
    problems, unsure = gathered
    assert [str(problem) for problem in problems] == [
        "prompt: is 801 characters long (expected a string of 1 to 800 characters)",
        "duration: got integer 10 (expected one of '5', '10')",
        "seed: 9223372036854775808 is too large for kie.ai (expected an integer)",
        "other: is not a field of this model; known fields: prompt, image_url, duration, "
        "resolution, negative_prompt, enable_prompt_expansion, seed, nsfw_checker",
    ]
    assert unsure == {}
    assert explainer._gathering({5: "x"}) is None  # not a str key: left to _gather
