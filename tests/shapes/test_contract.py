"""The contract kit over every shape, and proof that it catches a too-loose plugin for each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from kieframe import InputValidationError
from kieframe.authoring import (
    ImageUrl,
    ModelSpec,
    OptionalImageUrl,
    media_list,
    mutually_exclusive,
    number_meta,
)
from kieframe.testing import check_model, invalid_inputs, valid_inputs

from .shape_models import SPECS


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.id)
def test_every_shape_keeps_the_contract(spec: ModelSpec[Any]) -> None:
    check_model(spec)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.id)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_faults_name_nested_paths(spec: ModelSpec[Any], data: st.DataObject) -> None:
    case = data.draw(invalid_inputs(spec))
    with pytest.raises(InputValidationError) as caught:
        spec.validate(case.data)
    assert sorted(caught.value.fields) == sorted((case.field, *case.also))


def test_nested_problems_are_named_by_their_path() -> None:
    shots = SPECS[0]
    bad = {"multi_prompt": [{"prompt": "a"}, {"prompt": "b"}, {"prompt": "c", "duration": 11}]}
    with pytest.raises(InputValidationError) as caught:
        shots.validate(bad)
    (problem,) = caught.value.problems
    assert problem.field == "multi_prompt[2].duration"
    assert "11 is out of range" in problem.message
    assert problem.limit == "an integer from 1 to 10"


def test_a_long_prompt_is_drawn_without_health_check_trouble() -> None:
    lengths = []

    @settings(max_examples=40, deadline=None)
    @given(valid_inputs(SPECS[0]))
    def draw(data: dict[str, Any]) -> None:
        lengths.append(len(data.get("prompt", "")))

    draw()
    assert max(lengths) <= 20000


def test_overrides_replace_a_strategy_without_warnings() -> None:
    spec = SPECS[1]
    check_model(spec, overrides={"voice": st.just("sage")})


# -- a too-loose plugin is caught, shape by shape -------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Loose(ModelSpec[Any]):
    """A spec whose validation checks a looser Struct than the one it declares."""

    loose: type[msgspec.Struct]
    skip_rules: bool = False

    def validate(self, data: Any) -> Any:
        if isinstance(data, self.input_type):
            return data
        checked = ModelSpec(
            id=self.id,
            input_type=self.loose,
            title=self.title,
            docs_url=self.docs_url,
            rules=() if self.skip_rules else self.rules,
        ).validate(data)
        fields = {name: getattr(checked, name) for name in self.loose.__struct_fields__}
        return self.input_type(**fields)  # constructing a Struct checks nothing


class _Shot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    duration: Annotated[int, msgspec.Meta(ge=1, le=10)] = 5


class _LooseShot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    duration: int = 5


class _OpenShot(msgspec.Struct, frozen=True):
    duration: Annotated[int, msgspec.Meta(ge=1, le=10)] = 5


# Each: (name, strict annotation, loose annotation).
_SHAPES: list[tuple[str, Any, Any]] = [
    ("list max items", Annotated[list[ImageUrl], msgspec.Meta(max_length=2)], list[ImageUrl]),
    (
        "list min items",
        media_list("image", min_items=2, max_items=3),
        media_list("image", max_items=3),
    ),
    (
        "list item pattern",
        media_list("image", max_items=2),
        Annotated[list[str], msgspec.Meta(max_length=2)],
    ),
    (
        "nested object limit",
        Annotated[list[_Shot], msgspec.Meta(max_length=2)],
        Annotated[list[_LooseShot], msgspec.Meta(max_length=2)],
    ),
    (
        "nested unknown field",
        Annotated[list[_Shot], msgspec.Meta(max_length=2)],
        Annotated[list[_OpenShot], msgspec.Meta(max_length=2)],
    ),
    ("float bounds", Annotated[float, msgspec.Meta(ge=0, le=1)], float),
    (
        "float exclusive bound",
        Annotated[float, msgspec.Meta(gt=0, lt=1)],
        Annotated[float, msgspec.Meta(ge=0, le=1)],
    ),
    (
        "float step",
        Annotated[float, number_meta(ge=0, le=1, step=0.25)],
        Annotated[float, msgspec.Meta(ge=0, le=1)],
    ),
    (
        "int step",
        Annotated[int, msgspec.Meta(ge=0, le=100, multiple_of=5)],
        Annotated[int, msgspec.Meta(ge=0, le=100)],
    ),
    ("int enum", Literal[1, 2, 4], int),
    ("digit-string enum", Literal["5", "10"], str),
    ("long string", Annotated[str, msgspec.Meta(max_length=20000)], str),
    ("empty as unset", OptionalImageUrl, str),
]


#: Up to 400 examples to find a breach, and no shrinking: finding one is what these tests prove.
_FIND_A_BREACH = settings(
    max_examples=400, database=None, phases=[Phase.explicit, Phase.reuse, Phase.generate]
)


@pytest.mark.parametrize(("strict", "loose"), [s[1:] for s in _SHAPES], ids=[s[0] for s in _SHAPES])
# A breach is found within the first few dozen examples; the budget is there so that the rare
# unlucky seed still finds it (a passing run stops at the first breach).
def test_the_contract_catches_a_too_loose_plugin(strict: Any, loose: Any) -> None:
    strict_type = msgspec.defstruct(
        "Strict", [("x", strict)], frozen=True, forbid_unknown_fields=True
    )
    loose_type = msgspec.defstruct("Loose", [("x", loose)], frozen=True, forbid_unknown_fields=True)
    spec = _Loose(
        id="test/loose",
        input_type=strict_type,
        loose=loose_type,
        title="L",
        docs_url="https://e.com",
    )
    with pytest.raises(AssertionError, match="accepted an input"):
        check_model(spec, settings=_FIND_A_BREACH)


def test_the_contract_catches_a_plugin_that_skips_its_rules() -> None:
    rule_type = msgspec.defstruct(
        "Rules",
        [("a", bool, False), ("b", bool, False)],
        frozen=True,
        forbid_unknown_fields=True,
    )
    spec = _Loose(
        id="test/loose",
        input_type=rule_type,
        loose=rule_type,
        skip_rules=True,
        title="L",
        docs_url="https://e.com",
        rules=(mutually_exclusive("a", "b"),),
    )
    with pytest.raises(AssertionError, match="accepted an input"):
        check_model(spec, settings=_FIND_A_BREACH)
