"""The emulator's videos play: a real decoder (FFmpeg) decodes every frame, made from the input."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from video import decode

from kieframe.testing._emulator import build_mp4
from kieframe.testing._emulator._mp4 import FRAMES, smallest_mp4
from kieframe.testing._emulator._picture import decode_png


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _paeth(left: int, up: int, corner: int) -> int:
    estimate = left + up - corner
    options = [
        (abs(estimate - left), left),
        (abs(estimate - up), up),
        (abs(estimate - corner), corner),
    ]
    return min(options, key=lambda option: option[0])[1]


def _filtered(kind: int, line: bytes, previous: bytes, channels: int) -> bytes:
    """``line`` as a PNG encoder writes it with filter ``kind`` (the inverse of decoding)."""
    out = bytearray()
    for i, value in enumerate(line):
        left = line[i - channels] if i >= channels else 0
        corner = previous[i - channels] if i >= channels else 0
        predictor = (
            0,
            left,
            previous[i],
            (left + previous[i]) // 2,
            _paeth(left, previous[i], corner),
        )
        out.append((value - predictor[kind]) & 0xFF)
    return bytes([kind]) + bytes(out)


def png(
    width: int,
    height: int,
    pixels: bytes,
    *,
    color: int = 2,
    filters: list[int] | None = None,
    palette: bytes = b"",
) -> bytes:
    """A PNG of ``pixels`` (rows of ``width`` pixels), each row with its own filter."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    stride = width * channels
    rows, previous = [], bytes(stride)
    for row in range(height):
        line = pixels[row * stride : (row + 1) * stride]
        kind = filters[row % len(filters)] if filters else 0
        rows.append(_filtered(kind, line, previous, channels))
        previous = line
    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    chunks = [_chunk(b"IHDR", header)]
    if palette:
        chunks.append(_chunk(b"PLTE", palette))
    chunks += [_chunk(b"IDAT", zlib.compress(b"".join(rows))), _chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


@pytest.mark.parametrize(
    ("size", "frame_size"),
    [
        (smallest_mp4(), (32, 18)),
        (4096, (32, 18)),
        (32 * 1024, (160, 90)),
        (256 * 1024, (320, 180)),  # the emulator's default: the quick start's video
    ],
)
def test_every_frame_decodes_at_the_largest_size_that_fits(
    size: int, frame_size: tuple[int, int]
) -> None:
    data = build_mp4(size=size, seed="task")
    assert len(data) == size
    frames = decode(data)
    assert len(frames) == FRAMES
    assert {(frame.width, frame.height) for frame in frames} == {frame_size}
    assert frames[0].y != frames[-1].y  # it moves


@pytest.mark.parametrize(
    ("rgb", "luma"),
    [((255, 0, 0), 81), ((0, 255, 0), 144), ((0, 0, 255), 41), ((255, 255, 255), 235)],
)
def test_the_first_frame_is_the_input_image(rgb: tuple[int, int, int], luma: int) -> None:
    image = png(40, 30, bytes(rgb) * (40 * 30))
    first = decode(build_mp4(size=32 * 1024, seed="any", image=image))[0]
    assert abs(first.mean("y") - luma) <= 2
    red_minus_blue = first.mean("cr") - first.mean("cb")
    assert (red_minus_blue > 50) == (rgb == (255, 0, 0))


def test_an_image_it_cannot_read_gives_the_generated_picture() -> None:
    generated = build_mp4(size=32 * 1024, seed="s")
    assert build_mp4(size=32 * 1024, seed="s", image=b"\xff\xd8\xff a jpeg") == generated


def test_too_small() -> None:
    with pytest.raises(ValueError, match="at least"):
        build_mp4(size=smallest_mp4() - 1, seed="a")


@given(
    width=st.integers(1, 12),
    height=st.integers(1, 6),
    color=st.sampled_from([0, 2, 3, 4, 6]),
    filters=st.lists(st.integers(0, 4), min_size=1, max_size=6),
    data=st.data(),
)
def test_png_filters_decode_to_the_pixels(
    width: int, height: int, color: int, filters: list[int], data: st.DataObject
) -> None:
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    pixels = data.draw(
        st.binary(min_size=width * height * channels, max_size=width * height * channels)
    )
    palette = bytes(range(256)) * 3 if color == 3 else b""
    decoded = decode_png(png(width, height, pixels, color=color, filters=filters, palette=palette))
    assert decoded is not None
    assert decoded[:2] == (width, height)
    pixel = decoded[2]
    for y in range(height):
        for x in range(width):
            at = pixels[(y * width + x) * channels :][:channels]
            if color == 3:
                expected = tuple(palette[at[0] * 3 : at[0] * 3 + 3])
            elif channels <= 2:
                expected = (at[0],) * 3
            else:
                expected = tuple(at[:3])
            assert pixel(x, y) == expected
