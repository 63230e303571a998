"""The contract check catches broken plugins (a check that cannot fail proves nothing)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
import pytest

import kieframe
from kieframe.authoring import ImageUrl, ModelSpec
from kieframe.testing import check_model


class _Input(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    image_url: ImageUrl
    steps: Annotated[int, msgspec.Meta(ge=1, le=50)] = 10


def _spec(**changes: Any) -> ModelSpec[_Input]:
    fields: dict[str, Any] = {
        "id": "test/model",
        "input_type": _Input,
        "title": "Test",
        "docs_url": "https://example.com",
    }
    fields.update(changes)
    return ModelSpec(**fields)


def test_a_correct_model_passes() -> None:
    example = {"prompt": "p", "image_url": "https://e.com/i.png", "steps": 10}
    check_model(_spec(examples=({"model": "test/model", "input": example},)))


def test_an_example_that_does_not_validate_fails() -> None:
    bad = {"model": "test/model", "input": {"prompt": "p" * 21, "image_url": "https://e.com/a"}}
    with pytest.raises(kieframe.InputValidationError):
        check_model(_spec(examples=(bad,)))


def test_an_example_may_leave_out_defaulted_fields() -> None:
    partial = {"model": "test/model", "input": {"prompt": "p", "image_url": "https://e.com/a"}}
    check_model(_spec(examples=(partial,)))  # the body gains "steps": 10, as documented


def test_an_example_that_does_not_round_trip_shows_a_diff() -> None:
    example = {"model": "test/model", "input": {"prompt": "p", "image_url": "https://e.com/a"}}
    spec = _DropsAField(
        id="test/model", input_type=_Input, title="T", docs_url="https://e.com", examples=(example,)
    )
    with pytest.raises(AssertionError, match=r"(?s)round-trip.*-\s+\"steps\": 10"):
        check_model(spec)


@dataclass(frozen=True, slots=True, kw_only=True)
class _DropsAField(ModelSpec[_Input]):
    def to_input(
        self, value: msgspec.Struct, *, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        body = ModelSpec.to_input(self, value, extra=extra)
        body.pop("steps", None)
        return body


@dataclass(frozen=True, slots=True, kw_only=True)
class _AcceptsAnything(ModelSpec[_Input]):
    def validate(self, data: Any) -> _Input:
        if isinstance(data, _Input):
            return data
        known = {key: value for key, value in dict(data).items() if key in _Input.__struct_fields__}
        return _Input(**known)  # constructing a Struct checks nothing


def test_a_model_that_alters_the_request_fails() -> None:
    spec = _DropsAField(id="test/model", input_type=_Input, title="T", docs_url="https://e.com")
    with pytest.raises(AssertionError):
        check_model(spec)


def test_a_model_that_skips_validation_fails() -> None:
    spec = _AcceptsAnything(id="test/model", input_type=_Input, title="T", docs_url="https://e.com")
    # Whichever breach hypothesis finds first: an input accepted, or a crash that is not an
    # InputValidationError (this model builds Structs from incomplete dicts).
    with pytest.raises(AssertionError, match=r"accepted an input|instead of InputValidationError"):
        check_model(spec)
