"""``kieframe run`` for catalogue models: their own options, local files, results by kind."""

from __future__ import annotations

import json
from pathlib import Path

from kieframe.testing._emulator._media import build_png, build_wav

from .conftest import Runner


def _saved(done_out: str) -> list[Path]:
    result = json.loads(done_out)
    assert result["state"] == "success"
    return [Path(name) for name in result["files"]]


def test_an_image_list_from_local_files_and_urls(cli: Runner, tmp_path: Path) -> None:
    picture = tmp_path / "cat.png"
    picture.write_bytes(build_png(seed="cli"))
    done = cli(
        "run", "seedream/4.5-edit", "--emulator", "--json", "--out", str(tmp_path / "out"),
        "--prompt", "a cat in a hat", "--image-urls", str(picture),
        "--image-urls", "https://example.com/dog.png", "--aspect-ratio", "16:9",
    )  # fmt: skip
    assert done.code == 0, done.err
    files = _saved(done.out)
    assert [path.suffix for path in files] == [".png"]
    assert files[0].read_bytes().startswith(b"\x89PNG")


def test_an_audio_input_gives_an_audio_file(cli: Runner, tmp_path: Path) -> None:
    voice = tmp_path / "voice.wav"
    voice.write_bytes(build_wav(seed="cli"))
    done = cli(
        "run", "elevenlabs/audio-isolation", "--emulator", "--json",
        "--out", str(tmp_path / "out"), "--audio-url", str(voice),
    )  # fmt: skip
    assert done.code == 0, done.err
    (saved,) = _saved(done.out)
    assert saved.suffix == ".wav"
    assert saved.read_bytes()[:4] == b"RIFF"


def test_a_video_model_with_nested_objects_from_an_input_file(cli: Runner, tmp_path: Path) -> None:
    body = {
        "prompt": "two pets meet",
        "multi_shots": True,
        "multi_prompt": [{"prompt": "a dog waves", "duration": 3}],
    }
    source = tmp_path / "input.json"
    source.write_text(json.dumps(body))
    done = cli(
        "run", "kling-3.0/video", "--emulator", "--json", "--out", str(tmp_path / "out"),
        "--input", str(source),
    )  # fmt: skip
    assert done.code == 0, done.err
    (saved,) = _saved(done.out)
    assert saved.suffix == ".mp4"


def test_a_bad_value_names_the_field_and_the_prose_limit(cli: Runner) -> None:
    done = cli(
        "run", "bytedance/seedance-1.5-pro", "--emulator",
        "--prompt", "a cat surfing", "--duration", "20",
    )  # fmt: skip
    assert done.code != 0
    assert "duration" in done.err
    assert "12" in done.err
