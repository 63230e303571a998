"""The test plugins through a client and the emulator: local files anywhere, results by kind."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kieframe
from kieframe.testing import Emulator
from kieframe.testing._emulator._media import build_png, build_wav
from kieframe.testing._emulator._mp4 import build_mp4
from kieframe.testing.pytest_plugin import FAST_POLL, FAST_TIMING

from . import shape_models


@pytest.fixture
def shapes_registry() -> kieframe.Registry:
    registry = kieframe.Registry(entry_points=False, environ={})
    registry.register(shape_models)
    return registry


@pytest.fixture
def emulator(shapes_registry: kieframe.Registry) -> Iterator[Emulator]:
    with Emulator(
        timing=FAST_TIMING, rate_limits=False, result_size=16 * 1024, registry=shapes_registry
    ) as running:
        yield running


@pytest.fixture
def client(emulator: Emulator, shapes_registry: kieframe.Registry) -> Iterator[kieframe.Client]:
    with kieframe.Client(
        Emulator.API_KEY,
        base_url=emulator.base_url,
        upload_base_url=emulator.upload_base_url,
        poll=FAST_POLL,
        rate_limits=kieframe.RateLimits.off(),
        registry=shapes_registry,
        timeout=10.0,
    ) as running:
        yield running


def test_local_images_in_a_list_are_uploaded_once_each(
    client: kieframe.Client, emulator: Emulator, tmp_path: Path
) -> None:
    first = tmp_path / "first.png"
    first.write_bytes(build_png(seed="first"))
    second = build_png(seed="second")
    result = client.run(
        "test/collage",
        {"image_urls": [first, second, first], "mode": "blend"},
        download_to=tmp_path / "out",
    )
    assert len(emulator.uploads) == 2  # the same content twice is one upload
    (task,) = emulator.tasks
    urls = task.input["image_urls"]
    assert isinstance(urls, list)
    assert len(urls) == 3
    assert urls[0] == urls[2] != urls[1]
    assert all(str(url).startswith(emulator.upload_base_url) for url in urls)
    assert len(result.files) == 2  # outputs="many"
    for path in result.files:
        assert path.suffix == ".png"
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_local_file_in_a_nested_object_is_uploaded_at_its_path(
    client: kieframe.Client, emulator: Emulator, tmp_path: Path
) -> None:
    frame = io.BytesIO(build_png(seed="frame"))
    shots = [{"prompt": "one"}, {"prompt": "two", "first_frame": frame}]
    client.run("test/shots", {"multi_prompt": shots})
    (task,) = emulator.tasks
    sent: Any = task.input["multi_prompt"]
    assert sent[0]["first_frame"] == ""
    assert sent[1]["first_frame"].startswith(emulator.upload_base_url)
    (upload,) = emulator.uploads
    assert upload.mime_type == "image/png"


def test_audio_in_and_audio_out(client: kieframe.Client, tmp_path: Path) -> None:
    voice = tmp_path / "voice.bin"  # the name says nothing: the content decides
    voice.write_bytes(build_wav(seed="me"))
    result = client.run("test/voice", {"audio_url": voice}, download_to=tmp_path / "out")
    (path,) = result.files
    assert path.suffix == ".wav"
    assert path.read_bytes()[8:12] == b"WAVE"


def test_video_in_and_text_out(client: kieframe.Client, emulator: Emulator) -> None:
    result = client.run("test/caption", {"video_url": build_mp4(size=4096, seed="clip")})
    assert result.urls == ()
    assert isinstance(result.text, dict)
    assert "video_url" in result.text["fields"]
    assert result.record.result_object == result.text
    assert emulator.uploads[0].mime_type == "video/mp4"


def test_a_file_of_the_wrong_kind_is_refused_before_any_upload(
    client: kieframe.Client, emulator: Emulator
) -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        client.submit("test/voice", {"audio_url": build_png(seed="not audio")})
    assert caught.value.fields == ("audio_url",)
    assert "image/png" in str(caught.value)
    assert emulator.uploads == ()
    assert emulator.tasks == ()


def test_every_problem_of_files_in_lists_at_once(
    client: kieframe.Client, emulator: Emulator, tmp_path: Path
) -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        client.submit(
            "test/collage",
            {"image_urls": [tmp_path / "missing.png", build_wav(seed="x")], "mode": "oops"},
        )
    assert set(caught.value.fields) == {"image_urls[0]", "image_urls[1]", "mode"}
    assert emulator.uploads == ()


def test_an_unchecked_field_is_sent_as_given(
    client: kieframe.Client, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    task = client.submit(
        "test/voice",
        {"audio_url": "https://e.com/a.wav", "loudness": kieframe.Unchecked({"lufs": -14})},
    )
    (created,) = emulator.tasks
    assert created.input["loudness"] == {"lufs": -14}
    assert task.input["loudness"] == {"lufs": -14}
    assert "loudness" in caplog.text


def test_unchecked_cannot_bypass_a_known_field(client: kieframe.Client) -> None:
    with pytest.raises(kieframe.InputValidationError, match="is a field of this model"):
        client.submit(
            "test/voice", {"audio_url": "https://e.com/a.wav", "voice": kieframe.Unchecked("x")}
        )
