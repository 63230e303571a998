"""Values of a str, int or float subclass (numpy, pandas, templating, enums) are the plain value.

A valid input whose leaves are such values, in dicts or lists that may be other mappings and
tuples, is sent exactly as the plain input; an invalid one gets the same problems.
"""

from __future__ import annotations

import enum
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kieframe
from kieframe import InputValidationError
from kieframe._core._submit import encode_body, prepare_submission
from kieframe.authoring import ModelSpec
from kieframe.registry import Registry
from kieframe.testing import InvalidInput, invalid_inputs, valid_inputs

MODELS = kieframe.models()
IDS = [spec.id for spec in MODELS]
_REGISTRY = Registry(environ={})


class Text(str):
    """A str subclass, as numpy.str_ or markupsafe.Markup are."""


class Whole(int):
    """An int subclass."""


class Real(float):
    """A float subclass, as numpy.float64 is."""


def _str_member(value: str) -> enum.StrEnum:
    """A member of a StrEnum, whose value is ``value``."""
    Choice = enum.StrEnum("Choice", {"ONE": value})
    return Choice["ONE"]


def _int_member(value: int) -> enum.IntEnum:
    """A member of an IntEnum, whose value is ``value``."""
    Choice = enum.IntEnum("Choice", {"ONE": value})
    return Choice["ONE"]


def _wrapped(value: Any, draw: st.DrawFn, *, top: bool = False) -> Any:
    """``value`` with its leaves and containers swapped, each as ``draw`` picks.

    Not the input's own field names: a dict of plain values is told apart by the types of its
    values alone, and refused at once if msgspec refuses it.
    """
    kind = type(value)
    if kind is dict:
        mapping = {
            key if top else _wrapped(key, draw): _wrapped(item, draw) for key, item in value.items()
        }
        shapes: list[Callable[[dict[Any, Any]], Any]] = [dict, OrderedDict, MappingProxyType]
        return draw(st.sampled_from(shapes))(mapping)
    if kind is list:
        items = [_wrapped(item, draw) for item in value]
        return draw(st.sampled_from([list, tuple]))(items)
    if kind is str:
        texts: list[Callable[[str], str]] = [Text, _str_member]
        return draw(st.sampled_from(texts))(value)
    if kind is int:
        wholes: list[Callable[[int], int]] = [Whole, _int_member]
        return draw(st.sampled_from(wholes))(value)
    if kind is float:
        return Real(value)
    return value  # bool and None cannot be subclassed


@st.composite
def _swapped(draw: st.DrawFn, data: Any) -> Any:
    return _wrapped(data, draw, top=True)


def _budget(spec: ModelSpec[Any]) -> settings:
    examples = 3 if _REGISTRY.source(spec.id).fallback else 15
    slow = [*settings().suppress_health_check, HealthCheck.too_slow]
    return settings(max_examples=min(examples, settings().max_examples), suppress_health_check=slow)


def _sent(model: str, data: Any) -> Any:
    """The body sent for ``data``, read back (the full way's encoder may spell 1e16 1e+16)."""
    return json.loads(encode_body(prepare_submission(_REGISTRY, model, data, callback_url=None)))


def _problems(model: str, data: Any) -> list[tuple[str, str]]:
    with pytest.raises(InputValidationError) as refused:
        _sent(model, data)
    return [(problem.field, problem.message) for problem in refused.value.problems]


@pytest.mark.parametrize("spec", MODELS, ids=IDS)
def test_a_valid_input_of_subclassed_values_is_sent_as_the_plain_one(
    spec: ModelSpec[Any],
) -> None:
    @_budget(spec)
    @given(pair=valid_inputs(spec).flatmap(lambda data: st.tuples(st.just(data), _swapped(data))))
    def check(pair: tuple[dict[str, Any], Mapping[str, Any]]) -> None:
        plain, swapped = pair
        assert _sent(spec.id, swapped) == _sent(spec.id, plain)
        validated = spec.validate(swapped)
        assert spec.to_request(validated) == spec.to_request(spec.validate(plain))

    check()


@pytest.mark.parametrize("spec", MODELS, ids=IDS)
def test_an_invalid_input_of_subclassed_values_has_the_same_problems(
    spec: ModelSpec[Any],
) -> None:
    @_budget(spec)
    @given(pair=invalid_inputs(spec).flatmap(lambda c: st.tuples(st.just(c), _swapped(c.data))))
    def check(pair: tuple[InvalidInput, Mapping[str, Any]]) -> None:
        case, swapped = pair
        assert _problems(spec.id, swapped) == _problems(spec.id, case.data)

    check()


KLING = "kling-3.0/video"
KLING_INPUT = {
    "prompt": Text("a fox"),
    "image_urls": ["https://example.com/fox.png"],
    "duration": "5",
    "mode": "pro",
    "multi_shots": False,
    "sound": False,
    "aspect_ratio": "16:9",
}
SEEDANCE = "bytedance/seedance-1.5-pro"


def test_a_str_subclass_in_a_model_with_nested_fields_is_sent(
    kie_client: kieframe.Client,
) -> None:
    assert kie_client.submit(KLING, KLING_INPUT)


async def test_a_str_subclass_is_sent_by_the_async_client(
    kie_async_client: kieframe.AsyncClient,
) -> None:
    assert await kie_async_client.submit(KLING, KLING_INPUT)


def test_a_float_subclass_off_its_limits_is_refused_with_the_limit() -> None:
    error = _problems(SEEDANCE, {"prompt": "a fox", "duration": Real(12.5)})
    assert error == _problems(SEEDANCE, {"prompt": "a fox", "duration": 12.5})
    assert [field for field, _ in error] == ["duration"]


def test_a_plain_enum_member_is_no_string() -> None:
    class Mode(enum.Enum):
        PRO = "pro"

    problems = _problems(KLING, {**KLING_INPUT, "mode": Mode.PRO})
    assert [field for field, _ in problems] == ["mode"]


def test_field_names_of_a_str_subclass_are_the_plain_names() -> None:
    spec = kieframe.get_model("wan/2-5-image-to-video")
    data = {"prompt": "a fox", "image_url": "https://example.com/fox.png"}
    named = {Text(key): value for key, value in data.items()}
    assert spec.to_request(spec.validate(named)) == spec.to_request(spec.validate(data))
