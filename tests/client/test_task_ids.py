"""Any text given as a task id: a kieframe error before sending, or a read kie.ai can answer."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kieframe
from kieframe.errors import InputValidationError, NotFoundError
from kieframe.testing import Emulator


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(task_id=st.text(max_size=300) | st.sampled_from(["", " ", "a\nb", "x\ud800", "é"]))
def test_any_text_as_a_task_id_is_a_kieframe_error(
    kie_client: kieframe.Client, kie_emulator: Emulator, task_id: str
) -> None:
    before = sum(kie_emulator.stats.requests.values())
    with pytest.raises((InputValidationError, NotFoundError)) as caught:
        kie_client.get(task_id)
    sent = sum(kie_emulator.stats.requests.values()) - before
    if isinstance(caught.value, InputValidationError):
        assert caught.value.fields == ("task_id",)
        assert sent == 0  # refused before anything was sent
    else:
        assert sent >= 1  # an id kie.ai could be asked about, and was


@pytest.mark.parametrize("task_id", ["", "two words", "line\n", "lone\ud800", "x" * 257])
async def test_a_task_id_no_request_can_carry_is_refused_before_sending(
    kie_emulator: Emulator, task_id: str
) -> None:
    async with kieframe.AsyncClient(Emulator.API_KEY, base_url=kie_emulator.base_url) as client:
        with pytest.raises(InputValidationError, match="task_id"):
            await client.wait(task_id, timeout=5)
        with pytest.raises(InputValidationError, match="task_id"):
            await client.get(task_id)


@pytest.mark.parametrize("task_id", ["two words", "never-submitted"])
def test_a_wait_with_no_task_to_wait_for_says_nothing_of_a_running_task(
    kie_client: kieframe.Client,
    kie_emulator: Emulator,
    task_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises((InputValidationError, NotFoundError)) as caught:
        kie_client.wait(task_id, timeout=30)
    notes = getattr(caught.value, "__notes__", [])
    assert not [note for note in notes if "still running" in note]
    assert "keeps running" not in caplog.text
