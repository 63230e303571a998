"""Fields whose Python name differs from kie.ai's: rules and Struct inputs go by kie.ai's names."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kieframe import InputValidationError
from kieframe.authoring import ModelSpec, requires, value_at


class Camera(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    pan_speed: int | None = None


class Renamed(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    text_prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    tail_image: str | None = None
    first_image: str | None = None
    camera: Camera | None = None


SPEC = ModelSpec(
    id="test/renamed",
    input_type=Renamed,
    title="Renamed fields",
    docs_url="https://example.com",
    rules=(requires("tailImage", "firstImage"), requires("camera.panSpeed", "firstImage")),
)


def test_value_at_finds_fields_by_kie_names() -> None:
    value = Renamed(text_prompt="a fox", tail_image="t", camera=Camera(pan_speed=3))
    assert value_at(value, "textPrompt") == "a fox"
    assert value_at(value, "tailImage") == "t"
    assert value_at(value, "camera.panSpeed") == 3
    assert value_at(value, "text_prompt") is None  # the Python name is not kie.ai's
    assert value_at(value, "camera.nothing") is None
    assert value_at({"camera": {"panSpeed": 4}}, "camera.panSpeed") == 4


@given(
    tail=st.none() | st.just("https://example.com/t.png"),
    first=st.none() | st.just("https://example.com/f.png"),
    speed=st.none() | st.integers(-5, 5),
)
def test_rules_on_renamed_fields_see_their_values(
    tail: str | None, first: str | None, speed: int | None
) -> None:
    data: dict[str, object] = {"textPrompt": "a fox"}
    if tail is not None:
        data["tailImage"] = tail
    if first is not None:
        data["firstImage"] = first
    if speed is not None:
        data["camera"] = {"panSpeed": speed}
    needs_first = (tail is not None or speed is not None) and first is None
    if needs_first:
        with pytest.raises(InputValidationError) as caught:
            SPEC.validate(data)
        assert set(caught.value.fields) == {"firstImage"}
    else:
        value = SPEC.validate(data)
        assert SPEC.to_input(value) == data


def test_a_struct_input_is_checked_like_its_dict() -> None:
    good = Renamed(text_prompt="a fox", first_image="f", camera=Camera(pan_speed=1))
    assert SPEC.validate(good) == SPEC.validate(SPEC.to_input(good))
    for bad, fields in (
        (Renamed(text_prompt="x" * 51, first_image="f"), ("textPrompt",)),
        (Renamed(text_prompt="a fox", tail_image="t"), ("firstImage",)),  # by a rule
    ):
        with pytest.raises(InputValidationError) as caught:
            SPEC.validate(bad)
        assert caught.value.fields == fields
