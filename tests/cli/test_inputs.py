"""``--set key=value`` reads each value as its field's type, for every registered model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kieframe
from kieframe._cli._inputs import parse_assignment, parse_value
from kieframe._validation import FieldInfo
from kieframe.authoring import ModelSpec
from kieframe.testing import valid_inputs


def _as_text(value: Any) -> str:
    """How a person would type ``value`` on the command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


@pytest.mark.parametrize("spec", kieframe.models(), ids=lambda spec: spec.id)
@given(data=st.data())
def test_typed_text_reads_back_as_the_same_input(spec: ModelSpec[Any], data: st.DataObject) -> None:
    value = data.draw(valid_inputs(spec))
    parsed = dict(parse_assignment(spec, f"{key}={_as_text(item)}") for key, item in value.items())
    assert spec.validate(parsed) == spec.validate(value)


@given(text=st.text(min_size=1).filter(lambda t: not t.lower().startswith(("http://", "https://"))))
def test_anything_but_a_url_in_a_media_field_is_a_local_path(text: str) -> None:
    value = parse_value(_image_field(), text)
    assert isinstance(value, Path)
    if not text.startswith("~"):
        assert value == Path(text)


def test_a_home_relative_path_is_expanded_and_a_url_stays_text() -> None:
    assert parse_value(_image_field(), "~/cat.png") == Path.home() / "cat.png"
    assert (
        parse_value(_image_field(), "https://example.com/cat.png") == "https://example.com/cat.png"
    )
    assert parse_value(_image_field(), "") == ""


def _image_field() -> FieldInfo:
    [media] = [
        f for f in kieframe.get_model("wan/2-5-image-to-video").fields if f.name == "image_url"
    ]
    return media


def test_text_that_fits_no_reading_is_left_for_validation_to_report() -> None:
    spec = kieframe.get_model("wan/2-5-image-to-video")
    assert parse_assignment(spec, "seed=many") == ("seed", "many")
    assert parse_assignment(spec, "enable_prompt_expansion=maybe") == (
        "enable_prompt_expansion",
        "maybe",
    )
    assert parse_assignment(spec, "no_such_field=1") == ("no_such_field", "1")
    with pytest.raises(kieframe.InputValidationError, match="seed"):
        spec.validate({"prompt": "x", "image_url": "https://a.b/c.png", "seed": "many"})
