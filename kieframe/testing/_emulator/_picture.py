"""The first frame of an emulated video: the task's input image (a PNG), or a generated picture.

PNG is read with :mod:`zlib` alone: 8-bit greyscale, RGB, palette, grey+alpha and RGBA, not
interlaced, up to :data:`MAX_PNG_PIXELS` pixels (anything else gets the generated picture). The
image is scaled to cover the frame (centred, cropped, nearest sample) and converted to 4:2:0
YCbCr (BT.601, studio range).
"""

from __future__ import annotations

import hashlib
import math
import struct
import zlib
from collections.abc import Callable

from ._h264 import Picture

__all__ = ["MAX_PNG_PIXELS", "decode_png", "generated", "picture_from"]

#: PNGs with more pixels than this are not decoded (pure Python is slow): the emulator
#: generates a picture instead.
MAX_PNG_PIXELS = 640 * 640

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}

#: An RGB image: width, height and the pixel of (x, y).
Pixels = tuple[int, int, Callable[[int, int], tuple[int, int, int]]]


def _paeth(left: int, up: int, corner: int) -> int:
    estimate = left + up - corner
    far_left, far_up, far_corner = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
    if far_left <= far_up and far_left <= far_corner:
        return left
    return up if far_up <= far_corner else corner


def _unfilter(raw: bytes, width: int, height: int, channels: int) -> list[bytes] | None:
    stride = width * channels
    rows: list[bytes] = []
    previous = bytes(stride)
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if len(line) != stride:
            return None
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                corner = previous[i - channels] if i >= channels else 0
                line[i] = (line[i] + _paeth(left, previous[i], corner)) & 0xFF
        elif kind != 0:
            return None
        rows.append(bytes(line))
        previous = rows[-1]
    return rows


def decode_png(data: bytes) -> Pixels | None:
    """The pixels of a PNG kieframe can read (see the module docstring), else None."""
    if not data.startswith(_SIGNATURE):
        return None
    position, header, palette, compressed = len(_SIGNATURE), b"", b"", bytearray()
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
    if len(header) != 13:
        return None
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    channels = _CHANNELS.get(color)
    if depth != 8 or channels is None or interlace or not 0 < width * height <= MAX_PNG_PIXELS:
        return None
    try:
        raw = zlib.decompress(bytes(compressed))
    except zlib.error:
        return None
    rows = _unfilter(raw, width, height, channels)
    if rows is None or (color == 3 and not palette):
        return None

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        at = rows[y][x * channels : x * channels + channels]
        if color == 3:
            entry = palette[at[0] * 3 : at[0] * 3 + 3].ljust(3, b"\x00")
            return entry[0], entry[1], entry[2]
        if channels <= 2:  # greyscale (alpha is ignored)
            return at[0], at[0], at[0]
        return at[0], at[1], at[2]

    return width, height, pixel


def generated(seed: str) -> Pixels:
    """A deterministic picture for ``seed``: a sky, a sun and hills, coloured by the seed."""
    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).digest()
    hue = digest[0] / 255
    sky = tuple(
        int(90 + 120 * (0.5 + 0.5 * math.sin(2 * math.pi * (hue + k / 3)))) for k in range(3)
    )
    sun_x, sun_y, radius = 0.2 + 0.6 * digest[1] / 255, 0.15 + 0.2 * digest[2] / 255, 0.12
    phase = digest[3] / 255 * 2 * math.pi
    width, height = 320, 180

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        u, v = x / width, y / height
        if v > 0.62 + 0.08 * math.sin(6 * u + phase):  # the hills
            shade = int(60 + 80 * (1 - v))
            return shade // 3, shade + 40, shade // 3
        if (u - sun_x) ** 2 * (16 / 9) ** 2 + (v - sun_y) ** 2 < radius**2:
            return 250, 220, 90
        fade = 1 - 0.5 * v
        return int(sky[0] * fade), int(sky[1] * fade), int(min(255, sky[2] * fade + 40))

    return width, height, pixel


def picture_from(pixels: Pixels, *, width: int, height: int) -> Picture:
    """``pixels`` scaled to cover ``width`` x ``height``, as 4:2:0 YCbCr.

    ``width`` is a multiple of 16 and ``height`` even; the picture's rows are padded to a
    multiple of 16 by repeating the last one (the video crops them away).
    """
    source_width, source_height, pixel = pixels
    scale = max(width / source_width, height / source_height)
    left = (source_width - width / scale) / 2
    top = (source_height - height / scale) / 2
    columns = [min(source_width - 1, int(left + (x + 0.5) / scale)) for x in range(width)]
    chroma_width = width // 2
    luma, blue, red = bytearray(), bytearray(), bytearray()
    sums = [[0.0, 0.0] for _ in range(chroma_width)]
    for y in range(height):
        row = min(source_height - 1, int(top + (y + 0.5) / scale))
        for x, column in enumerate(columns):
            r, g, b = pixel(column, row)
            luma.append(16 + int(65.738 * r + 129.057 * g + 25.064 * b) // 256)
            cell = sums[x // 2]
            cell[0] += -37.945 * r - 74.494 * g + 112.439 * b
            cell[1] += 112.439 * r - 94.154 * g - 18.285 * b
        if y % 2:
            for cell in sums:
                blue.append(_clamp(128 + cell[0] / 1024))
                red.append(_clamp(128 + cell[1] / 1024))
                cell[0] = cell[1] = 0.0
    coded = -(-height // 16) * 16
    luma += luma[-width:] * (coded - height)
    blue += blue[-chroma_width:] * ((coded - height) // 2)
    red += red[-chroma_width:] * ((coded - height) // 2)
    return Picture(width, coded, bytes(luma), bytes(blue), bytes(red))


def _clamp(value: float) -> int:
    return max(16, min(240, round(value)))
