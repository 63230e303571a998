"""The JSON-Schema-to-Struct compiler: every constraint kept, the same as a hand-written Struct."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kieframe
from kieframe.authoring import ModelSpec, media_meta, number_meta, spec_from_schema
from kieframe.testing import check_model

DOCS = "https://docs.kie.ai/market/acme/animate"


def _spec(properties: dict[str, Any], *, required: tuple[str, ...] = (), **options: Any) -> Any:
    schema = {"type": "object", "properties": properties, "required": list(required)}
    return spec_from_schema(schema, id="acme/animate", title="Acme", docs_url=DOCS, **options)


def _problems(spec: ModelSpec[Any], data: dict[str, Any]) -> list[str]:
    try:
        spec.validate(data)
    except kieframe.InputValidationError as error:
        return [problem.field for problem in error.problems]
    return []


def test_types_are_kept_per_model_digit_strings_numbers_and_integers() -> None:
    spec = _spec(
        {
            "as_text": {"type": "string", "enum": ["5", "10"]},
            "as_number": {"type": "number", "minimum": 1, "maximum": 6},
            "as_integer": {"type": "integer", "minimum": 1, "maximum": 6},
        }
    )
    assert _problems(spec, {"as_text": "5", "as_number": 2.5, "as_integer": 2}) == []
    assert _problems(spec, {"as_text": 5}) == ["as_text"]
    assert _problems(spec, {"as_number": "2"}) == ["as_number"]
    assert _problems(spec, {"as_integer": 2.5}) == ["as_integer"]
    value = spec.validate({"as_text": "10", "as_integer": 3})
    assert spec.to_input(value) == {"as_text": "10", "as_integer": 3}


@given(
    value=st.integers(-1000, 1000)
    | st.floats(-1000, 1000, allow_nan=False)
    | st.sampled_from([8, 8.0, -0.0, 2.5])
)
def test_a_whole_number_for_a_json_number_is_sent_as_an_integer(value: float) -> None:
    """kie.ai's documented bodies send ``"duration": 8``: a whole number goes out without ``.0``."""
    number = {"type": "number", "minimum": -1000, "maximum": 1000}
    spec = _spec(
        {
            "number": number,
            "numbers": {"type": "array", "items": number},
            "nested": {"type": "object", "properties": {"number": number}},
            "integer": {"type": "integer"},
        }
    )
    data = {"number": value, "numbers": [value, 0.5], "nested": {"number": value}, "integer": 3}
    sent = msgspec.json.encode(spec.to_request(spec.validate(data)))
    expected = msgspec.json.encode(int(value) if float(value).is_integer() else value)
    assert sent == (
        b'{"model":"acme/animate","input":{"number":%b,"numbers":[%b,0.5],'
        b'"nested":{"number":%b},"integer":3}}' % (expected, expected, expected)
    )


@given(value=st.integers(-50, 50))
def test_inclusive_and_exclusive_bounds(value: int) -> None:
    spec = _spec(
        {
            "inclusive": {"type": "integer", "minimum": -5, "maximum": 5},
            "exclusive": {"type": "number", "exclusiveMinimum": -5, "exclusiveMaximum": 5},
        }
    )
    assert (_problems(spec, {"inclusive": value}) == []) == (-5 <= value <= 5)
    assert (_problems(spec, {"exclusive": value}) == []) == (-5 < value < 5)


@given(tenths=st.integers(-5, 25))
def test_number_steps_are_checked_within_float_rounding(tenths: int) -> None:
    spec = _spec({"scale": {"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.1}})
    on_step = tenths / 10  # 0.3 is no exact binary multiple of 0.1, yet kie means it is
    assert (_problems(spec, {"scale": on_step}) == []) == (0 <= tenths <= 10)
    assert _problems(spec, {"scale": (tenths + 0.5) / 10}) == ["scale"]


def test_an_evenly_spaced_number_enum_is_a_range_with_a_step() -> None:
    spec = _spec({"stability": {"type": "number", "enum": [0, 0.5, 1]}})
    assert _problems(spec, {"stability": 0.5}) == []
    assert _problems(spec, {"stability": 0.25}) == ["stability"]
    assert _problems(spec, {"stability": 1.5}) == ["stability"]


def test_lengths_patterns_and_item_counts() -> None:
    spec = _spec(
        {
            "prompt": {"type": "string", "minLength": 3, "maxLength": 10},
            "hex": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
        }
    )
    assert _problems(spec, {"prompt": "abc", "hex": "#00ff00", "tags": ["a"]}) == []
    assert _problems(spec, {"prompt": "ab"}) == ["prompt"]
    assert _problems(spec, {"prompt": "a" * 11}) == ["prompt"]
    assert _problems(spec, {"hex": "00ff00"}) == ["hex"]
    assert _problems(spec, {"tags": []}) == ["tags"]
    assert _problems(spec, {"tags": ["a", "b", "c"]}) == ["tags"]


def test_nested_objects_and_arrays_of_objects_report_their_paths() -> None:
    shot = {
        "type": "object",
        "properties": {
            "prompt": {"type": "string", "maxLength": 5},
            "duration": {"type": "integer", "minimum": 1, "maximum": 12},
        },
        "required": ["prompt"],
    }
    spec = _spec(
        {
            "shots": {"type": "array", "items": shot, "maxItems": 3},
            "camera": {"type": "object", "properties": {"speed": {"type": "integer"}}},
        }
    )
    good = {"shots": [{"prompt": "a", "duration": 3}], "camera": {"speed": 2}}
    value = spec.validate(good)
    assert spec.to_input(value) == good
    with pytest.raises(kieframe.InputValidationError) as caught:
        spec.validate({"shots": [{"prompt": "a"}, {"prompt": "a", "duration": 13}]})
    assert [p.field for p in caught.value.problems] == ["shots[1].duration"]
    assert _problems(spec, {"shots": [{"duration": 1}]}) == ["shots[0].prompt"]
    assert _problems(spec, {"camera": {"speed": 1, "tilt": 2}}) != []


def test_names_with_trailing_spaces_are_trimmed() -> None:
    spec = _spec(
        {"image_urls ": {"type": "array", "items": {"type": "string"}}}, required=("image_urls ",)
    )
    assert [field.name for field in spec.fields] == ["image_urls"]
    assert spec.fields[0].required


def test_optional_fields_are_left_out_and_show_kies_default() -> None:
    spec = _spec(
        {
            "prompt": {"type": "string"},
            "resolution": {"type": "string", "enum": ["720p", "1080p"], "default": "720p"},
            "duration": {"type": "string", "enum": ["5", "10"], "default": "5"},
        },
        required=("prompt", "duration"),
    )
    value = spec.validate({"prompt": "a cat"})
    # Optional: kie applies its default; required with a default: always sent.
    assert spec.to_input(value) == {"prompt": "a cat", "duration": "5"}
    schema = spec.json_schema()
    assert "720p" in str(schema["properties"]["resolution"])


def test_media_fields_are_recognised_from_the_schema_and_its_prose() -> None:
    spec = _spec(
        {
            "image_url": {
                "type": "string",
                "format": "uri",
                "description": "Accepted types: image/jpeg, image/png; Max size: 5.0MB",
            },
            "reference_video_urls": {
                "type": "array",
                "items": {"type": "string", "format": "uri"},
                "maxItems": 3,
            },
            "audio_url": {"type": "string"},
            "first_frame_url": {"type": "string", "pattern": "^(https?|oss)://"},
            "reference_image_urls": {
                "type": "array",
                "items": {"type": "string"},
                "description": "image URLs or asset://{assetId}",
            },
        },
        required=("image_url",),
    )
    media = {field.name: field for field in spec.media_fields}
    assert media["image_url"].limits.media_types == ("image/jpeg", "image/png")
    assert media["image_url"].limits.max_bytes == 5 << 20
    assert media["reference_video_urls"].many
    assert media["reference_video_urls"].limits.kind == "video"
    assert media["audio_url"].limits.kind == "audio"
    url = "https://example.com/a.png"
    assert _problems(spec, {"image_url": url, "first_frame_url": "oss://bucket/a.png"}) == []
    assert _problems(spec, {"image_url": url, "first_frame_url": "ftp://x/a.png"}) != []
    assert _problems(spec, {"image_url": url, "reference_image_urls": ["asset://asset-1"]}) == []
    # kie's examples send "" for an optional URL: it means "none".
    assert _problems(spec, {"image_url": url, "audio_url": ""}) == []
    assert _problems(spec, {"image_url": ""}) == ["image_url"]


def test_patches_add_prose_limits_and_fields_and_unrequire() -> None:
    properties = {
        "duration": {"type": "number"},
        "prompt": {"type": "string"},
        "voice": {"type": "string", "enum": ["a", "b"]},
    }
    patches = {
        "duration": {"minimum": 4, "maximum": 12},
        "prompt": {"x-required": False},
        "voice": {"enum": None},
        "nsfw_checker": {"type": "boolean"},
    }
    spec = _spec(properties, required=("prompt", "duration"), patches=patches)
    assert _problems(spec, {"duration": 13}) == ["duration"]
    assert _problems(spec, {"duration": 4, "voice": "Rachel", "nsfw_checker": True}) == []


def test_a_patch_for_a_missing_field_without_a_type_is_refused() -> None:
    with pytest.raises(kieframe.authoring.SchemaError, match="nope"):
        _spec({"a": {"type": "string"}}, patches={"nope": {"maximum": 1}})


def test_a_schema_it_cannot_express_fails_loudly_naming_the_property() -> None:
    with pytest.raises(kieframe.authoring.SchemaError, match="weights"):
        _spec({"weights": {"type": "number", "enum": [0, 0.3, 1]}})
    with pytest.raises(kieframe.authoring.SchemaError, match="thing"):
        _spec({"thing": {"description": "no type at all"}})


def test_lazy_specs_compile_on_first_use_and_fail_there() -> None:
    bad = {"type": "object", "properties": {"x": {"type": "frobnicate"}}}
    spec = spec_from_schema(bad, id="acme/lazy", title="Lazy", docs_url=DOCS, lazy=True)
    assert spec.id == "acme/lazy"
    with pytest.raises(kieframe.authoring.SchemaError, match="'x'"):
        _ = spec.input_type


def test_a_lazy_spec_first_used_by_validate_checks_like_an_eager_one() -> None:
    schema = {
        "type": "object",
        "properties": {
            "prompt": {"type": "string", "maxLength": 5},
            "seed": {"type": "integer", "minimum": 0},
        },
        "required": ["prompt"],
    }
    options: dict[str, Any] = {"id": "acme/lazy", "title": "Lazy", "docs_url": DOCS}
    eager = spec_from_schema(schema, **options)
    for build_first in (False, True):
        lazy = spec_from_schema(schema, **options, lazy=True)
        if build_first:
            _ = lazy.input_type
        value = lazy.validate({"prompt": "cat"})  # the first use, when not built above
        assert lazy.to_input(value) == eager.to_input(eager.validate({"prompt": "cat"}))
        with pytest.raises(kieframe.InputValidationError) as caught:
            lazy.validate({"prompt": "too long", "seed": -1})
        assert sorted(p.field for p in caught.value.problems) == ["prompt", "seed"]


def test_rules_from_prose_are_checked_as_one_input_error() -> None:
    spec = _spec(
        {"task_id": {"type": "string"}, "image_url": {"type": "string", "format": "uri"}},
        rules=(kieframe.authoring.one_of_required("task_id", "image_url"),),
    )
    assert _problems(spec, {}) == ["task_id"]
    assert _problems(spec, {"task_id": "t1"}) == []


# -- the same model written by hand and compiled from its schema --------------------------------


class _HandInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=800)]
    image_urls: Annotated[list[Annotated[str, media_meta("image")]], msgspec.Meta(max_length=3)]
    cfg_scale: Annotated[float, number_meta(ge=0, le=1, step=0.1)] | None = None
    voice_url: Annotated[str, media_meta("audio", optional=True)] | None = None
    duration: Literal["5", "10"] = "5"


_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "prompt": {"type": "string", "minLength": 1, "maxLength": 800},
        "image_urls": {
            "type": "array",
            "items": {"type": "string", "format": "uri"},
            "maxItems": 3,
        },
        "cfg_scale": {"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.1},
        "voice_url": {"type": "string", "format": "uri"},
        "duration": {"type": "string", "enum": ["5", "10"], "default": "5"},
    },
    "required": ["prompt", "image_urls", "duration"],
}


def _pair() -> tuple[ModelSpec[Any], ModelSpec[Any]]:
    options: dict[str, Any] = {"title": "Acme", "docs_url": DOCS, "output": "video"}
    example = {
        "model": "acme/animate",
        "input": {"prompt": "a cat", "image_urls": ["https://example.com/a.png"], "duration": "5"},
    }
    hand = ModelSpec(id="acme/animate", input_type=_HandInput, examples=(example,), **options)
    built = spec_from_schema(_SCHEMA, id="acme/animate", examples=(example,), **options)
    return hand, built


def test_hand_written_and_schema_built_specs_describe_the_same_fields() -> None:
    hand, built = _pair()
    assert [(f.name, f.required, f.default) for f in hand.fields] == [
        (f.name, f.required, f.default) for f in built.fields
    ]
    describe = kieframe._validation_describe.describe_type
    assert [describe(f.type) for f in hand.fields] == [describe(f.type) for f in built.fields]
    assert hand.media_fields == built.media_fields
    strip = _without_descriptions
    assert strip(hand.json_schema()) == strip(built.json_schema())


def _without_descriptions(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            key: _without_descriptions(value)
            for key, value in schema.items()
            if key not in ("description", "$defs") and not key.startswith("$ref")
        }
    if isinstance(schema, list):
        return [_without_descriptions(item) for item in schema]
    return schema


# A loaded machine once made drawing one example take a second (too_slow in the dev profile).
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.dictionaries(
        st.sampled_from(["prompt", "image_urls", "cfg_scale", "voice_url", "duration", "other"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-2, 12),
            st.floats(-1, 2),
            st.text(max_size=3),
            st.sampled_from(["5", "10", "https://example.com/a.png", ""]),
            st.lists(st.sampled_from(["https://example.com/a.png", "x"]), max_size=4),
        ),
    )
)
def test_hand_written_and_schema_built_specs_validate_alike(data: dict[str, Any]) -> None:
    hand, built = _pair()
    outcomes: list[Any] = []
    for spec in (hand, built):
        try:
            outcomes.append(spec.to_input(spec.validate(data)))
        except kieframe.InputValidationError as error:
            outcomes.append(sorted(str(problem) for problem in error.problems))
    assert outcomes[0] == outcomes[1]


def test_hand_written_and_schema_built_specs_both_keep_the_contract() -> None:
    for spec in _pair():
        check_model(spec)
