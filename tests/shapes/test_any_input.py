"""Whatever the input holds, validation ends in InputValidationError or a body that encodes."""

from __future__ import annotations

import math
import sys
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kieframe
from kieframe import InputValidationError, Unchecked
from kieframe.authoring import ModelSpec

from .shape_models import SPECS

FIELD_NAMES = sorted({info.name for spec in SPECS for info in spec.fields} | {"nope"})

# Leaves JSON has, and values it has not: surrogates, bytes, objects, NaN, huge integers.
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=3),
    st.binary(max_size=8),
    st.just(object()),
    st.just(5000).map(lambda digits: 10**digits),  # repr() of it fails: build it late
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.sampled_from(["https://example.com/a.png", "", "5", "asset://abc", "single", "blend"]),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(
            st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=4)), inner, max_size=4
        ),
        st.dictionaries(st.integers(), inner, max_size=2),
    ),
    max_leaves=12,
)
_inputs = st.one_of(
    _values,
    st.dictionaries(st.sampled_from(FIELD_NAMES), _values, max_size=6),
)


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.id)
@settings(max_examples=150, deadline=None)
@given(data=_inputs)
def test_any_value_is_refused_cleanly_or_sent(spec: ModelSpec[Any], data: Any) -> None:
    try:
        value = spec.validate(data)
    except InputValidationError as error:
        refused: InputValidationError | None = error
    else:
        refused = None
        msgspec.json.encode(spec.to_request(value))
    if refused is not None:
        assert refused.problems
        str(refused).encode("utf-8")  # the message itself always prints


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.id)
@pytest.mark.parametrize(
    "value",
    [
        _deep(1000),
        _deep(sys.getrecursionlimit() + 50),
        10**5000,
        "\ud800",
        b"x",
        object(),
        math.nan,
    ],
    ids=[
        "1000 deep",
        "past the recursion limit",
        "5001 digits",
        "surrogate",
        "bytes",
        "object",
        "nan",
    ],
)
def test_hostile_values_in_every_field(spec: ModelSpec[Any], value: Any) -> None:
    for info in spec.fields:
        with pytest.raises(InputValidationError) as caught:
            spec.validate({info.name: value})
        assert caught.value.problems
        str(caught.value).encode("utf-8")


def test_a_surrogate_in_a_nested_field_names_its_path() -> None:
    shots = SPECS[0]
    with pytest.raises(InputValidationError) as caught:
        shots.validate({"multi_prompt": [{"prompt": "ok"}, {"prompt": "\udcff"}]})
    assert caught.value.fields == ("multi_prompt[1].prompt",)


def test_nan_in_a_stepped_or_open_float_is_refused() -> None:
    shots = SPECS[0]
    for field in ("cfg_scale", "guidance"):
        with pytest.raises(InputValidationError) as caught:
            shots.validate({"prompt": "p", field: math.nan})
        assert caught.value.fields == (field,)


@given(number=st.floats() | st.integers(-100, 100))
def test_a_bounded_float_takes_exactly_the_finite_numbers_within(number: float) -> None:
    shots = SPECS[0]
    if math.isfinite(number) and 0 < number < 20:
        value = shots.validate({"prompt": "p", "guidance": number})
        assert shots.to_input(value)["guidance"] == number
    else:
        with pytest.raises(InputValidationError) as caught:
            shots.validate({"prompt": "p", "guidance": number})
        assert caught.value.fields == ("guidance",)


def test_a_decimal_step_accepts_what_people_write() -> None:
    shots = SPECS[0]
    for good in (0.0, 0.1, 0.3, 0.7, 1.0):
        shots.validate({"prompt": "p", "cfg_scale": good})
    with pytest.raises(InputValidationError) as caught:
        shots.validate({"prompt": "p", "cfg_scale": 0.25})
    assert "not a multiple of 0.1" in str(caught.value)


def test_rules_report_every_breach_with_its_limit() -> None:
    collage = SPECS[2]
    with pytest.raises(InputValidationError) as caught:
        collage.validate(
            {
                "image_urls": ["https://e.com/a.png"],
                "mode": "blend",
                "resolution": "4k",
                "invert_mask": True,
            }
        )
    text = {problem.field: str(problem) for problem in caught.value.problems}
    assert (
        text["image_urls"]
        == "image_urls: has 1 item (expected 2 to 5 items when 'mode' is 'blend')"
    )
    assert "'4k' is allowed only when 'mode'" in text["resolution"]
    assert text["mask_url"] == "mask_url: is required when 'invert_mask' is set"


def test_mutually_exclusive_and_one_of_required() -> None:
    shots = SPECS[0]
    with pytest.raises(InputValidationError) as caught:
        shots.validate({})
    assert caught.value.fields == ("prompt",)
    assert "required unless 'multi_prompt' is set" in str(caught.value)
    with pytest.raises(InputValidationError) as caught:
        shots.validate({"prompt": "p", "multi_prompt": [{"prompt": "q"}]})
    assert caught.value.fields == ("multi_prompt",)


def test_an_unknown_field_is_refused_with_a_suggestion_unless_unchecked() -> None:
    shots = SPECS[0]
    with pytest.raises(InputValidationError, match="did you mean 'nsfw_checker'"):
        shots.validate({"prompt": "p", "nsfw_check": True})
    spec = kieframe.get_model("wan/2-5-image-to-video")
    with pytest.raises(InputValidationError, match="did you mean"):
        spec.validate({"prompt": "p", "image_url": "https://e.com/a.png", "durationn": "5"})
    assert Unchecked(True).value is True


def test_a_surrogate_after_another_problem_is_explained_too() -> None:
    # msgspec itself raises UnicodeEncodeError on a surrogate in a Literal field; found by
    # hypothesis: the explanation must still name every field.
    with pytest.raises(InputValidationError) as caught:
        SPECS[0].validate({"cfg_scale": None, "duration": "\ud800", "audio_url": None})
    assert set(caught.value.fields) == {"audio_url", "cfg_scale", "duration"}
