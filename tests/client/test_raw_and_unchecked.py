"""RawInput and Unchecked at their edges: clear errors, and words that say what happened."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import kieframe
from kieframe.testing import Emulator

MODEL = "wan/2-5-image-to-video"
IMAGE = "https://example.com/cat.png"


@pytest.mark.parametrize("data", [None, [1, 2], "prompt", 5, [("prompt", "x")]])
def test_raw_input_of_no_mapping_is_a_type_error_saying_what_it_takes(data: Any) -> None:
    with pytest.raises(TypeError, match=rf"RawInput takes .*mapping.*not {type(data).__name__}"):
        kieframe.RawInput(data)


def test_raw_input_for_a_model_with_a_plugin_is_not_said_to_have_no_plugin(
    kie_client: kieframe.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="kieframe"):
        kie_client.submit(MODEL, kieframe.RawInput({"prompt": "p", "image_url": IMAGE}))
    (warning,) = [record.getMessage() for record in caplog.records if MODEL in record.getMessage()]
    assert "no plugin" not in warning
    assert "RawInput" in warning
    assert "unvalidated" in warning


@pytest.mark.parametrize("value", [object(), {1j}, b"\xff", float("nan"), "\ud800", ["a\udfff"]])
def test_an_unchecked_value_that_is_no_json_is_refused_only_for_that(
    kie_client: kieframe.Client, kie_emulator: Emulator, value: Any
) -> None:
    data = {"prompt": "p", "image_url": IMAGE, "new": kieframe.Unchecked(value)}
    with pytest.raises(kieframe.InputValidationError) as caught:
        kie_client.submit(MODEL, data)
    assert caught.value.fields == ("new",)
    assert "not a field" not in str(caught.value)
    assert sum(kie_emulator.stats.requests.values()) == 0
