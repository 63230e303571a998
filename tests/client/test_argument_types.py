"""A model or task of the wrong type: a ModelSpec stands for its id, anything else a TypeError."""

from __future__ import annotations

from typing import Any

import pytest

import kieframe
from kieframe.testing import Emulator

MODEL = "wan/2-5-image-to-video"


def _sent(emulator: Emulator) -> int:
    return sum(emulator.stats.requests.values())


def _example() -> dict[str, Any]:
    return dict(kieframe.get_model(MODEL).examples[0]["input"])


def test_a_model_spec_stands_for_its_id(kie_client: kieframe.Client) -> None:
    spec = next(spec for spec in kieframe.models() if spec.id == MODEL)
    task = kie_client.submit(spec, _example())
    assert task.model == MODEL
    assert kieframe.get_model(spec) is kieframe.get_model(MODEL)


async def test_a_model_spec_stands_for_its_id_in_the_async_client(
    kie_async_client: kieframe.AsyncClient,
) -> None:
    task = await kie_async_client.submit(kieframe.get_model(MODEL), _example())
    assert task.model == MODEL


@pytest.mark.parametrize("model", [None, 5, {"model": MODEL}, [MODEL], b"wan"])
def test_a_model_of_another_type_is_a_type_error_saying_what_to_pass(
    kie_client: kieframe.Client, kie_emulator: Emulator, model: Any
) -> None:
    before = _sent(kie_emulator)
    with pytest.raises(TypeError, match=rf"model id .*ModelSpec.*not {type(model).__name__}"):
        kie_client.submit(model, _example())
    with pytest.raises(TypeError, match=rf"model id .*ModelSpec.*not {type(model).__name__}"):
        kieframe.get_model(model)
    assert _sent(kie_emulator) == before


@pytest.mark.parametrize("task", [None, 5, b"task", {"taskId": "x"}])
async def test_a_task_of_another_type_is_a_type_error_before_sending(
    kie_client: kieframe.Client,
    kie_async_client: kieframe.AsyncClient,
    kie_emulator: Emulator,
    task: Any,
) -> None:
    before = _sent(kie_emulator)
    with pytest.raises(TypeError, match=rf"Task or a task id.*not {type(task).__name__}"):
        kie_client.get(task)
    with pytest.raises(TypeError, match=rf"Task or a task id.*not {type(task).__name__}"):
        await kie_async_client.get(task)
    with pytest.raises(TypeError, match=rf"Task or a task id.*not {type(task).__name__}"):
        kie_client.wait(task, timeout=5)
    with pytest.raises(TypeError, match=rf"Task or a task id.*not {type(task).__name__}"):
        await kie_async_client.wait(task, timeout=5)
    assert _sent(kie_emulator) == before
