"""The pure parts: content sniffing and the file-name sanitiser, with hypothesis."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kieframe._files._names import MAX_STEM, result_stem, safe_component, safe_extension
from kieframe._files._sniff import sniff

from ._images import GIF, WEBP, jpeg, png

_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"RIFF", b"GIF8", b"BM", b"II*", b"MM\x00", b"%PDF")


@given(
    width=st.integers(1, 40),
    height=st.integers(1, 40),
    seed=st.integers(0, 1000),
    noise=st.booleans(),
)
def test_every_generated_png_is_a_png(width: int, height: int, seed: int, noise: bool) -> None:
    assert sniff(png(width, height, seed=seed, noise=noise)) == "image/png"


@given(shade=st.integers(0, 255))
def test_jpeg_and_webp_and_gif_are_told_apart(shade: int) -> None:
    assert sniff(jpeg(shade)) == "image/jpeg"
    assert sniff(WEBP) == "image/webp"
    assert sniff(GIF) == "image/gif"


@given(st.binary(max_size=64).filter(lambda data: not data.startswith(_MAGIC)))
def test_no_magic_is_no_image(data: bytes) -> None:
    assert not (sniff(data) or "").startswith("image/")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x00\x00\x00\x18ftypisom", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  ", "video/quicktime"),
        (b"\x00\x00\x00\x20ftypM4A ", "audio/mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm", "video/webm"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska", "video/x-matroska"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64\x00", "audio/mpeg"),
        (b"\xff\xf1\x50\x80\x00", "audio/aac"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"OggS\x00\x02", "audio/ogg"),
        (b"fLaC\x00\x00\x00\x22", "audio/flac"),
    ],
)
def test_video_and_audio_are_told_apart_by_content(head: bytes, expected: str) -> None:
    assert sniff(head + bytes(32)) == expected


@given(st.sampled_from(["cat.png", "cat.jpg", "cat.webp"]), st.binary(max_size=32))
def test_the_name_never_decides(name: str, data: bytes) -> None:
    """The type comes from the bytes only: a PNG name on GIF bytes is still a GIF."""
    assert sniff(GIF + data) == "image/gif"
    assert sniff(png() + data) == "image/png"


_HOSTILE = st.one_of(
    st.text(max_size=400),
    st.sampled_from(["..", ".", "", "../../etc/passwd", "a/../../b", "x\x00y", "CON", "nul.txt"]),
    st.lists(st.sampled_from(["..", "/", "\\", "\x00", "a", ".", "é", " "]), max_size=40).map(
        "".join
    ),
)


@given(_HOSTILE)
def test_a_safe_component_is_one_harmless_name(text: str) -> None:
    name = safe_component(text)
    assert 0 < len(name) <= MAX_STEM
    assert not name.startswith((".", "-"))
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
    assert name.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL"}
    folder = Path("/srv/results")
    assert (folder / name).parent == folder


@given(_HOSTILE, _HOSTILE)
def test_different_texts_never_share_a_name(first: str, second: str) -> None:
    if first != second:
        assert safe_component(first) != safe_component(second)


def test_safe_names_stay_readable() -> None:
    assert safe_component("8e70f42756e7-1") == "8e70f42756e7-1"
    assert result_stem("abc", 2) == "abc-2"
    assert result_stem("../../x", 1).startswith("x-1-")


@given(st.text(max_size=60))
def test_extensions_are_short_and_plain(tail: str) -> None:
    extension = safe_extension(f"https://h/a/{tail}?x=1", default=".bin")
    assert extension == ".bin" or (
        extension.startswith(".") and 2 <= len(extension) <= 9 and extension[1:].isalnum()
    )
    assert "/" not in extension


def test_extension_examples() -> None:
    assert safe_extension("https://h/r/video-1.mp4?sig=1", default=".bin") == ".mp4"
    assert safe_extension("https://h/r/..%2f..%2fevil", default=".bin") == ".bin"
    assert safe_extension("https://h/r/a.MP4", default=".bin") == ".mp4"
    assert safe_extension("https://h/r/a.exe%00.mp4", default=".bin") == ".mp4"
