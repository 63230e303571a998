"""``Client()`` takes its key and hosts from the environment and the config file, like the CLI."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from files._images import png

import kieframe
from kieframe.testing import Emulator
from kieframe.testing.pytest_plugin import FAST_POLL, FAST_TIMING

WAN = "wan/2-5-image-to-video"


@pytest.fixture
def config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("KIEFRAME_CONFIG", str(path))
    monkeypatch.delenv("KIE_API_KEY", raising=False)
    return path


def test_kie_base_url_sends_the_client_and_its_uploads_to_that_server(
    monkeypatch: pytest.MonkeyPatch, kie_emulator: Emulator, tmp_path: Path, config_file: Path
) -> None:
    """What `kieframe emulator` prints (export KIE_BASE_URL=... KIE_API_KEY=...) works here too."""
    monkeypatch.setenv("KIE_BASE_URL", kie_emulator.base_url)
    monkeypatch.setenv("KIE_API_KEY", Emulator.API_KEY)
    image = tmp_path / "fox.png"
    image.write_bytes(png(64, 64))
    with kieframe.Client(poll=FAST_POLL) as client:
        assert str(client.base_url) == kie_emulator.base_url
        result = client.run(WAN, {"prompt": "a fox", "image_url": image})
    assert result.record.succeeded
    (task,) = kie_emulator.tasks
    assert task.task_id == result.task_id
    assert str(task.input["image_url"]).startswith(kie_emulator.base_url)  # uploaded there too


@pytest.fixture
def emulator_in_config_file(kie_emulator: Emulator, config_file: Path) -> Emulator:
    config_file.write_text(
        f'api_key = "{Emulator.API_KEY}"\nbase_url = "{kie_emulator.base_url}"\n'
    )
    return kie_emulator


async def test_the_async_client_reads_the_config_file(emulator_in_config_file: Emulator) -> None:
    kie_emulator = emulator_in_config_file
    async with kieframe.AsyncClient(poll=FAST_POLL) as client:
        task = await client.submit(WAN, {"prompt": "p", "image_url": "https://e.com/i.png"})
        assert (await client.wait(task)).succeeded
    assert [t.task_id for t in kie_emulator.tasks] == [task.task_id]


def test_arguments_beat_the_environment_which_beats_the_file(
    monkeypatch: pytest.MonkeyPatch, config_file: Path
) -> None:
    with (
        Emulator(timing=FAST_TIMING, rate_limits=False) as by_file,
        Emulator(timing=FAST_TIMING, rate_limits=False) as by_env,
        Emulator(timing=FAST_TIMING, rate_limits=False) as by_argument,
    ):
        config_file.write_text(f'api_key = "{Emulator.API_KEY}"\nbase_url = "{by_file.base_url}"\n')
        with kieframe.Client() as client:
            client.credits()
        monkeypatch.setenv("KIE_BASE_URL", by_env.base_url)
        with kieframe.Client() as client:
            client.credits()
        with kieframe.Client(base_url=by_argument.base_url) as client:
            client.credits()
        counts = [emu.stats.requests.get("credit", 0) for emu in (by_file, by_env, by_argument)]
    assert counts == [1, 1, 1]


def test_the_key_from_the_file_stays_out_of_reprs_logs_and_errors(
    kie_emulator: Emulator, config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-from-the-config-file-0123456789"
    config_file.write_text(f'api_key = "{secret}"\nbase_url = "{kie_emulator.base_url}"\n')
    kie_emulator.fault("credit", "code", code=401, msg="bad key")
    with caplog.at_level(logging.DEBUG), kieframe.Client() as client:
        with pytest.raises(kieframe.AuthenticationError) as caught:
            client.credits()
        seen = [repr(client), repr(vars(client)), str(caught.value), repr(caught.value)]
    for text in [*seen, caplog.text]:
        assert secret not in text


def test_a_missing_key_names_every_source_and_claims_no_code(config_file: Path) -> None:
    with pytest.raises(kieframe.AuthenticationError) as caught:
        kieframe.Client()
    message = str(caught.value)
    assert "KIE_API_KEY" in message
    assert str(config_file) in message
    assert caught.value.code is None
    assert "401" not in message
