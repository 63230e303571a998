"""The example plugin keeps kieframe's contract, is found through its entry point, and runs."""

from __future__ import annotations

from pathlib import Path

import hypothesis
from kieframe_example import MODEL_ID, SPEC

import kieframe
from kieframe.lifecycle import PollPlan
from kieframe.registry import Registry
from kieframe.testing import Emulator, check_model


def test_the_model_keeps_the_plugin_contract() -> None:
    check_model(SPEC, settings=hypothesis.settings(max_examples=100, deadline=None))


def test_the_plugin_is_found_through_its_entry_point() -> None:
    registry = Registry(environ={})
    assert registry.get_model(MODEL_ID) is SPEC
    [info] = [info for info in registry.plugins() if info.name == "example"]
    assert info.distribution == "kieframe-example"
    assert info.models == (MODEL_ID,)


def test_the_model_runs_against_the_emulator(tmp_path: Path) -> None:
    with (
        Emulator() as emulator,
        kieframe.Client(
            Emulator.API_KEY,
            base_url=emulator.base_url,
            upload_base_url=emulator.upload_base_url,
            poll=PollPlan.every(0.05),
        ) as client,
    ):
        example = dict(SPEC.examples[0]["input"])
        result = client.run(MODEL_ID, example, download_to=tmp_path)
    assert result.record.succeeded
    assert result.files
    assert all(path.read_bytes()[4:8] == b"ftyp" for path in result.files)
