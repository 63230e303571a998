"""The contract every model plugin must keep, checked with hypothesis.

Call :func:`check_model` from a plugin's own test suite; kieframe's suite runs it over every
registered model, so an installed plugin is fuzzed without new test code.
"""

from __future__ import annotations

from typing import Any

import hypothesis
import msgspec
from hypothesis import given

from .._errors import InputValidationError
from .._spec import ModelSpec
from ._strategies import InvalidInput, Overrides, invalid_inputs, valid_inputs

__all__ = ["check_invalid_input", "check_model", "check_valid_input"]


def expected_input(spec: ModelSpec[Any], data: dict[str, Any]) -> dict[str, Any]:
    """The ``input`` object kie.ai should receive for ``data``: defaults filled, nulls left out."""
    merged = {field.name: field.default for field in spec.fields if not field.required}
    merged.update(data)
    return {key: value for key, value in merged.items() if value is not None}


def check_valid_input(spec: ModelSpec[Any], data: dict[str, Any]) -> None:
    """Assert that ``data`` is accepted and round-trips to the exact JSON body kie.ai expects."""
    value = spec.validate(data)
    request = spec.to_request(value)
    assert request == {"model": spec.id, "input": expected_input(spec, data)}, request
    wire = msgspec.json.decode(msgspec.json.encode(request))
    assert wire == request, "the request changes when encoded as JSON"
    for key, sent in request["input"].items():
        assert type(sent) is type(data.get(key, sent)), f"{key} changed type on the way out"
    assert spec.validate(value) == value, "validating a validated input changed it"


def check_invalid_input(spec: ModelSpec[Any], case: InvalidInput) -> None:
    """Assert that ``case`` is rejected with one problem, naming exactly its field."""
    try:
        spec.validate(case.data)
    except InputValidationError as error:
        fields, text = error.fields, str(error)
    else:
        raise AssertionError(f"{spec.id} accepted an input with {case.field} {case.why}")
    assert fields == (case.field,), f"{case.why}: expected {case.field!r} only, got {fields!r}"
    assert case.field in text


def check_model(
    spec: ModelSpec[Any],
    *,
    settings: hypothesis.settings | None = None,
    overrides: Overrides | None = None,
) -> None:
    """Check a model against the plugin contract; raise ``AssertionError`` on the first breach.

    - every documented example validates and serialises back to itself;
    - the JSON Schema of the input can be generated;
    - every input inside the limits is accepted and round-trips to the exact JSON body;
    - every input that breaks one limit is rejected by an error naming that field only.

    ``settings`` defaults to the active hypothesis profile; ``overrides`` maps field names to
    strategies for field types kieframe cannot derive.
    """
    for example in spec.examples:
        body = dict(example)
        assert body.get("model") == spec.id, f"example for another model: {body.get('model')!r}"
        value = spec.validate(body["input"])
        assert spec.to_request(value) == body, "a documented example does not round-trip"
    schema = spec.json_schema()
    assert schema["type"] == "object"

    chosen = hypothesis.settings(settings, report_multiple_bugs=False)

    @chosen
    @given(data=valid_inputs(spec, overrides=overrides))
    def accepts_valid_inputs(data: dict[str, Any]) -> None:
        check_valid_input(spec, data)

    @chosen
    @given(case=invalid_inputs(spec, overrides=overrides))
    def rejects_invalid_inputs(case: InvalidInput) -> None:
        check_invalid_input(spec, case)

    accepts_valid_inputs()
    rejects_invalid_inputs()
