"""Sizes, durations and frame rates read from media headers: known files right, any bytes safe."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kieframe._files._probe import MediaInfo, probe
from kieframe._files._sniff import sniff
from kieframe.testing._emulator._mp4 import build_mp4, smallest_mp4

from . import _media
from ._images import GIF, WEBP, jpeg, png

#: Timing is no part of what these tests check, and CI machines are busy.
untimed = settings(deadline=None)

sides = st.integers(1, 16383)
wide_sides = st.integers(1, 65535)


def read(data: bytes) -> MediaInfo:
    media_type = sniff(data)
    assert media_type is not None
    return probe(data, media_type)


@untimed
@given(width=st.integers(1, 4096), height=st.integers(1, 4096))
def test_png_gif_bmp_and_jpeg_sizes(width: int, height: int) -> None:
    expected = MediaInfo(width, height)
    assert read(_media.gif(width, height)) == expected
    assert read(_media.bmp(width, height)) == expected
    assert read(_media.bmp(width, -height)) == expected  # top-down rows
    assert read(_media.jpeg_sof(width, height)) == expected
    assert read(_media.jpeg_sof(width, height, marker=0xC2)) == expected  # progressive


@untimed
@given(width=sides, height=sides)
def test_webp_sizes_in_all_three_forms(width: int, height: int) -> None:
    expected = MediaInfo(width, height)
    assert read(_media.webp_vp8(width, height)) == expected
    assert read(_media.webp_vp8l(width, height)) == expected
    assert read(_media.webp_vp8x(width, height)) == expected


def test_the_test_suites_real_images() -> None:
    assert read(png(7, 5)) == MediaInfo(7, 5)
    assert read(jpeg()) == MediaInfo(8, 8)
    assert read(WEBP) == MediaInfo(1, 1)
    assert read(GIF) == MediaInfo(1, 1)
    video = read(build_mp4(size=smallest_mp4(), seed="s"))
    assert (video.width, video.height, video.duration) == (32, 18, 2.0)
    assert video.fps == pytest.approx(12, rel=1e-3)  # 24 frames of 1066/12800 s each


def test_the_frame_rate_is_what_a_decoder_reads() -> None:
    import av  # PyAV (FFmpeg), in the test extra

    data = build_mp4(size=smallest_mp4(), seed="s")
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate is not None
        decoded = float(stream.average_rate)
    assert read(data).fps == pytest.approx(decoded)


@untimed
@given(
    width=wide_sides,
    height=wide_sides,
    millis=st.integers(1, 10_000_000),
    timescale=st.sampled_from([600, 1000, 90000]),
    version=st.sampled_from([0, 1]),
)
def test_mp4_duration_and_video_track_size(
    width: int, height: int, millis: int, timescale: int, version: int
) -> None:
    data = _media.mp4(
        width=width, height=height, seconds=millis / 1000, timescale=timescale, version=version
    )
    info = read(data)
    assert (info.width, info.height) == (width, height)
    assert info.duration == pytest.approx(millis / 1000, abs=1 / timescale)


@untimed
@given(
    fps=st.sampled_from([8, 12, 23.976, 24, 25, 29.97, 30, 50, 60, 120]),
    seconds=st.integers(1, 600),
    timescale=st.sampled_from([600, 1000, 90000]),
    version=st.sampled_from([0, 1]),
)
def test_mp4_frame_rate_from_its_video_track(
    fps: float, seconds: int, timescale: int, version: int
) -> None:
    data = _media.mp4(
        width=64, height=36, seconds=seconds, timescale=timescale, version=version, fps=fps
    )
    frames = round(seconds * fps)
    assert read(data).fps == pytest.approx(frames / seconds)
    assert read(_media.mp4(width=64, height=36, seconds=seconds)).fps is None  # no mdia


def test_mp4_without_a_moov_is_unknown() -> None:
    head = _media.mp4(width=8, height=8, seconds=1)[:24]
    assert read(head) == MediaInfo()


@pytest.mark.parametrize("seconds", [0.25, 3.0, 61.5])
def test_wav_and_flac_durations(seconds: float) -> None:
    assert read(_media.wav(seconds)).duration == pytest.approx(seconds)
    assert read(_media.flac(seconds)).duration == pytest.approx(seconds, abs=1e-4)


@pytest.mark.parametrize("id3", [False, True])
def test_mp3_duration_from_the_info_frame_or_the_bit_rate(id3: bool) -> None:
    frames = 200
    exact = frames * _media.MP3_FRAME_SECONDS
    assert read(_media.mp3(frames, xing=True, id3=id3)).duration == pytest.approx(exact)
    # Without an Info frame, the duration is estimated from the size and the first bit rate.
    assert read(_media.mp3(frames, id3=id3)).duration == pytest.approx(exact, rel=0.01)


@untimed
@given(st.binary(max_size=256), st.sampled_from(sorted({*_media.PREFIXES, "image/tiff"})))
def test_any_bytes_give_values_or_unknown_never_an_error(data: bytes, media_type: str) -> None:
    for candidate in (data, _media.PREFIXES.get(media_type, b"") + data):
        info = probe(candidate, media_type)
        assert isinstance(info, MediaInfo)
        for value in (info.width, info.height):
            assert value is None or (isinstance(value, int) and value > 0)
        assert info.duration is None or info.duration >= 0


@untimed
@given(data=st.data(), media_type=st.sampled_from(sorted(_media.PREFIXES)))
def test_damaged_headers_give_values_or_unknown_never_an_error(
    data: st.DataObject, media_type: str
) -> None:
    valid = _media.SAMPLES[media_type]
    cut = data.draw(st.integers(0, len(valid)), label="cut")
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 255))))
    damaged = bytearray(valid[:cut])
    for index, byte in flips:
        if index < len(damaged):
            damaged[index] = byte
    assert isinstance(probe(bytes(damaged), media_type), MediaInfo)
