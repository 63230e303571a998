"""Each model end to end, through both clients, over real sockets to the emulator."""

from __future__ import annotations

from typing import Any

import pytest

import kieframe
from kieframe.errors import BadRequestError
from kieframe.registry import Registry
from kieframe.testing import Emulator

IMAGE = "https://example.com/cat.png"
# The hand-written models (both take a prompt and an image); the catalogue's models run end to end
# in tests/catalogue/test_end_to_end.py, one per category and input shape.
MODELS = [spec.id for spec in kieframe.models() if not Registry().source(spec.id).fallback]


def _input(model: str) -> dict[str, Any]:
    return {"prompt": "a cat surfing a wave at sunset", "image_url": IMAGE}


@pytest.mark.parametrize("model", MODELS)
def test_run_end_to_end_sync(
    model: str, kie_client: kieframe.Client, kie_emulator: Emulator
) -> None:
    states: list[str] = []
    result = kie_client.run(model, _input(model), on_update=lambda r: states.append(str(r.state)))
    assert result.record.succeeded
    assert result.record.model == model
    assert result.urls
    assert all(url.startswith(kie_emulator.base_url) for url in result.urls)
    assert states[-1] == "success"
    assert states == sorted(set(states), key=states.index)  # each state reported once, in order
    (created,) = kie_emulator.tasks
    assert created.task_id == result.task_id
    assert created.input == kieframe.get_model(model).to_input(
        kieframe.get_model(model).validate(_input(model))
    )
    assert result.record.param == {"model": model, "input": created.input}


@pytest.mark.parametrize("model", MODELS)
async def test_run_end_to_end_async(
    model: str, kie_async_client: kieframe.AsyncClient, kie_emulator: Emulator
) -> None:
    result = await kie_async_client.run(model, _input(model))
    assert result.record.succeeded
    assert [t.task_id for t in kie_emulator.tasks] == [result.task_id]


def test_submit_get_wait_are_separate_steps(kie_client: kieframe.Client) -> None:
    task = kie_client.submit("wan/2-5-image-to-video", _input("wan"))
    assert task.model == "wan/2-5-image-to-video"
    assert task.validated
    assert task.submitted_at is not None
    final = kie_client.wait(task.task_id)  # a bare id works as well as the handle
    assert final.succeeded
    again = kie_client.get(task)
    assert again.task_id == task.task_id
    assert again.succeeded
    assert again.cost_ms is not None
    assert again.created_at is not None
    assert again.completed_at is not None


def test_credits_are_read_and_charged(kie_client: kieframe.Client) -> None:
    before = kie_client.credits()
    kie_client.run("hailuo/02-image-to-video-pro", _input("hailuo"))
    assert kie_client.credits() == before - Emulator.TASK_COST


def test_requests_carry_a_descriptive_user_agent(
    kie_client: kieframe.Client, kie_emulator: Emulator
) -> None:
    kie_client.credits()
    (agent,) = kie_emulator.stats.user_agents
    assert agent.startswith(f"kieframe/{kieframe.__version__} ")


def test_bad_input_is_refused_before_anything_is_sent(
    kie_client: kieframe.Client, kie_emulator: Emulator
) -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        kie_client.submit("wan/2-5-image-to-video", {"prompt": "x" * 801, "image_url": "nope"})
    assert caught.value.fields == ("prompt", "image_url")
    assert sum(kie_emulator.stats.requests.values()) == 0


def test_unknown_model_needs_an_explicit_raw_input(
    kie_client: kieframe.Client, kie_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(kieframe.UnknownModelError, match="RawInput"):
        kie_client.submit("vendor/brand-new", {"prompt": "p"})
    assert sum(kie_emulator.stats.requests.values()) == 0
    # The emulator knows only registered models, so kie.ai's own 422 comes back for a raw input.
    with pytest.raises(BadRequestError):
        kie_client.submit("vendor/brand-new", kieframe.RawInput({"prompt": "p"}))
    assert "unvalidated" in caplog.text


def test_raw_input_for_a_known_model_is_sent_as_is(
    kie_client: kieframe.Client, kie_emulator: Emulator
) -> None:
    raw = {"prompt": "p", "image_url": IMAGE}
    task = kie_client.submit("wan/2-5-image-to-video", kieframe.RawInput(raw))
    assert not task.validated
    assert kie_emulator.tasks[0].input == raw


def test_callback_url_must_be_http(kie_client: kieframe.Client, kie_emulator: Emulator) -> None:
    with pytest.raises(kieframe.InputValidationError, match="callback_url"):
        kie_client.submit("wan/2-5-image-to-video", _input("wan"), callback_url="ftp://x/y")
    assert sum(kie_emulator.stats.requests.values()) == 0


def test_callback_url_is_sent(kie_client: kieframe.Client, kie_emulator: Emulator) -> None:
    task = kie_client.submit(
        "wan/2-5-image-to-video", _input("wan"), callback_url="http://127.0.0.1:9/hook"
    )
    assert task.callback_url == "http://127.0.0.1:9/hook"
    assert kie_emulator.tasks[0].callback_url == "http://127.0.0.1:9/hook"


def test_an_injected_http_client_is_used_and_left_open(kie_emulator: Emulator) -> None:
    import httpx

    with httpx.Client() as http:
        with kieframe.Client(
            Emulator.API_KEY, base_url=kie_emulator.base_url, http_client=http
        ) as client:
            assert client.credits() > 0
        assert not http.is_closed


def test_missing_api_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KIE_API_KEY", raising=False)
    with pytest.raises(kieframe.AuthenticationError, match="KIE_API_KEY"):
        kieframe.Client()


def test_api_key_defaults_to_the_environment(
    monkeypatch: pytest.MonkeyPatch, kie_emulator: Emulator
) -> None:
    monkeypatch.setenv("KIE_API_KEY", Emulator.INVALID_KEY)
    with kieframe.Client(base_url=kie_emulator.base_url) as client:
        with pytest.raises(kieframe.AuthenticationError):
            client.credits()


def test_an_http_client_and_a_transport_together_are_refused() -> None:
    import httpx

    with httpx.Client() as http, pytest.raises(TypeError, match="not both"):
        kieframe.Client("key", http_client=http, transport=httpx.HTTPTransport())


def test_an_http_client_or_transport_of_the_other_flavour_is_a_type_error() -> None:
    import httpx

    with httpx.Client() as sync_http, pytest.raises(TypeError, match=r"takes an httpx.AsyncClient"):
        kieframe.AsyncClient("key", http_client=sync_http)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"transport takes an httpx.AsyncBaseTransport"):
        kieframe.AsyncClient("key", transport=httpx.HTTPTransport())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"transport takes an httpx.BaseTransport"):
        kieframe.Client("key", transport=httpx.AsyncHTTPTransport())  # type: ignore[arg-type]


async def test_an_async_http_client_for_the_blocking_client_is_a_type_error() -> None:
    import httpx

    async with httpx.AsyncClient() as async_http:
        with pytest.raises(TypeError, match=r"http_client takes an httpx.Client, not AsyncClient"):
            kieframe.Client("key", http_client=async_http)  # type: ignore[arg-type]
