"""The contract every model plugin must keep, checked with hypothesis.

Call :func:`check_model` from a plugin's own test suite; kieframe's suite runs it over every
registered model, so an installed plugin is fuzzed without new test code.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import hypothesis
import msgspec
import msgspec.inspect as mi
from hypothesis import given

from .._errors import InputValidationError
from .._fields import leaf_types
from .._spec import ModelSpec, without_nulls
from ._strategies import InvalidInput, Overrides, invalid_inputs, valid_inputs

__all__ = ["check_invalid_input", "check_model", "check_valid_input"]


def expected_input(spec: ModelSpec[Any], data: dict[str, Any]) -> dict[str, Any]:
    """The ``input`` object kie.ai should receive for ``data``.

    Defaults filled in (in nested objects too), unset optionals (None) left out (nested ones too).
    """
    merged: dict[str, Any] = without_nulls(_filled(mi.type_info(spec.input_type), data))
    return merged


def _filled(node: mi.Type, value: Any) -> Any:
    """``value`` as it comes out of a Struct of type ``node``: with every default in place."""
    for member in leaf_types(node):
        if isinstance(member, mi.StructType) and isinstance(value, dict):
            filled = {
                field.encode_name: msgspec.to_builtins(_default(field))
                for field in member.fields
                if not field.required
            }
            for field in member.fields:
                if field.encode_name in value:
                    filled[field.encode_name] = _filled(field.type, value[field.encode_name])
            return filled
        if isinstance(member, mi.ListType) and isinstance(value, list):
            return [_filled(member.item_type, item) for item in value]
    return value


def _default(field: mi.Field) -> Any:
    if field.default_factory is not msgspec.NODEFAULT:
        return field.default_factory()
    return field.default


def _diff(expected: Any, got: Any) -> str:
    """A unified diff of two JSON values, for a round trip that changed something."""
    before, after = (
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=repr).splitlines()
        for value in (expected, got)
    )
    return "\n".join(difflib.unified_diff(before, after, "expected", "sent", lineterm=""))


def check_valid_input(spec: ModelSpec[Any], data: dict[str, Any]) -> None:
    """Assert that ``data`` is accepted and round-trips to the exact JSON body kie.ai expects."""
    try:
        value = spec.validate(data)
    except InputValidationError:
        raise
    except Exception as error:
        raise AssertionError(
            f"{spec.id} raised {type(error).__name__} instead of InputValidationError: {error}"
        ) from error
    request = spec.to_request(value)
    expected = {"model": spec.id, "input": expected_input(spec, data)}
    assert request == expected, "the request is not the input sent back:\n" + _diff(
        expected, request
    )
    wire = msgspec.json.decode(msgspec.json.encode(request))
    assert wire == request, "the request changes when encoded as JSON"
    for key, sent in request["input"].items():
        given = data.get(key, sent)
        whole = type(given) is float and type(sent) is int  # the same JSON number, as kie writes it
        assert type(sent) is type(given) or whole, f"{key} changed type on the way out"
    assert spec.validate(value) == value, "validating a validated input changed it"


def check_invalid_input(spec: ModelSpec[Any], case: InvalidInput) -> None:
    """Assert that ``case`` is rejected by one error naming exactly its field paths."""
    try:
        spec.validate(case.data)
    except InputValidationError as error:
        fields, text = error.fields, str(error)
    except Exception as error:
        raise AssertionError(
            f"{spec.id} raised {type(error).__name__} instead of InputValidationError for an "
            f"input with {case.why}: {error}"
        ) from error
    else:
        raise AssertionError(f"{spec.id} accepted an input with {case.why}")
    expected = (case.field, *case.also)
    assert sorted(fields) == sorted(expected), f"{case.why}: expected {expected!r}, got {fields!r}"
    assert all(field in text for field in expected)


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
        # An example may leave out defaulted fields: the request then carries their defaults.
        expected = {**body, "input": expected_input(spec, dict(body["input"]))}
        sent = spec.to_request(value, callback_url=body.get("callBackUrl"))
        assert sent == expected, "a documented example does not round-trip:\n" + _diff(
            expected, sent
        )
    schema = spec.json_schema()
    assert schema["type"] == "object"

    # No deadline and no too_slow health check: the contract is about correctness, and a busy
    # machine (a shared CI runner) must not fail it.
    base = settings if settings is not None else hypothesis.settings()
    chosen = hypothesis.settings(
        base,
        report_multiple_bugs=False,
        deadline=None,
        suppress_health_check=[*base.suppress_health_check, hypothesis.HealthCheck.too_slow],
    )

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
