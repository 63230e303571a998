"""Catalogue models end to end against the emulator: every category and every input shape.

Local files in media fields (single, lists, audio and video) are uploaded, results are saved with
the type of what the model makes, and a text model's result is read from the record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kieframe_catalogue._catalogue import ENTRIES

import kieframe
from kieframe.testing import Emulator
from kieframe.testing._emulator import build_mp4
from kieframe.testing._emulator._media import build_png, build_wav

IMAGE_URL = "https://example.com/cat.png"
VOICE = "EkK5I93UQWFDigLMpZcX"  # one of the voice ids kie.ai lists


def _files(tmp_path: Path) -> dict[str, Path]:
    made = {
        "png": build_png(seed="input"),
        "wav": build_wav(seed="input"),
        "mp4": build_mp4(size=4096, seed="input"),
    }
    paths = {}
    for suffix, body in made.items():
        path = tmp_path / f"input.{suffix}"
        path.write_bytes(body)
        paths[suffix] = path
    return paths


#: (model, input shape, input with {png}/{wav}/{mp4} standing for local files, result suffix)
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "seedream/4.5-edit",
        "image list",
        {"prompt": "a cat", "image_urls": ["{png}", IMAGE_URL]},
        ".png",
    ),
    (
        "bytedance/seedance-1.5-pro",
        "video from images",
        {"prompt": "a cat surfing", "duration": 8, "input_urls": ["{png}"]},
        ".mp4",
    ),
    ("elevenlabs/audio-isolation", "audio input", {"audio_url": "{wav}"}, ".wav"),
    ("topaz/video-upscale", "video input", {"video_url": "{mp4}"}, ".mp4"),
    (
        "elevenlabs/text-to-dialogue-v3",
        "nested objects",
        {"dialogue": [{"text": "Hello there.", "voice": VOICE}, {"text": "Hi!", "voice": VOICE}]},
        ".wav",
    ),
    (
        "bytedance/seedream-v4-text-to-image",
        "several outputs",
        {"prompt": "two cats", "max_images": 2},
        ".png",
    ),
]
TEXT_MODEL = "omnihuman-1-5/subject-detection"


def _local(data: Any, files: dict[str, Path]) -> Any:
    if isinstance(data, str) and data.startswith("{") and data.endswith("}"):
        return files[data[1:-1]]
    if isinstance(data, list):
        return [_local(item, files) for item in data]
    if isinstance(data, dict):
        return {key: _local(value, files) for key, value in data.items()}
    return data


@pytest.mark.parametrize(("model", "shape", "data", "suffix"), CASES, ids=[c[1] for c in CASES])
def test_python_runs_the_model_and_saves_files_of_its_kind(
    model: str,
    shape: str,
    data: dict[str, Any],
    suffix: str,
    kie_client: kieframe.Client,
    kie_emulator: Emulator,
    tmp_path: Path,
) -> None:
    spec = kieframe.get_model(model)
    result = kie_client.run(model, _local(data, _files(tmp_path)), download_to=tmp_path / "out")
    assert result.record.succeeded, shape
    assert result.files
    assert {path.suffix for path in result.files} == {suffix}
    assert len(result.files) == (2 if spec.outputs == "many" else 1)
    (created,) = kie_emulator.tasks
    sent = created.input
    # Local files were uploaded and replaced by the emulator's URLs; nothing local was sent.
    assert "input." not in str(sent)
    for field in spec.media_fields:
        values = sent.get(field.name)
        for url in values if isinstance(values, list) else [values] if values else []:
            assert str(url).startswith(("http://", "https://"))


def test_a_whole_number_for_a_json_number_field_is_sent_as_written(
    kie_client: kieframe.Client, kie_emulator: Emulator
) -> None:
    model = "bytedance/seedance-1.5-pro"  # duration: a JSON number; kie.ai's example sends 8
    assert kieframe.get_model(model).examples[0]["input"]["duration"] == 8
    kie_client.submit(model, {"prompt": "a cat surfing", "duration": 8})
    (created,) = kie_emulator.tasks
    assert type(created.input["duration"]) is int  # the body said 8, not 8.0


def test_python_reads_a_text_models_result(kie_client: kieframe.Client, tmp_path: Path) -> None:
    result = kie_client.run(TEXT_MODEL, {"image_url": _files(tmp_path)["png"]})
    assert result.record.succeeded
    assert result.text is not None
    assert kieframe.get_model(TEXT_MODEL).output == "text"


async def test_the_async_client_runs_a_catalogue_model(
    kie_async_client: kieframe.AsyncClient, tmp_path: Path
) -> None:
    result = await kie_async_client.run(
        "seedream/4.5-edit",
        {"prompt": "a cat", "image_urls": [_files(tmp_path)["png"]]},
        download_to=tmp_path / "out",
    )
    assert [path.suffix for path in result.files] == [".png"]


def test_bad_input_for_a_catalogue_model_is_refused_before_sending(
    kie_client: kieframe.Client, kie_emulator: Emulator
) -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        kie_client.run("bytedance/seedance-1.5-pro", {"prompt": "a cat", "duration": 30})
    assert "duration" in caught.value.fields
    assert not kie_emulator.tasks


#: The catalogue models whose create kie.ai refuses without a callBackUrl.
CALLBACK_REQUIRED = sorted(e.id for e in ENTRIES.values() if "callBackUrl" in e.request_required)


def test_the_models_that_require_a_callback_url_say_so() -> None:
    assert "kling-3.0/motion-control" in CALLBACK_REQUIRED
    assert {spec.id for spec in kieframe.models() if spec.requires_callback} == set(
        CALLBACK_REQUIRED
    )


@pytest.mark.parametrize("model", CALLBACK_REQUIRED)
async def test_a_model_that_requires_a_callback_url_is_refused_without_one_before_sending(
    model: str,
    kie_client: kieframe.Client,
    kie_async_client: kieframe.AsyncClient,
    kie_emulator: Emulator,
) -> None:
    example = kieframe.get_model(model).examples[0]["input"]
    for attempt in (
        lambda: kie_client.submit(model, example),
        lambda: kie_client.run(model, example),
    ):
        with pytest.raises(kieframe.InputValidationError) as caught:
            attempt()
        assert caught.value.fields == ("callback_url",)
        assert "requires a callback URL" in str(caught.value)
    with pytest.raises(kieframe.InputValidationError):
        await kie_async_client.submit(model, example)
    assert not kie_emulator.tasks
    kie_client.submit(model, example, callback_url="http://127.0.0.1:9/kie-callback")
    (created,) = kie_emulator.tasks
    assert created.callback_url == "http://127.0.0.1:9/kie-callback"
