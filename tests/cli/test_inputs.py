"""``--set key=value`` reads each value as its field's type, for every registered model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec.inspect as mi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kieframe
from kieframe._cli._inputs import parse_assignment, parse_value
from kieframe._validation_types import FieldInfo
from kieframe.authoring import ModelSpec
from kieframe.errors import InputValidationError
from kieframe.registry import Registry
from kieframe.testing import valid_inputs


def _as_text(value: Any) -> str:
    """How a person would type ``value`` on the command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


_REGISTRY = Registry(environ={})


def _budget(spec: ModelSpec[Any]) -> settings:
    """The active profile; a few examples for a catalogue model (all built by one compiler)."""
    profile = settings()
    if not _REGISTRY.source(spec.id).fallback:
        return profile
    slow = [*profile.suppress_health_check, HealthCheck.too_slow]
    return settings(profile, max_examples=min(10, profile.max_examples), suppress_health_check=slow)


@pytest.mark.parametrize("spec", kieframe.models(), ids=lambda spec: spec.id)
def test_typed_text_reads_back_as_the_same_input(spec: ModelSpec[Any]) -> None:
    @_budget(spec)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        value = data.draw(valid_inputs(spec))
        # One typed word per field (lists and objects are given as JSON with --input instead).
        # A media field's text is a URL or a local path; leaving it out is how to unset it.
        media = {field.name for field in spec.media_fields}
        typed = {
            key: item
            for key, item in value.items()
            if not isinstance(item, list | dict) and not (key in media and item is None)
        }
        parsed = dict(parse_assignment(spec, f"{key}={_as_text(v)}") for key, v in typed.items())
        assert spec.validate({**value, **parsed}) == spec.validate(value)

    check()


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


def _number_field(annotation: Any) -> FieldInfo:
    return FieldInfo("n", mi.type_info(annotation), annotation, required=False, default=None)


def test_text_that_fits_no_reading_is_left_for_validation_to_report() -> None:
    spec = kieframe.get_model("wan/2-5-image-to-video")
    assert parse_assignment(spec, "seed=many") == ("seed", "many")
    assert parse_assignment(spec, "enable_prompt_expansion=maybe") == (
        "enable_prompt_expansion",
        "maybe",
    )
    assert parse_assignment(spec, "no_such_field=1") == ("no_such_field", "1")
    with pytest.raises(InputValidationError, match="seed"):
        spec.validate({"prompt": "x", "image_url": "https://a.b/c.png", "seed": "many"})


#: Text Python's int() or float() reads though JSON does not: \u0661\u0662 is Arabic-Indic "12",
#: \uff11\uff12 fullwidth "12".
_LOOSE = ["1_000", "\u0661\u0662", "\u0663.\u0665", " 5", "5 ", "+5", "nan", "inf", "-inf",
          "5.", ".5", "0x10", "-0", "007", "\uff11\uff12", "1e5", "1E-3"]  # fmt: skip
_NUMBER_TEXT = (
    st.integers().map(str)
    | st.floats(allow_nan=False, allow_infinity=False).map(str)
    | st.sampled_from(_LOOSE)
    | st.text(max_size=8)
)
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


@given(text=_NUMBER_TEXT, kind=st.sampled_from(["seed", "guidance"]))
def test_a_number_field_reads_only_json_style_ascii_numbers(text: str, kind: str) -> None:
    """Python's int() and float() read ``1_000`` and Arabic-Indic digits: left to validation."""
    field = _number_field(int if kind == "seed" else float)
    value = parse_value(field, text)
    if kind == "seed":
        read = re.fullmatch(r"-?(?:0|[1-9][0-9]*)", text) is not None
        assert (value == int(text)) if read else (value == text)
    else:
        read = _JSON_NUMBER.fullmatch(text) is not None
        assert (value == float(text)) if read else (value == text)


def test_a_list_cell_nested_too_deeply_is_left_for_validation_to_report() -> None:
    field = _number_field(list[int])
    text = "[" * 50_000 + "]" * 50_000
    assert parse_value(field, text) == text
