"""Validation before anything is sent: every problem at once, each naming its field and limit."""

from __future__ import annotations

import json
import math
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kieframe
from kieframe._core._effects import Blocking, Call
from kieframe._core._submit import create_op, encode_body, prepare_submission
from kieframe._files._local import stage_input
from kieframe._journal import Journal, callback_token, tag_callback_url
from kieframe._registry import Registry, default_registry
from kieframe.authoring import ModelSpec, Problem, hookimpl, spec_from_schema
from kieframe.testing import invalid_inputs, valid_inputs

WAN = "wan/2-5-image-to-video"
HAILUO = "hailuo/02-image-to-video-pro"
IMAGE = "https://example.com/cat.png"


def _problems(model: str, data: Any) -> dict[str, str]:
    with pytest.raises(kieframe.InputValidationError) as caught:
        kieframe.get_model(model).validate(data)
    return {problem.field: str(problem) for problem in caught.value.problems}


def test_minimal_input_gets_the_documented_defaults() -> None:
    spec = kieframe.get_model(WAN)
    value = spec.validate({"prompt": "a cat", "image_url": IMAGE})
    assert spec.to_request(value) == {
        "model": WAN,
        "input": {
            "prompt": "a cat",
            "image_url": IMAGE,
            "duration": "5",
            "resolution": "1080p",
            "negative_prompt": "",
            "enable_prompt_expansion": True,
        },  # nsfw_checker, not on the model's page, is sent only when set
    }


def test_callback_url_goes_into_the_body() -> None:
    spec = kieframe.get_model(HAILUO)
    value = spec.validate({"prompt": "p", "image_url": IMAGE})
    body = spec.to_request(value, callback_url="https://example.com/hook")
    assert body["callBackUrl"] == "https://example.com/hook"
    assert body["input"]["end_image_url"] == ""
    assert body["input"]["prompt_optimizer"] is True


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems(
        WAN,
        {
            "prompt": "x" * 801,
            "image_url": "file:///etc/passwd",
            "duration": 5,
            "resolution": "4k",
            "negative_prompt": "n" * 501,
            "enable_prompt_expansion": "yes",
            "seed": 1.5,
        },
    )
    assert set(problems) == {
        "prompt",
        "image_url",
        "duration",
        "resolution",
        "negative_prompt",
        "enable_prompt_expansion",
        "seed",
    }
    assert "801 characters" in problems["prompt"]
    assert "1 to 800 characters" in problems["prompt"]
    assert "at most 500 characters" in problems["negative_prompt"]
    assert "one of '5', '10'" in problems["duration"]
    assert "one of '720p', '1080p'" in problems["resolution"]
    assert "http(s) URL" in problems["image_url"]
    assert "integer" in problems["seed"]
    assert "true or false" in problems["enable_prompt_expansion"]


def test_missing_required_fields_are_named() -> None:
    problems = _problems(HAILUO, {})
    assert set(problems) == {"prompt", "image_url"}
    assert "is required" in problems["prompt"]
    assert "1500 characters" in problems["prompt"]


def test_unknown_field_gets_a_did_you_mean() -> None:
    problems = _problems(HAILUO, {"prompt": "p", "image_url": IMAGE, "promt_optimizer": True})
    assert "did you mean 'prompt_optimizer'?" in problems["promt_optimizer"]


def test_unknown_field_far_from_any_lists_the_known_ones() -> None:
    problems = _problems(HAILUO, {"prompt": "p", "image_url": IMAGE, "zzz": 1})
    assert "known fields: prompt, image_url, end_image_url, prompt_optimizer" in problems["zzz"]


def test_error_message_names_model_and_count() -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        kieframe.get_model(WAN).validate({"prompt": ""})
    text = str(caught.value)
    assert text.startswith(f"invalid input for {WAN} (2 problems):")
    assert caught.value.fields == ("prompt", "image_url")
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, kieframe.KieError)


def test_non_mapping_input_is_refused() -> None:
    assert "must be an object" in _problems(WAN, ["prompt"])["input"]


def test_a_struct_built_by_hand_is_validated_too() -> None:
    spec = kieframe.get_model(WAN)
    unchecked = spec.input_type(prompt="x" * 900, image_url=IMAGE)  # construction does not check
    with pytest.raises(kieframe.InputValidationError) as caught:
        spec.validate(unchecked)
    assert caught.value.fields == ("prompt",)


def test_empty_end_image_is_allowed_but_a_bad_one_is_not() -> None:
    spec = kieframe.get_model(HAILUO)
    assert spec.validate({"prompt": "p", "image_url": IMAGE, "end_image_url": ""})
    assert "end_image_url" in _problems(
        HAILUO, {"prompt": "p", "image_url": IMAGE, "end_image_url": "not a url"}
    )


def test_strings_stay_strings_and_booleans_stay_booleans() -> None:
    spec = kieframe.get_model(WAN)
    value = spec.validate(
        {"prompt": "p", "image_url": IMAGE, "duration": "10", "enable_prompt_expansion": False}
    )
    body = msgspec.json.encode(spec.to_request(value))
    assert b'"duration":"10"' in body
    assert b'"enable_prompt_expansion":false' in body


@pytest.mark.parametrize(("model", "limit"), [(WAN, 800), (HAILUO, 1500)])
@given(extra=st.integers(min_value=-5, max_value=5))
def test_prompt_length_limit_is_exact(model: str, limit: int, extra: int) -> None:
    spec = kieframe.get_model(model)
    data = {"prompt": "\u00e9" * (limit + extra), "image_url": IMAGE}
    if extra <= 0:
        assert spec.validate(data).prompt == data["prompt"]
    else:
        assert set(_problems(model, data)) == {"prompt"}


def test_media_fields_describe_what_a_local_file_may_be() -> None:
    (field,) = kieframe.get_model(WAN).media_fields
    assert field.name == "image_url"
    assert field.required
    assert field.limits.media_types == ("image/jpeg", "image/png", "image/webp")
    assert field.limits.max_bytes == 10 * 1024 * 1024
    assert field.limits.describe() == "image/jpeg, image/png, image/webp; at most 10 MB"
    names = [(f.name, f.required) for f in kieframe.get_model(HAILUO).media_fields]
    assert names == [("image_url", True), ("end_image_url", False)]


def test_json_schema_carries_the_limits() -> None:
    schema = kieframe.get_model(WAN).json_schema()
    assert schema["title"] == "Wan 2.5 Image to Video"
    assert schema["properties"]["prompt"]["maxLength"] == 800
    assert schema["required"] == ["prompt", "image_url"]
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("seed", [-1, 0, 2**31, 3_000_000_000])
def test_wan_takes_any_integer_seed_as_kie_documents(seed: int) -> None:
    # kie.ai's page and schema say "integer" with no range: kieframe invents none.
    value = kieframe.get_model(WAN).validate(
        {"prompt": "a fox", "image_url": "https://example.com/f.png", "seed": seed}
    )
    assert kieframe.get_model(WAN).to_input(value)["seed"] == seed


# -- the submit's quick path: one convert, one encode, the same bytes and problems as the full way

_MODELS = sorted(spec.id for spec in kieframe.models())
_STRATEGIES: dict[tuple[str, bool], st.SearchStrategy[Any]] = {}


def _inputs(model: str, *, valid: bool) -> st.SearchStrategy[Any]:
    key = (model, valid)
    if key not in _STRATEGIES:
        spec = kieframe.get_model(model)
        _STRATEGIES[key] = valid_inputs(spec) if valid else invalid_inputs(spec)
    return _STRATEGIES[key]


def _canonical(content: bytes) -> str:
    """The JSON text with its values' kinds and its keys' order kept (1 and 1.0 stay apart)."""
    return json.dumps(json.loads(content), ensure_ascii=False)


# Over every registered model: a model drawn, then an input for it.
_over_the_registry = settings(
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
_a_model = st.sampled_from(_MODELS)


@_over_the_registry
@given(data=st.data(), model=_a_model)
def test_a_submit_sends_what_the_full_way_sent_for_every_model(
    data: st.DataObject, model: str
) -> None:
    spec = kieframe.get_model(model)
    given_input = data.draw(_inputs(model, valid=True), label="input")
    callback = data.draw(st.sampled_from([None, "https://example.com/hook?a=1"]), label="cb")
    submission = prepare_submission(default_registry(), model, given_input, callback_url=callback)
    staged = stage_input(spec, given_input)  # the full way: staging, validation, a dict body
    before = spec.to_request(staged.value, callback_url=callback)
    sent = encode_body(submission)
    assert _canonical(sent) == _canonical(
        json.dumps(before, ensure_ascii=False, separators=(",", ":")).encode()
    )
    assert submission.input == before["input"]
    assert submission.body == before
    assert not submission.uploads
    assert submission.input_json is not None  # encoded once, with the validation
    assert json.loads(submission.input_json) == before["input"]


@_over_the_registry
@given(data=st.data(), model=_a_model)
def test_a_submit_refuses_with_the_problems_validation_finds_for_every_model(
    data: st.DataObject, model: str
) -> None:
    spec = kieframe.get_model(model)
    case = data.draw(_inputs(model, valid=False), label="case")
    with pytest.raises(kieframe.InputValidationError) as caught:
        prepare_submission(default_registry(), model, case.data, callback_url=None)
    with pytest.raises(kieframe.InputValidationError) as full:
        stage_input(spec, case.data)
    assert caught.value.problems == full.value.problems
    assert case.field.split(".")[0].split("[")[0] in {
        problem.field.split(".")[0].split("[")[0] for problem in caught.value.problems
    }


def test_an_unset_optional_field_is_left_out_of_the_bytes_sent() -> None:
    submission = prepare_submission(
        default_registry(), WAN, {"prompt": "a cat", "image_url": IMAGE}, callback_url=None
    )
    body = msgspec.json.decode(encode_body(submission))
    assert "seed" not in body["input"]
    assert body["input"]["duration"] == "5"  # a default that is not None is sent
    assert list(body) == ["model", "input"]


def test_a_pattern_problem_names_the_pattern() -> None:
    problems = _problems(WAN, {"prompt": "p", "image_url": "file:///etc/passwd"})
    assert "does not match the pattern ^https?://" in problems["image_url"]
    assert "http(s) URL" in problems["image_url"]


def test_a_local_file_in_a_submit_is_still_staged_for_upload() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    submission = prepare_submission(
        default_registry(), WAN, {"prompt": "p", "image_url": png}, callback_url=None
    )
    assert [upload.field for upload in submission.uploads] == ["image_url"]
    assert submission.input_json is None  # encoded once the upload's link is in


def test_a_local_file_and_a_bad_field_are_reported_together() -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        prepare_submission(
            default_registry(),
            WAN,
            {"prompt": "x" * 801, "image_url": b"not an image"},
            callback_url=None,
        )
    assert set(caught.value.fields) == {"prompt", "image_url"}


class _Tagged(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="shot"):
    prompt: str
    seed: int | None = None


class _Compact(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    prompt: str
    steps: int = 4


class _NullByDefault(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    prompt: str
    steps: int | None = 4  # a None given here is left out, not sent as null
    seed: int | None = None


class _Listed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    prompt: str
    tags: list[str] = msgspec.field(default_factory=list)
    seed: int | None = None


class _Checked(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    prompt: str
    steps: int = 4

    def __post_init__(self) -> None:
        if self.prompt == "refused":
            raise ValueError("a prompt the Struct refuses")


class _Plugin:
    def __init__(self, spec: ModelSpec[Any]) -> None:
        self.spec = spec

    @hookimpl
    def kieframe_models(self) -> list[ModelSpec[Any]]:
        return [self.spec]


@pytest.mark.parametrize(
    ("input_type", "data"),
    [
        (_Tagged, {"prompt": "p", "seed": 1}),
        (_Compact, {"prompt": "p"}),
        (_NullByDefault, {"prompt": "p", "steps": None, "seed": None}),
        (_NullByDefault, {"prompt": "p"}),
        (_Listed, {"prompt": "p", "seed": None}),
        (_Checked, {"prompt": "p"}),
    ],
)
def test_a_struct_that_encodes_its_own_way_sends_the_input_object_as_before(
    input_type: type[msgspec.Struct], data: dict[str, Any]
) -> None:
    spec = ModelSpec(id="test/own-way", input_type=input_type, title="t", docs_url="https://x.y")
    registry = Registry(entry_points=False)
    registry.register(_Plugin(spec))
    submission = prepare_submission(registry, spec.id, data, callback_url=None)
    expected = spec.to_input(spec.validate(data))
    assert msgspec.json.decode(encode_body(submission))["input"] == expected
    assert submission.input == expected


def test_a_struct_that_checks_itself_refuses_a_submit_too() -> None:
    spec = ModelSpec(id="test/checked", input_type=_Checked, title="t", docs_url="https://x.y")
    registry = Registry(entry_points=False)
    registry.register(_Plugin(spec))
    with pytest.raises(kieframe.InputValidationError) as caught:
        prepare_submission(registry, spec.id, {"prompt": "refused"}, callback_url=None)
    assert "refuses" in str(caught.value)


# -- a compiled number field: a whole number is sent as an int on the submit's quick path too


def _numbers_spec(model: str, *, most: float) -> ModelSpec[Any]:
    number = {"type": "number", "minimum": -20.5, "maximum": most}
    properties = {
        "prompt": {"type": "string"},
        "scale": number,
        "strength": {"type": "number", "exclusiveMinimum": 0.2, "exclusiveMaximum": 0.8},
        "shift": {"type": "number", "minimum": 0, "maximum": 10, "default": 4.0},
        "weights": {"type": "array", "items": number, "maxItems": 3},
    }
    schema = {"type": "object", "properties": properties, "required": ["prompt", "shift"]}
    return spec_from_schema(schema, id=model, title=model, docs_url="https://docs.kie.ai/market")


# Numbers up to 20.5, and up to 1e20 (more whole numbers than a float holds exactly).
_NUMBER_SPECS = {
    model: _numbers_spec(model, most=most)
    for model, most in (("acme/numbers", 20.5), ("acme/big-numbers", 1e20))
}
_NUMBERS_REGISTRY = Registry(entry_points=False)
for _spec in _NUMBER_SPECS.values():
    _NUMBERS_REGISTRY.register(_Plugin(_spec))
_EDGES = [-21, -20, 0, 1, 10, 11, 20, 21, 2**53 + 1, 10**30]
_A_NUMBER = (
    st.integers(-25, 25)
    | st.floats(-25, 25)
    | st.sampled_from(_EDGES)
    | st.sampled_from(_EDGES).map(float)
    | st.sampled_from([-0.0, 0.25, True, "8", None, math.nan, math.inf])
)


@pytest.mark.parametrize("field", ["scale", "strength", "shift", "weights"])
@pytest.mark.parametrize("model", sorted(_NUMBER_SPECS))
@given(
    value=_A_NUMBER
    | st.lists(_A_NUMBER, max_size=3)
    | st.lists(_A_NUMBER, max_size=3).map(tuple)
    | st.just(msgspec.UNSET)
)
def test_a_number_field_is_sent_and_refused_on_a_submit_as_its_struct_sends_and_refuses_it(
    model: str, field: str, value: Any
) -> None:
    """The same bytes as the input Struct, whose whole numbers are ints; the same problems."""
    spec = _NUMBER_SPECS[model]
    data = {"prompt": "p", "scale": 1.5, "strength": 0.5, "shift": 3, "weights": [1, 2.5]}
    data[field] = value
    if value is msgspec.UNSET:  # left out: its default, if it has one
        del data[field]
    sent = _outcome(
        lambda: encode_body(prepare_submission(_NUMBERS_REGISTRY, model, data, callback_url=None))
    )
    assert sent == _outcome(lambda: msgspec.json.encode(spec.to_request(spec.validate(data))))
    assert not isinstance(sent, bytes) or not re.search(rb"\.0[,\]}]", sent)  # 8, not 8.0


class _NoneShapes(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A hand-written input: a required field that may be None, and a None default on an int."""

    prompt: str
    seed: int | None
    steps: int = None  # type: ignore[assignment]


_NONE_SPEC = ModelSpec(
    id="acme/none-shapes", title="t", docs_url="https://e.com", input_type=_NoneShapes
)
_NONE_REGISTRY = Registry(entry_points=False)
_NONE_REGISTRY.register(_Plugin(_NONE_SPEC))
_GIVEN = st.sampled_from([None, 3, msgspec.UNSET])


@given(seed=_GIVEN, steps=_GIVEN)
def test_a_none_is_sent_or_left_out_on_a_submit_as_the_input_struct_sends_it(
    seed: Any, steps: Any
) -> None:
    """A None given to a required field that may be None is left out, one defaulting to None on
    a field that may not be None is sent: whichever way the submit takes."""
    data = {"prompt": "p", "seed": seed, "steps": steps}
    data = {key: value for key, value in data.items() if value is not msgspec.UNSET}
    sent = _outcome(
        lambda: encode_body(
            prepare_submission(_NONE_REGISTRY, _NONE_SPEC.id, data, callback_url=None)
        )
    )
    expected = lambda: msgspec.json.encode(_NONE_SPEC.to_request(_NONE_SPEC.validate(data)))  # noqa: E731
    assert sent == _outcome(expected)


def _outcome(send: Callable[[], bytes]) -> bytes | tuple[Problem, ...]:
    """The bytes sent, or the problems of the refusal."""
    try:
        return send()
    except kieframe.InputValidationError as error:
        return error.problems


# -- a refused input is explained when its error is first read, as it was when it was refused


def test_a_refused_input_is_explained_as_it_was_when_refused() -> None:
    data: dict[str, Any] = {"prompt": "x" * 801, "image_url": IMAGE}
    with pytest.raises(kieframe.InputValidationError) as caught:
        prepare_submission(default_registry(), WAN, data, callback_url=None)
    data["prompt"] = "fixed"  # its owner changes it before the error is read
    data["zzz"] = 1
    assert caught.value.fields == ("prompt",)
    assert "801 characters" in str(caught.value)


def test_a_refused_input_with_nested_values_is_explained_as_it_was_when_refused() -> None:
    urls = ["not a url"]
    data: dict[str, Any] = {"prompt": "a cat", "image_urls": urls}
    with pytest.raises(kieframe.InputValidationError) as caught:
        prepare_submission(default_registry(), "qwen3/image-to-image", data, callback_url=None)
    urls[0] = IMAGE  # its owner mends the list before the error is read
    assert caught.value.fields == ("image_urls[0]",)


class _Shouting(Problem, frozen=True):
    def __str__(self) -> str:
        return super().__str__().upper()


@given(
    field=st.text(max_size=10),
    message=st.text(max_size=20),
    limit=st.none() | st.text(max_size=10),
)
def test_a_problem_is_an_immutable_value(field: str, message: str, limit: str | None) -> None:
    problem = Problem(field, message, limit)
    assert problem == Problem(field=field, message=message, limit=limit)
    assert hash(problem) == hash(Problem(field, message, limit))
    assert (problem.field, problem.message, problem.limit) == (field, message, limit)
    assert repr(problem) == f"Problem(field={field!r}, message={message!r}, limit={limit!r})"
    assert pickle.loads(pickle.dumps(problem)) == problem  # noqa: S301 - our own bytes
    assert str(problem) == (
        f"{field}: {message} (expected {limit})" if limit else f"{field}: {message}"
    )
    with pytest.raises(AttributeError):
        problem.limit = "another"  # type: ignore[misc]
    # An error with one problem words it as the problem words itself (a subclass too).
    error = kieframe.InputValidationError("m/x", [problem])
    assert str(error) == f"invalid input for m/x (1 problem):\n  - {problem}"
    assert str(kieframe.InputValidationError("m/x", [_Shouting(field, message, limit)])) == (
        f"invalid input for m/x (1 problem):\n  - {str(problem).upper()}"
    )
    assert Problem("f", "m") == Problem("f", "m", None) != Problem("f", "m", "l")


def test_an_error_made_with_its_problems_keeps_them_and_its_model() -> None:
    error = kieframe.InputValidationError("m/x", iter([Problem("prompt", "is bad", "good")]))
    assert (error.model_id, error.args, error.fields) == ("m/x", ("m/x",), ("prompt",))
    assert (
        str(error)
        == error.message
        == "invalid input for m/x (1 problem):\n  - prompt: is bad (expected good)"
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.problems, copy.model_id, str(copy)) == (error.problems, "m/x", str(error))


def test_an_error_explained_later_pickles_and_reprs_with_its_problems() -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        kieframe.get_model(WAN).validate({"prompt": "", "image_url": "nope"})
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - our own bytes
    assert copy.problems == caught.value.problems
    assert copy.fields == ("prompt", "image_url")
    assert (str(copy), repr(copy)) == (str(caught.value), repr(caught.value))
    assert "must not be empty" in repr(copy)


def test_a_journaled_create_with_a_callback_sends_the_input_as_validated(tmp_path: Path) -> None:
    # The callback URL gains the submission's token; the input's bytes are the ones validation
    # encoded, and the body decodes to what the full way sends with that URL.
    data = {"prompt": "a cat", "image_url": IMAGE, "seed": 7}
    hook = "https://example.com/hook?a=1"
    submission = prepare_submission(default_registry(), WAN, data, callback_url=hook)
    assert submission.input_json is not None
    journal = Journal(tmp_path / "journal.db")
    op = create_op(submission, journal=journal, attempts=1, rate_window=1.0)
    effect = next(op)
    while not isinstance(effect, Call):
        effect = op.send(effect.function() if isinstance(effect, Blocking) else None)
    assert effect.content is not None
    sent = json.loads(effect.content)
    token = callback_token(urlsplit(sent["callBackUrl"]).query)
    assert token is not None
    tagged = tag_callback_url(hook, token)
    spec = kieframe.get_model(WAN)
    assert sent == spec.to_request(spec.validate(data), callback_url=tagged)
    assert submission.input_json in effect.content
    op.close()
    journal.close()


_URL_PIECES = st.lists(
    st.sampled_from(
        ["/", "?", "#", ":", "a", "b.c", " ", "\t", "\n", "\x0b", "\x1c", "\x7f", "\xa0"]
    )
    | st.sampled_from(["\u2028", "\u3000", "\u200b", "é", "\ud800"]),
    max_size=6,
).map("".join)
_URLS = st.builds(
    "".join,
    st.tuples(st.sampled_from(["", "http", "https", "oss", "HTTP", " http"]), st.just("://")),
).flatmap(lambda start: _URL_PIECES.map(start.__add__))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(url=_URLS | st.text(max_size=12))
def test_a_url_field_is_named_in_the_problems_exactly_when_its_pattern_refuses_it(
    url: str,
) -> None:
    # Read with another field wrong, so that the URL field's own test decides whether it is named.
    data = {"prompt": "x" * 801, "image_url": url}
    with pytest.raises(kieframe.InputValidationError) as caught:
        prepare_submission(default_registry(), WAN, data, callback_url=None)
    pattern = kieframe.authoring.url_pattern()
    refused = "\ud800" in url or re.search(pattern, url) is None
    assert ("image_url" in caught.value.fields) == refused


def _free_ints(spec: ModelSpec[Any]) -> list[str]:
    """The top-level fields that take an int with no bound on a side (a seed, mostly)."""

    def free(node: msgspec.inspect.Type) -> bool:
        if isinstance(node, msgspec.inspect.Metadata):
            return free(node.type)
        if isinstance(node, msgspec.inspect.UnionType):
            return any(free(member) for member in node.types)
        return isinstance(node, msgspec.inspect.IntType) and (
            (node.ge is None and node.gt is None) or (node.le is None and node.lt is None)
        )

    return [field.name for field in spec.fields if free(field.type)]


class _Whole(int):
    """An int of a subclass, as numpy's and an IntEnum's are."""


FREE_INTS = [(spec, name) for spec in kieframe.models() for name in _free_ints(spec)]


@pytest.mark.parametrize(("spec", "name"), FREE_INTS, ids=[f"{s.id}:{n}" for s, n in FREE_INTS])
def test_an_int_without_a_bound_is_refused_past_64_bits(spec: ModelSpec[Any], name: str) -> None:
    registry = Registry(environ={})
    past = st.one_of(st.integers(min_value=2**63), st.integers(max_value=-(2**63) - 1))

    @settings(max_examples=5, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    def submit(data: dict[str, Any]) -> None:
        prepare_submission(registry, spec.id, data, callback_url=None)

    @given(
        data=valid_inputs(spec),
        big=past,
        way=st.sampled_from([submit, spec.validate]),
        kind=st.sampled_from([int, _Whole]),  # an int subclass (numpy's, an IntEnum's) too
    )
    def check(
        data: dict[str, Any],
        big: int,
        way: Callable[[dict[str, Any]], object],
        kind: type[int],
    ) -> None:
        with pytest.raises(kieframe.InputValidationError) as caught:
            way({**data, name: kind(big)})
        problems = [(p.field, p.message) for p in caught.value.problems]
        assert (name, f"{big} is too large for kie.ai") in problems

    check()


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (
            "wan/2-7-image",
            {"prompt": "a fox", "bbox_list": [[[1, 2, 3, 10**20]]]},
            "bbox_list[0][0][3]",
        ),
        (
            "kling-3.0/video",
            {
                "prompt": "a fox",
                "image_urls": [IMAGE],
                "duration": "5",
                "mode": "pro",
                "multi_shots": False,
                "sound": False,
                "aspect_ratio": "16:9",
                "kling_elements": [
                    {
                        "name": "fox",
                        "description": "a fox",
                        "element_input_urls": [IMAGE],
                        "start_time": -(10**25),
                    }
                ],
            },
            "kling_elements[0].start_time",
        ),
    ],
    ids=["list", "object"],
)
def test_a_nested_int_past_64_bits_is_refused_before_sending(
    model: str, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        prepare_submission(Registry(environ={}), model, data, callback_url=None)
    assert [p.field for p in caught.value.problems] == [field]
    assert "too large for kie.ai" in str(caught.value)


def test_the_largest_64_bit_seed_is_sent() -> None:
    data = {"prompt": "a cat", "image_url": IMAGE, "seed": 2**63 - 1}
    submission = prepare_submission(Registry(environ={}), WAN, data, callback_url=None)
    assert json.loads(encode_body(submission))["input"]["seed"] == 2**63 - 1


class _Links(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    image_url: kieframe.authoring.ImageUrl
    references: list[kieframe.authoring.ImageUrl] = []
    homepage: kieframe.authoring.HttpUrl = "https://example.com/"


_LINKS = ModelSpec(id="test/links", input_type=_Links, title="Links", docs_url="https://x.test/")

_name = st.text(
    st.characters(exclude_characters="\r\n/\\:.", exclude_categories=["Cs"]),
    min_size=1,
    max_size=12,
).filter(lambda text: text.strip() == text)
#: Strings that read as a local file's path: ./ ../ / ~ before it, a folder, or a file's extension.
local_looking = st.one_of(
    st.builds("{}{}".format, st.sampled_from(["./", "../", "/", "~/", "C:\\"]), _name),
    st.builds("{}/{}".format, _name, _name),
    st.builds("{}.{}".format, _name, st.sampled_from(["png", "jpg", "jpeg", "webp", "mp4", "mp3"])),
)


@given(path=local_looking)
def test_a_str_path_in_a_media_field_is_told_to_be_a_pathlib_path(path: str) -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        _LINKS.validate({"image_url": path, "references": [IMAGE, path]})
    worded = {problem.field: problem.message for problem in caught.value.problems}
    hint = "a str is a URL; pass pathlib.Path("
    assert hint in worded["image_url"], worded
    assert hint in worded["references[1]"], worded
    assert "does not match the pattern" not in worded["image_url"]


@pytest.mark.parametrize(
    ("value", "told"),
    [
        ("www.example.com/cat.png", "'www.example.com/cat.png' is not a URL: it needs its scheme"),
        ("example.com/cat.png", "it needs its scheme (https://...)"),
        ("data:image/png;base64,iVBORw0KGgo=", "a data URL is not a URL kie.ai fetches"),
    ],
)
def test_a_str_that_is_no_local_path_is_not_told_to_be_one(value: str, told: str) -> None:
    message = _problems(WAN, {"prompt": "x", "image_url": value})["image_url"]
    assert told in message
    assert "pathlib.Path('" not in message  # not told to read 'www.example.com/...' as a file


def test_a_str_naming_a_file_on_disk_is_told_to_be_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cat").write_bytes(b"no extension")
    message = _problems(WAN, {"prompt": "x", "image_url": "cat"})["image_url"]
    assert "pass pathlib.Path('cat') to upload a local file" in message


def test_a_str_path_hint_only_where_a_file_may_go() -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        _LINKS.validate({"image_url": "ftp://example.com/cat.png", "homepage": "cat.html"})
    worded = {problem.field: problem.message for problem in caught.value.problems}
    assert "pathlib" not in worded["image_url"]  # a URL of another scheme: the pattern says why
    assert "does not match the pattern" in worded["image_url"]
    assert "pathlib" not in worded["homepage"]  # a plain URL field takes no file
    assert _problems(WAN, {"prompt": "x", "image_url": "cat.png"})["image_url"].startswith(
        "image_url: 'cat.png' is not a URL: a str is a URL; "
        "pass pathlib.Path('cat.png') to upload a local file"
    )


def test_a_struct_with_more_fields_than_one_function_can_hold_is_still_explained() -> None:
    # The explanation's pass is written out as one function per Struct; past a few thousand
    # fields Python cannot compile it, and the pass goes key by key instead.
    names = [f"f{index}" for index in range(4000)]
    wide = msgspec.defstruct(
        "Wide",
        [(name, Annotated[int, msgspec.Meta(le=9)], 0) for name in names],
        frozen=True,
        forbid_unknown_fields=True,
    )
    spec = ModelSpec(id="test/wide", input_type=wide, title="Wide", docs_url="https://x.test/")
    with pytest.raises(kieframe.InputValidationError) as caught:
        spec.validate({"f0": 10, "f3999": "x", "f4000": 1})
    assert {problem.field for problem in caught.value.problems} == {"f0", "f3999", "f4000"}
    assert "f3999" in str(caught.value)


@pytest.mark.parametrize("schemes", [None, ("https", "asset")])
def test_an_optional_media_url_takes_empty_but_not_a_lone_newline(
    schemes: tuple[str, ...] | None,
) -> None:
    from kieframe.authoring import media_meta

    pattern = media_meta("image", optional=True, schemes=schemes).pattern
    assert pattern is not None
    assert re.search(pattern, "") is not None
    assert re.search(pattern, "https://a.example/x.png") is not None
    assert re.search(pattern, "\n") is None
    assert re.search(pattern, "https://a.example/x.png\n") is None
