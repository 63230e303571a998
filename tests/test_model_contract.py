"""Every registered model keeps the plugin contract, fuzzed by hypothesis.

The parametrisation reads the registry, so a newly installed plugin is fuzzed with no new test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings

import kieframe
from kieframe.authoring import ModelSpec
from kieframe.testing import (
    InvalidInput,
    check_invalid_input,
    check_model,
    invalid_inputs,
    valid_inputs,
)

DATA = Path(__file__).parent / "data"
MODELS = kieframe.models()
IDS = [spec.id for spec in MODELS]


@pytest.mark.parametrize("spec", MODELS, ids=IDS)
def test_every_registered_model_keeps_the_contract(spec: ModelSpec[Any]) -> None:
    check_model(spec)


@pytest.mark.parametrize(
    "name", ["wan-2-5-image-to-video", "hailuo-02-image-to-video-pro"], ids=str
)
def test_documented_request_example_round_trips_exactly(name: str) -> None:
    documented = json.loads((DATA / f"{name}.request.json").read_text())
    spec = kieframe.get_model(documented["model"])
    assert documented in [dict(example) for example in spec.examples]
    value = spec.validate(documented["input"])
    # Fields kie.ai added since a page's example was written are sent with their defaults.
    defaults = {f.name: f.default for f in spec.fields if not f.required and f.default is not None}
    expected = {**documented, "input": {**defaults, **documented["input"]}}
    assert json.loads(msgspec.json.encode(spec.to_request(value))) == expected


@pytest.mark.parametrize("spec", MODELS, ids=IDS)
def test_valid_inputs_stay_inside_every_limit(spec: ModelSpec[Any]) -> None:
    @given(data=valid_inputs(spec))
    def check(data: dict[str, Any]) -> None:
        for field in spec.fields:
            if field.required:
                assert field.name in data
        assert set(data) <= {field.name for field in spec.fields}

    check()


FIELDS = [(spec, field.name) for spec in MODELS for field in spec.fields]


@pytest.mark.parametrize(("spec", "name"), FIELDS, ids=[f"{s.id}:{n}" for s, n in FIELDS])
def test_each_field_is_fuzzed_past_its_limits(spec: ModelSpec[Any], name: str) -> None:
    @settings(max_examples=25)
    @given(case=invalid_inputs(spec, fields=[name]))
    def check(case: InvalidInput) -> None:
        assert case.field == name
        check_invalid_input(spec, case)

    check()
