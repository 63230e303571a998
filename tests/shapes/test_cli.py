"""The test plugins through the real ``kieframe`` command, found by a test entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli.conftest import Outcome, Runner

from kieframe.testing._emulator._media import build_png

TESTS = Path(__file__).parent.parent


@pytest.fixture
def cli(tmp_path: Path) -> Runner:
    """``kieframe`` with the test plugins installed through an entry point (a dist-info)."""
    site = tmp_path / "site"
    info = site / "kieframe_shape_tests-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: kieframe-shape-tests\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[kieframe]\nshape-tests = shapes.shape_models\n", encoding="utf-8"
    )
    work = tmp_path / "work"
    work.mkdir()
    return _WithPath(work, f"{site}:{TESTS}")


class _WithPath(Runner):
    def __init__(self, cwd: Path, pythonpath: str) -> None:
        super().__init__(cwd)
        self.pythonpath = pythonpath

    def __call__(self, *args: str, stdin: str | None = None, **env: str) -> Outcome:
        return super().__call__(*args, stdin=stdin, PYTHONPATH=self.pythonpath, **env)


def test_a_list_field_takes_repeated_local_files_and_urls(cli: Runner) -> None:
    (cli.cwd / "a.png").write_bytes(build_png(seed="a"))
    (cli.cwd / "b.png").write_bytes(build_png(seed="b"))
    done = cli(
        "run", "test/collage", "--emulator", "--json", "--mode", "blend",
        "--image-urls", "a.png", "--image-urls", "https://example.com/c.png",
        "--image-urls", "b.png",
    )  # fmt: skip
    assert done.code == 0, done.err
    assert "upload image_urls[0]: a.png" in done.err
    assert "upload image_urls[2]: b.png" in done.err
    result = done.json()
    assert isinstance(result, dict)
    urls = result["param"]["input"]["image_urls"]
    assert urls[1] == "https://example.com/c.png"
    assert all(url.startswith("http") for url in urls)
    assert len(result["files"]) == 2
    assert all(name.endswith(".png") for name in result["files"])


def test_help_lists_the_repeatable_media_option(cli: Runner) -> None:
    done = cli("run", "test/collage", "--help")
    assert done.code == 0, done.err
    assert "--image-urls" in done.out
    assert "repeat the option" in done.out


def test_an_asset_reference_is_a_url_not_a_file(cli: Runner) -> None:
    done = cli(
        "submit", "test/voice", "--emulator", "--json",
        "--audio-url", "https://example.com/a.wav", "--reference-audio-url", "asset://abc123",
    )  # fmt: skip
    assert done.code == 0, done.err
    result = done.json()
    assert isinstance(result, dict)
    assert result["input"]["reference_audio_url"] == "asset://abc123"
    assert "upload" not in done.err


def test_a_text_model_prints_its_answer(cli: Runner) -> None:
    done = cli("run", "test/caption", "--emulator", "--video-url", "https://example.com/v.mp4")
    assert done.code == 0, done.err
    answer = json.loads(done.out[done.out.index("{") :])
    assert "video_url" in answer["fields"]
